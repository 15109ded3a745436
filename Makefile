# The two front-door commands. Both create .venv on first use and install the project into it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: crawl test test-loaded lint bench mutate clean constraints

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# Re-install whenever pyproject.toml or constraints.txt changes; the stamp keeps repeated
# runs fast. constraints.txt holds the versions the suite last passed with, so a fresh clone
# (and CI) installs what was tested, not whatever was released overnight.
# setuptools prints a notice box for every editable install; it is not a problem of ours.
$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/activate
	$(BIN)/python -m pip install --quiet --upgrade pip
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet \
		-c constraints.txt -e '.[test]'
	touch $@

# After a green `make test` on newer releases (pip install --upgrade ... in .venv):
# record them as the tested versions.
constraints: $(VENV)/.installed
	{ sed -n '/^#/p' constraints.txt; $(BIN)/python -m pip freeze --all --exclude-editable \
		| grep -v '^archiver\|^pip==' ; } > constraints.txt.new && mv constraints.txt.new constraints.txt

# pywb, the web archivists' replay tool, proves the WARC files replay (tests/test_evidence.py).
# It pins libraries archiver cannot share (redis 2.x), so it lives in a venv of its own.
PYWB ?= .venv-pywb
$(PYWB)/.installed:
	$(PYTHON) -m venv $(PYWB)
	$(PYWB)/bin/python -m pip install --quiet 'pywb==2.10.0'
	touch $@

# py-wacz, the WACZ reference tool, proves `archiver export --wacz` packages validate
# (tests/test_wacz.py). It pins black, typer and pytest-cov: a venv of its own too.
WACZ ?= .venv-wacz
$(WACZ)/.installed:
	$(PYTHON) -m venv $(WACZ)
	$(WACZ)/bin/python -m pip install --quiet 'wacz==0.5.0'
	touch $@

crawl: $(VENV)/.installed
	$(BIN)/scrapy crawl listing

test: $(VENV)/.installed $(PYWB)/.installed $(WACZ)/.installed
	$(BIN)/ruff check archiver tests
	$(BIN)/ruff format --check archiver tests
	$(BIN)/python -m pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check archiver tests && $(BIN)/ruff format --check archiver tests

# The shared-crawl tests (or LOADED_ARGS) with two processes keeping the cores busy: what
# they check must hold on a loaded machine.
LOADED_ARGS ?= tests/test_workers.py
test-loaded: $(VENV)/.installed
	$(BIN)/python benchmarks/under_load.py --busy 2 -- $(BIN)/python -m pytest -q $(LOADED_ARGS)

# Benchmarks against their floors (benchmarks/RESULTS.md); BENCH_ARGS=--long adds the
# 100,000-page crawl and its memory plot, --quick runs small sizes once.
bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench.py --write benchmarks/RESULTS.md $(BENCH_ARGS)

# Mutation testing of the core with mutmut (not part of `make test`; takes hours on 2 cores).
# Results: `$(BIN)/mutmut results`, `$(BIN)/mutmut show NAME`; summary in benchmarks/MUTATION.md.
mutate: $(VENV)/.installed
	CI=true $(BIN)/mutmut run
	$(BIN)/python benchmarks/mutation_summary.py

clean:
	rm -rf $(VENV) $(PYWB) .pytest_cache mutants
