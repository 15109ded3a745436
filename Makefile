# The two front-door commands. Both create .venv on first use and install the project into it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: crawl test lint bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# Re-install whenever pyproject.toml changes; the stamp keeps repeated runs fast.
$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

crawl: $(VENV)/.installed
	$(BIN)/scrapy crawl listing

test: $(VENV)/.installed
	$(BIN)/ruff check archiver tests
	$(BIN)/ruff format --check archiver tests
	$(BIN)/python -m pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check archiver tests && $(BIN)/ruff format --check archiver tests

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_export.py

clean:
	rm -rf $(VENV) .pytest_cache
