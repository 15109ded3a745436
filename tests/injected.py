"""Bugs injected into a real crawl from outside, as a broken pipeline or extension would be.

Loaded by ``scrapy crawl`` through ``-s ITEM_PIPELINES=...`` in tests/test_faults.py.
"""

from __future__ import annotations

from archiver.extensions import SnapshotWriter
from archiver.items import ListingEntry


class ExplodingPipeline:
    """Raises on one entry ("Post number 5"), as an unforeseen bug in a normaliser would."""

    def process_item(self, item: ListingEntry) -> ListingEntry:
        if item.title == "Post number 5":
            raise RuntimeError("injected bug")
        return item


class WrongTypePipeline:
    """Puts text where the schema wants a number: the row cannot be written."""

    def process_item(self, item: ListingEntry) -> ListingEntry:
        if item.title == "Post number 5":
            item.views = "many"  # type: ignore[assignment]
        return item


class BrokenSnapshotWriter(SnapshotWriter):
    """A snapshot writer that fails as it publishes, as a bug in it would."""

    def spider_closed(self, spider, reason, **_):
        raise RuntimeError("injected bug in the snapshot writer")


class OldTagStrippingPipeline:
    """What an old archiver did to text: strip anything that looks like a tag, after the
    parser had decoded the page (so a literal "<td>" in a title was lost)."""

    def process_item(self, item: ListingEntry) -> ListingEntry:
        from w3lib.html import remove_tags

        item.title = remove_tags(item.title or "").strip() or None
        return item


# --- a publisher killed at any instant (tests/test_workers.py) ------------------------------
#
# A ``sitecustomize`` the test writes calls ``count_instants`` in every process of a shared
# crawl's workers (the crawl, and the ``archiver.cli.publish`` it becomes). From the moment a
# worker wins the publishing claim, each step that changes what is on disk or in Redis is an
# instant: it is appended to the file ``ARCHIVER_TEST_INSTANTS`` names, and at instant
# number ``ARCHIVER_TEST_DIE_AT`` (or the first of the crawl named ``ARCHIVER_TEST_DIE_ON``) the process
# kills itself with SIGKILL, before the step.

INSTANTS = "ARCHIVER_TEST_INSTANTS"
DIE_AT = "ARCHIVER_TEST_DIE_AT"
DIE_ON = "ARCHIVER_TEST_DIE_ON"  # or at the first instant of this name (os.rename, ...)
COUNTING = "ARCHIVER_TEST_COUNTING"  # inherited by the process the crawl becomes
PAUSE_ON = "ARCHIVER_TEST_PAUSE_ON"  # or stall (a loaded machine) at the first of this name
PAUSE = "ARCHIVER_TEST_PAUSE"  # for this many seconds


def _instant(name: str) -> None:
    import os
    import signal

    if not os.environ.get(COUNTING):
        return
    with open(os.environ[INSTANTS], "a", encoding="utf-8") as log:
        log.write(name + "\n")
    with open(os.environ[INSTANTS], encoding="utf-8") as log:
        steps = log.read().splitlines()
    first_of_its_name = name == os.environ.get(DIE_ON) and steps.count(name) == 1
    if name == os.environ.get(PAUSE_ON) and steps.count(name) == 1:
        import time

        time.sleep(float(os.environ[PAUSE]))
    if len(steps) == int(os.environ.get(DIE_AT) or 0) or first_of_its_name:
        os.kill(os.getpid(), signal.SIGKILL)


def count_instants() -> None:
    import os
    import shutil

    from archiver.distribute.frontier import Frontier

    def before(name: str, function):
        def step(*args, **kwargs):
            _instant(name)
            return function(*args, **kwargs)

        return step

    for module, names in ((os, ("fsync", "replace", "rename", "unlink")), (shutil, ("rmtree",))):
        for name in names:
            setattr(module, name, before(f"{module.__name__}.{name}", getattr(module, name)))
    for name in ("finish", "release_publishing"):
        if hasattr(Frontier, name):  # (an older Frontier, to show a test failing on it)
            setattr(Frontier, name, before(f"Frontier.{name}", getattr(Frontier, name)))
    claim = Frontier.claim_publishing

    def claim_publishing(self):
        won = claim(self)
        if won and not os.environ.get(COUNTING):
            os.environ[COUNTING] = "1"
            _instant("claimed")
        return won

    Frontier.claim_publishing = claim_publishing
