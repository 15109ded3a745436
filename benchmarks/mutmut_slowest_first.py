"""``mutmut run`` with the slowest mutants first, and each mutant's tests quickest first.

mutmut runs the mutants whose tests take least time first. For a uniform sample that is the
wrong order: a session's budget then ends with the slow part of the core (the spider, the
profiles, the snapshot writer) undecided, and the score leans to the pure functions. This
runs the same ``mutmut run``, only in the opposite order, so what a budget leaves undecided
is the quick part, which a later, short run finishes::

    CI=true .venv/bin/python benchmarks/mutmut_slowest_first.py $(cat NAMES)

mutmut 3.8 also hands each mutant's tests to pytest in no particular order, so a mutant
that one unit test kills in a second often waited minutes behind crawl tests; here they run
quickest first, as they were timed when mutmut collected its stats.

Both changes replace a private function of mutmut (3.8); if a release renames one, this
fails at once rather than running in the wrong order. Do not use ``mutmut
print-time-estimates`` to look ahead: in mutmut 3.8.1 it saves the stats without their
test-to-function map, and the next run then finds no tests for any mutant (delete
``mutants/mutmut-stats.json`` to recover).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

import mutmut.__main__ as mutmut_main
from mutmut.runners.harness import PytestRunner
from mutmut.state import state

_estimate = mutmut_main.estimated_worst_case_time
mutmut_main.estimated_worst_case_time = lambda name: -_estimate(name)

_pytest_args = PytestRunner._pytest_args_regular_run


def _quickest_tests_first(self: PytestRunner, tests: Iterable[str]) -> list[str]:
    durations = state().duration_by_test
    return _pytest_args(self, sorted(tests, key=lambda test: (durations.get(test, 0.0), test)))


PytestRunner._pytest_args_regular_run = _quickest_tests_first

if __name__ == "__main__":
    sys.argv = ["mutmut", "run", *sys.argv[1:]]
    mutmut_main.cli()
