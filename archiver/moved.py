"""The module paths of before the regroup into wings, kept working for code that imports them.

``from archiver.dataset import load`` or ``SCHEDULER = "archiver.journal.JournalScheduler"``
in a project's settings still work: each name taken from an old path warns once (a
``DeprecationWarning`` naming the module that holds it now). ``python -m archiver.publish``,
which a crawl started before an upgrade becomes when it ends, runs ``archiver.cli.publish``,
so that crawl still publishes. Nothing inside archiver imports an old path;
``tests/test_layout.py`` holds it so.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from typing import Any

# Old path -> the modules that now hold its names, searched in this order.
MOVED: dict[str, tuple[str, ...]] = {
    "archiver.dates": ("archiver.extract.dates",),
    "archiver.readable": ("archiver.extract.readable",),
    "archiver.decoding": ("archiver.extract.decoding",),
    "archiver.profiles": ("archiver.extract.profiles",),
    "archiver.suggest": ("archiver.extract.suggest",),
    "archiver.warc": ("archiver.evidence.records", "archiver.evidence.writer",
                      "archiver.evidence.reader"),
    "archiver.replay": ("archiver.evidence.replay",),
    "archiver.snapshots": ("archiver.store.layout", "archiver.store.staging",
                           "archiver.store.publishing", "archiver.store.verify",
                           "archiver.store.durable"),
    "archiver.rows": ("archiver.store.rows",),
    "archiver.locks": ("archiver.store.locks",),
    "archiver.prune": ("archiver.store.prune",),
    "archiver.journal": ("archiver.store.journal",),
    "archiver.frontier": ("archiver.distribute.frontier", "archiver.distribute.serializer",
                          "archiver.distribute.naming", "archiver.distribute.connection"),
    "archiver.workers": ("archiver.distribute.scheduler", "archiver.distribute.politeness",
                         "archiver.distribute.pages", "archiver.distribute.writer",
                         "archiver.distribute.joining", "archiver.distribute.recovery"),
    "archiver.reach": ("archiver.scope.reach",),
    "archiver.resolver": ("archiver.scope.resolver",),
    "archiver.preflight": ("archiver.scope.preflight",),
    "archiver.listings": ("archiver.scope.listings",),
    "archiver.dataset": ("archiver.analyse.read", "archiver.analyse.history",
                         "archiver.analyse.diff"),
    "archiver.plot": ("archiver.analyse.plot",),
    "archiver.report": ("archiver.analyse.report",),
    "archiver.check": ("archiver.cli.check",),
    "archiver.reparse": ("archiver.cli.reparse",),
    "archiver.publish": ("archiver.cli.publish", "archiver.errors"),
}  # fmt: skip


class _OldPath(types.ModuleType):
    """An old path: each name is looked up in the new homes, on first use."""

    __homes__: tuple[str, ...] = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        modules = [importlib.import_module(home) for home in self.__homes__]
        # The module that defines the name, before one that only imports it.
        defining = [
            m for m in modules if getattr(getattr(m, name, None), "__module__", "") == m.__name__
        ]
        holding = defining or [m for m in modules if hasattr(m, name)]
        if not holding:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        home = holding[0].__name__
        warnings.warn(
            f"{self.__name__}.{name} has moved to {home}.{name}; import it from there",
            DeprecationWarning,
            stacklevel=2,
        )
        value = getattr(holding[0], name)
        setattr(self, name, value)  # warned once; later uses find it here
        return value

    def __dir__(self) -> list[str]:
        return sorted({n for h in self.__homes__ for n in dir(importlib.import_module(h))})


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _OldPath(spec.name)
        module.__homes__ = MOVED[spec.name]
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None  # each name warns as it is taken (``_OldPath.__getattr__``)

    def get_code(self, fullname: str) -> types.CodeType:
        """``python -m OLD``: run the new home as ``__main__``."""
        home = MOVED[fullname][0]
        source = f"import runpy\nrunpy.run_module({home!r}, run_name='__main__', alter_sys=True)\n"
        return compile(source, f"<{fullname}, moved to {home}>", "exec")


FINDER = _Finder()


def install() -> None:
    """Put the finder last on ``sys.meta_path``: a real module of a name always wins."""
    if FINDER not in sys.meta_path:
        sys.meta_path.append(FINDER)
