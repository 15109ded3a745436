"""The import structure a newcomer can trust: the version at the ground floor, no loops, and
no component reaching up into the spider or the package's ``__init__`` (which loads the
analysis side).

Only module-level imports count: an import inside a function (a command's lazy import) or
under ``TYPE_CHECKING`` runs later or never, and cannot make a loop at import time.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "archiver"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def module_level_imports(name: str) -> set[str]:
    """The archiver modules ``name`` imports when it is imported."""
    tree = ast.parse(MODULES[name].read_text("utf-8"))
    found: set[str] = set()
    body = list(tree.body)
    while body:
        node = body.pop(0)
        if isinstance(node, ast.If) and not _is_type_checking(node):
            body.extend(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            body.extend(node.body + node.orelse + node.finalbody)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in MODULES)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module not in MODULES:
                continue
            submodules = {f"{node.module}.{alias.name}" for alias in node.names}
            taken = submodules & set(MODULES)  # from archiver import settings: a module
            found.update(taken)
            if len(taken) < len(node.names):
                found.add(node.module)
    found.discard(name)
    return found


GRAPH = {name: module_level_imports(name) for name in MODULES}


def test_the_version_module_imports_nothing() -> None:
    tree = ast.parse(MODULES["archiver.version"].read_text("utf-8"))
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]


def test_no_module_imports_a_module_that_imports_it_back() -> None:
    try:
        order = list(TopologicalSorter(GRAPH).static_order())
    except CycleError as exc:  # pragma: no cover - the message is the point
        pytest.fail(f"import loop: {' -> '.join(exc.args[1])}")
    assert set(order) == set(MODULES)


@pytest.mark.parametrize("name", sorted(set(MODULES) - {"archiver"}))
def test_no_module_reaches_up_into_the_package_init(name) -> None:
    """``archiver/__init__`` offers the analysts' API; a crawl component importing it would
    pull the analysis side (pandas) into every crawl and make loops easy."""
    assert "archiver" not in GRAPH[name]


@pytest.mark.parametrize(
    "name", sorted(n for n in MODULES if n.startswith(("archiver.middlewares", "archiver.pipe")))
)
def test_components_do_not_borrow_from_the_spider(name) -> None:
    assert not {m for m in GRAPH[name] if m.startswith("archiver.spiders")}


def test_hand_off_keys_are_written_only_through_archiver_channels() -> None:
    """A meta or stats key that carries data between components is spelled once, in
    archiver/channels.py; a second spelling elsewhere is how two components drift apart."""
    from archiver import channels

    keys = {v for k, v in vars(channels).items() if k.startswith(("META_", "STAT_"))}
    spelled = {
        (name, key)
        for name, path in MODULES.items()
        if name != "archiver.channels"
        for key in keys
        for quoted in (f'"{key}"', f"'{key}'")
        if f"meta[{quoted}]" in path.read_text("utf-8")
        or f"meta.get({quoted}" in path.read_text("utf-8")
        or (key.startswith("archiver/") and quoted in path.read_text("utf-8"))
    }
    assert not spelled


@pytest.mark.parametrize(
    ("spelling", "home"),
    [
        ("not found under", "archiver.store.layout"),  # find_snapshot: a snapshot by id or fail
        ("os.O_RDONLY)\n    try:\n        os.fsync(fd)", "archiver.store.durable"),  # fsync_dir
        ("install_reactor(", "archiver.cli.inprocess"),  # the spider run in this process
        ('getbool("ARCHIVER_PUBLISH_BY_EXEC")', "archiver.extensions"),  # publish or hand on
        ("EXIT_CODES = ", "archiver.errors"),  # the exit code by status
    ],
)
def test_one_way_to_do_each_thing(spelling, home) -> None:
    assert [n for n, p in MODULES.items() if spelling in p.read_text("utf-8")] == [home]


# The floors, lowest first: a module imports only from floors below its own, or from its own
# wing. The Scrapy-facing components (spiders, middlewares, pipelines, the extension and the
# exporters) count as one wing: Scrapy wires them to each other.
FLOORS = [
    {"archiver.version", "archiver.errors", "archiver.channels", "archiver.items",
     "archiver.moved"},
    {"archiver.extract", "archiver.evidence"},
    {"archiver.store"},
    {"archiver.settings", "archiver.analyse"},
    {"archiver.scope"},
    {"archiver.spiders", "archiver.middlewares", "archiver.pipelines", "archiver.extensions",
     "archiver.exporters", "archiver.logformatter"},
    {"archiver.distribute"},
    {"archiver.addons", "archiver.commands"},
    {"archiver.cli"},
]  # fmt: skip
COMPONENTS = FLOORS[5]


def wing(name: str) -> str:
    """``archiver.store.layout`` -> ``archiver.store``; a Scrapy component -> its floor."""
    top = ".".join(name.split(".")[:2])
    return "components" if top in COMPONENTS else top


def floor(name: str) -> int:
    top = ".".join(name.split(".")[:2])
    return next(number for number, names in enumerate(FLOORS) if top in names)


@pytest.mark.parametrize("name", sorted(set(MODULES) - {"archiver"}))
def test_every_module_has_a_floor_and_imports_only_downwards(name) -> None:
    """So that a wing can be read without the ones above it: the store without the crawl,
    extraction without Scrapy's engine, analysis without the crawl."""
    upward = {
        imported
        for imported in GRAPH[name]
        if wing(imported) != wing(name) and floor(imported) >= floor(name)
    }
    assert not upward, f"{name} (floor {floor(name)}) imports upwards: {sorted(upward)}"


