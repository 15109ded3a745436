"""Run a command on a loaded machine: ``python benchmarks/under_load.py [--busy N] -- CMD...``

Starts N processes that keep a core busy each (2 by default, as ``stress --cpu 2`` would),
runs CMD, stops them, and exits with CMD's code. ``make test-loaded`` runs the shared-crawl
tests this way: what they check must not depend on how fast the machine is (issue 19:
start pages were fetched by every worker on a loaded machine).
"""

from __future__ import annotations

import argparse
import multiprocessing
import subprocess
import sys
import time


def busy() -> None:
    while True:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/under_load.py")
    parser.add_argument("--busy", type=int, default=2, help="processes each keeping a core busy")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    burners = [multiprocessing.Process(target=busy, daemon=True) for _ in range(args.busy)]
    for burner in burners:
        burner.start()
    started = time.monotonic()
    try:
        code = subprocess.call(command)
    finally:
        for burner in burners:
            burner.terminate()
            burner.join(timeout=5)
    elapsed = time.monotonic() - started
    sys.stderr.write(f"under load ({args.busy} busy processes): exit {code} in {elapsed:.0f} s\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
