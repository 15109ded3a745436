"""Decide mutants quickly with the tests written for their module, before ``mutmut run``.

mutmut runs every test that reaches a mutant's function: a hundred crawl tests for most of
the spider, the snapshot writer and the profiles. A mutant that one of them kills still
waits behind the others, and a session's budget ends with most of a sample undecided. This
runs, for each named mutant, only the test files that mirror its module (``TARGETS``), with
mutmut's own switch (``MUTANT_UNDER_TEST``) in mutmut's ``mutants/`` copy, and stops at the
first failure. A failure is a kill, by a test of the suite, as mutmut would count it; a pass
decides nothing, and those names are printed for ``mutmut run`` (or
``benchmarks/mutmut_slowest_first.py``) to decide with every test::

    python benchmarks/mutation_targeted.py NAMES... > undecided.txt   # verdicts on stderr

The targeted files must pass without a mutant first; this checks that, and stops if not
(``--trust-clean`` skips the check when ``mutmut run`` has just passed its clean run on the
same code and tests). ``ARCHIVER_MUTATION_TESTS=a.py,b.py`` names the files for every mutant
instead, for a second pass over the undecided ones (a shared-crawl mutant of the spider is
killed only by tests/test_workers.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

MUTANTS = Path("mutants")
TARGETS = {  # module of the mutant -> the tests that mirror it
    "archiver.analyse": ["tests/test_dataset.py", "tests/test_cli.py"],
    "archiver.extract.dates": ["tests/test_dates.py", "tests/pipelines"],
    "archiver.store.journal": ["tests/test_journal.py", "tests/test_resume.py"],  # before store
    "archiver.middlewares": ["tests/middlewares", "tests/test_faults.py"],
    "archiver.pipelines": ["tests/pipelines", "tests/test_spider.py"],
    "archiver.extract.profiles": ["tests/test_profiles.py", "tests/test_crawl.py"],
    "archiver.store": ["tests/test_snapshots.py", "tests/test_evidence.py"],
    "archiver.scope.arguments": ["tests/test_spider.py", "tests/test_preflight.py"],
    "archiver.scope.reach": ["tests/test_reach.py", "tests/test_spider.py"],
    "archiver.errors": ["tests/test_spider.py"],
    "archiver.spiders": ["tests/test_spider.py", "tests/test_faults.py", "tests/test_crawl.py"],
}
LIMIT = 600  # seconds for one mutant's targeted tests


def targets(name: str) -> list[str]:
    if os.environ.get("ARCHIVER_MUTATION_TESTS"):  # a second pass with other files
        return os.environ["ARCHIVER_MUTATION_TESTS"].split(",")
    return next(files for module, files in TARGETS.items() if name.startswith(module + "."))


def run(name: str, files: list[str]) -> tuple[int | None, float]:
    env = {**os.environ, "MUTANT_UNDER_TEST": name, "CI": "true"}
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *files]
    started = time.monotonic()
    try:
        done = subprocess.run(
            command, cwd=MUTANTS, env=env, capture_output=True, timeout=LIMIT, check=False
        )
    except subprocess.TimeoutExpired:
        return None, time.monotonic() - started
    return done.returncode, time.monotonic() - started


def main(names: list[str]) -> int:
    trust_clean = "--trust-clean" in names
    names = [name for name in names if name != "--trust-clean"]
    files = sorted({f for name in names for f in targets(name)})
    code = 0 if trust_clean else run("", files)[0]  # no mutant: what a kill is measured against
    if code != 0:
        sys.stderr.write(f"the targeted tests fail without a mutant (exit {code}): {files}\n")
        return 1
    undecided = []
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = pool.map(lambda n: (n, *run(n, targets(n))), names)
        for name, code, seconds in results:
            verdict = "killed" if code == 1 else "undecided"
            sys.stderr.write(json.dumps({"mutant": name, "verdict": verdict, "exit": code,
                                         "seconds": round(seconds, 1)}) + "\n")  # fmt: skip
            if verdict == "undecided":
                undecided.append(name)
    sys.stdout.write("".join(f"{name}\n" for name in undecided))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
