"""Run ``python -m tests.mutmut_hits MODULE ARGS...`` as ``python -m MODULE ARGS...`` and, as
it exits, tell mutmut which of archiver's functions it ran.

Only used by ``make mutate``. mutmut learns which tests reach which function by recording
calls inside the test process; a crawl test runs ``scrapy crawl`` in a subprocess, exactly as
a user does, so without this the spider, journal, middlewares and snapshot writer would look
untested and their mutants would never meet the crawl tests that kill them. The mutants
themselves need nothing: the subprocess inherits ``MUTANT_UNDER_TEST`` and runs the mutant.
"""

from __future__ import annotations

import atexit
import os
import runpy
import sys

HITS_FILE = "ARCHIVER_MUTMUT_HITS"


def _write_hits() -> None:
    from mutmut.state import state

    with open(os.environ[HITS_FILE], "a", encoding="utf-8") as handle:
        handle.writelines(f"{name}\n" for name in state()._stats)


def _execv_keeping_hits(real_execv):
    """A crawl ends by becoming ``archiver.cli.publish`` (``os.execv``), which skips ``atexit``:
    write the crawl's hits first, and run the publisher under this module too."""

    def execv(path, args):
        _write_hits()
        args = list(args)
        if args[1:3] == ["-m", "archiver.cli.publish"]:
            args[1:3] = ["-m", "tests.mutmut_hits", "archiver.cli.publish"]
        return real_execv(path, args)

    return execv


def _load_mutmut_config() -> None:
    """mutmut reads its configuration from the working folder the first time a mutated
    function runs; a test that runs the command elsewhere (``cwd=tmp_path``) would find none
    and fail with mutmut's error instead of archiver's output. Read it from mutmut's copy."""
    from mutmut.configuration import config

    here = os.getcwd()
    os.chdir(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        config()
    finally:
        os.chdir(here)


if __name__ == "__main__":
    _load_mutmut_config()
    atexit.register(_write_hits)
    os.execv = _execv_keeping_hits(os.execv)
    sys.argv = sys.argv[1:]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
