"""Shared fixtures: a frozen, timezone-aware capture time; a real HTTP server on 127.0.0.1;
and a helper that runs ``scrapy crawl listing`` exactly as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import Phase
from hypothesis import settings as hypothesis_settings

from tests.mutmut_hits import HITS_FILE

# Property tests explore at random on a developer's machine and replay the same examples in
# CI, so that main stays green for reasons that are in the code, not in the dice.
# Hypothesis's "explain" phase, and its pytest plugin's patch of a failing example, rewrite
# the test with libcst (installed with mutmut), which trips over Twisted's zope.interface
# (AttributeError: __provides__) and hides the failure, and the test's name, behind an
# INTERNALERROR. The failing example is still printed with the failure.
_PHASES = [phase for phase in Phase if phase is not Phase.explain]
try:  # a private module of Hypothesis: if a release moves it, lose only this workaround
    from hypothesis.extra import _patching as _hypothesis_patching

    _hypothesis_patching.get_patch_for = lambda *args, **kwargs: None
except ImportError:
    pass
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None, phases=_PHASES)
hypothesis_settings.register_profile("dev", deadline=None, phases=_PHASES)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
DEMO = ROOT / "data" / "demo"
SHARED = ROOT.parent / "shared"
REALWORLD = SHARED / "realworld"

# The seed listing was captured in October 2025. Read with truncation (archiver/extract/dates.py), its
# fifteen ages agree with the blog's real dates for any capture from 28 September to 25 October
# 2025; tests serve the demo with a Date header in the middle of that window.
SEED_CAPTURE = datetime(2025, 10, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def capture_time() -> datetime:
    """The page's own time, frozen and timezone-aware, for normaliser tables."""
    return datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)


class _Handler(SimpleHTTPRequestHandler):
    """Serves a folder; the Date header is the server's fixed "now" when one is given."""

    server_date: datetime | None = None
    seen: list[tuple[str, str]]  # (path, User-Agent) of every request, for assertions

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("User-Agent", "")))
        super().do_GET()

    def date_time_string(self, timestamp: float | None = None) -> str:
        if self.server_date is not None:
            return format_datetime(self.server_date, usegmt=True)
        return super().date_time_string(timestamp)

    def log_message(self, format: str, *args: object) -> None:  # keep pytest output clean
        pass


class LocalSite:
    """A real HTTP server on 127.0.0.1 serving ``root``; stopped by the fixture."""

    def __init__(self, root: Path, date: datetime | None = None) -> None:
        self.seen: list[tuple[str, str]] = []
        handler = type("Handler", (_Handler,), {"server_date": date, "seen": self.seen})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def serve() -> Iterator[Callable[..., LocalSite]]:
    sites: list[LocalSite] = []

    def start(root: Path, date: datetime | None = None) -> LocalSite:
        site = LocalSite(root, date)
        sites.append(site)
        return site

    yield start
    for site in sites:
        site.stop()


FAST = [
    "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "RETRY_TIMES=1",
    "-s", "DOWNLOAD_TIMEOUT=10", "-s", "LOG_LEVEL=INFO",
]  # fmt: skip


def collecting_mutmut_stats() -> bool:
    return os.environ.get("MUTANT_UNDER_TEST") == "stats" and HITS_FILE in os.environ


def module_command(module: str, *args: str) -> list[str]:
    """``python -m MODULE ARGS``, as a user runs it; while mutmut collects which tests reach
    which function, under tests/mutmut_hits.py."""
    runner = ["tests.mutmut_hits"] if collecting_mutmut_stats() else []
    return [sys.executable, "-m", *runner, module, *args]


def module_env() -> dict[str, str]:
    """The environment for ``module_command`` run from any folder: under ``make mutate`` the
    code (and tests/mutmut_hits.py) must come from mutmut's copy, not the installed project,
    or a subprocess would run without the mutant."""
    if "MUTANT_UNDER_TEST" not in os.environ:
        return dict(os.environ)
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }


def crawl_command(*args: str, data_dir: Path) -> list[str]:
    """``scrapy crawl listing ARGS`` with test timings, into ``data_dir``."""
    command = module_command("scrapy", "crawl", "listing", *FAST)
    return [*command, "-s", f"ARCHIVER_DATA_DIR={data_dir}", *args]


# --- make mutate: crawl subprocesses report the functions they ran (tests/mutmut_hits.py) ---


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("MUTANT_UNDER_TEST") == "stats":
        hits = Path(tempfile.mkstemp(prefix="archiver-mutmut-hits-")[1])
        os.environ[HITS_FILE] = str(hits)


def _merge_mutmut_hits() -> None:
    """Hand the functions crawl subprocesses ran to mutmut, as if this test had run them."""
    if not collecting_mutmut_stats():
        return
    hits = Path(os.environ[HITS_FILE])
    names = set(hits.read_text("utf-8").split())
    hits.write_text("")
    if names:
        from mutmut.state import state

        state()._stats.update(names)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    try:
        return (yield)
    finally:
        _merge_mutmut_hits()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    try:
        return (yield)
    finally:
        _merge_mutmut_hits()


def run_crawl(
    *args: str, data_dir: Path, timeout: float = 120, **popen: object
) -> subprocess.CompletedProcess:
    """Run ``crawl_command`` from the project root to its end."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        crawl_command(*args, data_dir=data_dir),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
        **popen,  # type: ignore[arg-type]
    )


@pytest.fixture
def crawl() -> Callable[..., subprocess.CompletedProcess]:
    return run_crawl


@pytest.fixture(scope="session")
def pywb() -> Path:
    """The folder of pywb's programs (``make test`` installs them in .venv-pywb)."""
    tool = ROOT / ".venv-pywb" / "bin" / "wayback"
    if not tool.exists():
        pytest.skip(f"pywb is not installed at {tool.parent} (make test installs it)")
    return tool.parent


def needs_realworld() -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        not REALWORLD.is_dir(), reason=f"real-world pages not present at {REALWORLD}"
    )