# Files that are one thing, however long: a class whose methods are one state machine.
ONE_THING = {"archiver.spiders.listing", "archiver.distribute.frontier"}


@pytest.mark.parametrize("name", sorted(set(MODULES) - ONE_THING))
def test_no_module_grows_past_about_400_lines(name) -> None:
    lines = MODULES[name].read_text("utf-8").count("\n")
    assert lines <= 420, f"{name} has {lines} lines: split it along its seams"


def test_old_module_paths_still_import_with_a_warning() -> None:
    """Code written against the flat layout (``from archiver.dataset import load``, a
    ``SCHEDULER = "archiver.journal.JournalScheduler"`` setting) keeps working, and is told
    where the name it took lives now."""
    import importlib
    import sys
    import warnings

    from archiver.moved import MOVED

    for old, homes in MOVED.items():
        assert old not in MODULES, f"{old} is a real module again: drop it from MOVED"
        sys.modules.pop(old, None)
        module = importlib.import_module(old)
        for home in homes:
            assert home in MODULES, f"{old} points at {home}, which does not exist"
            real = importlib.import_module(home)
            name = next(n for n, v in vars(real).items() if callable(v) and not n.startswith("_")
                        and getattr(v, "__module__", None) == home)  # fmt: skip
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                assert getattr(module, name) is getattr(real, name)
                getattr(module, name)  # a second use does not warn again
            assert [str(w.message) for w in caught] == [
                f"{old}.{name} has moved to {home}.{name}; import it from there"
            ]
            assert caught[0].category is DeprecationWarning
    from scrapy.utils.misc import load_object

    sys.modules.pop("archiver.journal", None)
    sys.modules.pop("archiver.workers", None)
    with pytest.warns(DeprecationWarning, match="archiver.store.journal.JournalScheduler"):
        scheduler = load_object("archiver.journal.JournalScheduler")
    assert scheduler.__module__ == "archiver.store.journal"
    with pytest.warns(DeprecationWarning, match="archiver.distribute.scheduler.SharedScheduler"):
        assert load_object("archiver.workers.SharedScheduler").__name__ == "SharedScheduler"


def test_a_crawl_of_before_the_regroup_still_becomes_its_publisher() -> None:
    """A crawl started before an upgrade ends by exec-ing ``python -m archiver.publish``;
    that must still publish (here: its usage line), or the snapshot would wait unpublished."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "archiver.publish", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m archiver.cli.publish")


def test_no_module_of_archiver_imports_an_old_path() -> None:
    from archiver.moved import MOVED

    found = {
        (name, imported)
        for name in MODULES
        for imported in _all_imports(name)
        if imported in MOVED or any(imported.startswith(f"{old}.") for old in MOVED)
    }
    assert not found


def _all_imports(name: str) -> set[str]:
    """Every module ``name`` imports, at any depth of its code (lazy imports too)."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found
