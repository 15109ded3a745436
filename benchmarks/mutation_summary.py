"""Summarise the last ``mutmut run`` (``make mutate``): score per module and every survivor.

Reads mutmut's own result files under ``mutants/``; prints Markdown for benchmarks/MUTATION.md.

A whole run takes hours on two cores (a mutant of the spider meets a hundred crawl tests), so
``--sample N`` prints, instead, the names of a run that fits in less: every mutant that
survived or found no test, and a random N of each module's mutants not yet run (seeded, so the
same results give the same names)::

    mutmut run $(python benchmarks/mutation_summary.py --sample 15)

``--uniform N`` prints a simple random sample of N of all the mutants instead. Run in a fresh
``mutants/`` folder, its score is an unbiased estimate of the whole core's, which quick-first
runs are not (mutmut runs the mutants with the quickest tests first, and those are the
pure functions); the summary gives its 95% Wilson interval::

    rm -rf mutants && mutmut run archiver.extract.dates.x_parse_age__mutmut_1   # generates them all
    mutmut run $(python benchmarks/mutation_summary.py --uniform 300)

``--only FILE`` restricts the table to the mutants FILE names, such as the sample kept in
``benchmarks/mutation_sample.txt`` (run with ``benchmarks/mutmut_slowest_first.py``).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections import Counter
from pathlib import Path

KILLED = {1, 3, 37}  # mutmut: tests failed, pytest internal error, caught by type check
TIMEOUT = {24, 36, 152, 255, -24}


def sample(metas: list[Path], n: int, seed: int = 0) -> list[str]:
    chosen: list[str] = []
    pick = random.Random(seed)
    for meta in metas:
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        chosen += [name for name, code in codes.items() if code in (0, 5, 33)]
        not_run = sorted(name for name, code in codes.items() if code is None)
        chosen += pick.sample(not_run, min(n, len(not_run)))
    return chosen


def uniform(metas: list[Path], n: int, seed: int = 0) -> list[str]:
    everyone = sorted(
        name for meta in metas for name in json.loads(meta.read_text())["exit_code_by_key"]
    )
    return sorted(random.Random(seed).sample(everyone, min(n, len(everyone))))


def wilson(killed: int, checked: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% interval of a proportion that stays inside [0, 1] for scores near 100%."""
    if not checked:
        return 0.0, 1.0
    p = killed / checked
    centre = (p + z * z / (2 * checked)) / (1 + z * z / checked)
    half = z * math.sqrt(p * (1 - p) / checked + z * z / (4 * checked * checked))
    return centre - half / (1 + z * z / checked), centre + half / (1 + z * z / checked)


def main(root: Path = Path("mutants")) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, metavar="N", help="print mutant names to run")
    parser.add_argument("--uniform", type=int, metavar="N", help="print N of all mutants")
    parser.add_argument(
        "--only",
        type=Path,
        metavar="FILE",
        help="count only the mutants FILE names (one a line, '#' comments), e.g. a sample",
    )
    args = parser.parse_args()
    only = None
    if args.only is not None:
        lines = args.only.read_text(encoding="utf-8").splitlines()
        only = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    metas = sorted(root.glob("archiver/**/*.py.meta"))
    if not metas:
        sys.stderr.write("no mutmut results under mutants/: run `make mutate` first\n")
        return 1
    if args.uniform is not None:
        sys.stdout.write("\n".join(uniform(metas, args.uniform)) + "\n")
        return 0
    if args.sample is not None:
        sys.stdout.write("\n".join(sample(metas, args.sample)) + "\n")
        return 0
    lines = [
        "| module | mutants | not run | killed | timeout | survived | no tests | score |",
        "|" + " --- |" * 8,
    ]
    survivors: list[str] = []
    totals: Counter[str] = Counter()
    for meta in metas:
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        if only is not None:
            codes = {name: code for name, code in codes.items() if name in only}
        counts = Counter(
            "killed"
            if c in KILLED
            else "timeout"
            if c in TIMEOUT
            else "survived"
            if c == 0
            else "no tests"
            if c in (5, 33)
            else "not run"
            if c is None
            else "other"
            for c in codes.values()
        )
        survivors += [name for name, code in codes.items() if code == 0]
        totals.update(counts | {"mutants": len(codes)})
        module = meta.relative_to(root).as_posix().removesuffix(".meta")
        checked = len(codes) - counts["other"] - counts["not run"]
        score = (counts["killed"] + counts["timeout"]) / checked if checked else 0
        lines.append(
            f"| {module} | {len(codes)} | {counts['not run']} | {counts['killed']} | "
            f"{counts['timeout']} | {counts['survived']} | {counts['no tests']} | {score:.1%} |"
        )
    checked = totals["mutants"] - totals["other"] - totals["not run"]
    score = (totals["killed"] + totals["timeout"]) / checked if checked else 0
    lines.append(
        f"| **all** | {totals['mutants']} | {totals['not run']} | {totals['killed']} | "
        f"{totals['timeout']} | {totals['survived']} | {totals['no tests']} | **{score:.1%}** |"
    )
    low, high = wilson(totals["killed"] + totals["timeout"], checked)
    lines.append(
        f"\n{checked} decided; if they are a uniform sample of the {totals['mutants']}, "
        f"the score of all is {low:.1%} to {high:.1%} (95% Wilson interval)."
    )
    sys.stdout.write("\n".join(lines) + "\n\nSurvivors:\n\n")
    sys.stdout.write("".join(f"- `{name}`\n" for name in sorted(survivors)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
