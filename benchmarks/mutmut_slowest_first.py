"""``mutmut run`` with the slowest mutants first.

mutmut runs the mutants whose tests take least time first. For a uniform sample that is the
wrong order: a session's budget then ends with the slow part of the core (the spider, the
profiles, the snapshot writer) undecided, and the score leans to the pure functions. This
runs the same ``mutmut run``, only in the opposite order, so what a budget leaves undecided
is the quick part, which a later, short run finishes::

    CI=true .venv/bin/python benchmarks/mutmut_slowest_first.py $(cat NAMES)

It reverses one private function of mutmut (3.8); if a release renames it, this fails at
once rather than running in the wrong order. Do not use ``mutmut print-time-estimates`` to
look ahead: in mutmut 3.8.1 it saves the stats without their test-to-function map, and the
next run then finds no tests for any mutant (delete ``mutants/mutmut-stats.json`` to recover).
"""

from __future__ import annotations

import sys

import mutmut.__main__ as mutmut_main

_estimate = mutmut_main.estimated_worst_case_time
mutmut_main.estimated_worst_case_time = lambda name: -_estimate(name)

if __name__ == "__main__":
    sys.argv = ["mutmut", "run", *sys.argv[1:]]
    mutmut_main.cli()
