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
        ("not found under", "archiver.snapshots"),  # find_snapshot: a snapshot by id or fail
        ("os.O_RDONLY)\n    try:\n        os.fsync(fd)", "archiver.snapshots"),  # fsync_dir
    ],
)
def test_one_way_to_do_each_thing(spelling, home) -> None:
    assert [n for n, p in MODULES.items() if spelling in p.read_text("utf-8")] == [home]
