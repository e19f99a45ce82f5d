"""The package's layers, read from the source with ``ast``: who may import whom, and no cycles.

    reference library  <-  dlcourse.grading  <-  dlcourse.class_grading (and dlcourse.cli)
            ^                      |                     |
            |                      v                     v
    dlcourse.widgets         dlcourse.sandbox  (a leaf: imports nothing else from dlcourse)

Every import counts, also those inside functions (a lazy import is still a dependency).
``docs/architecture.md`` draws the same picture.  No module may grow past 500 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dlcourse"

# layer -> the layers it may import from (besides itself)
ALLOWED = {
    "library": set(),
    "sandbox": set(),
    "grading": {"library", "sandbox"},
    "class_grading": {"grading", "sandbox", "library"},
    "widgets": {"library"},
}


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in ("sandbox", "grading", "widgets"):
        return parts[1]
    if len(parts) > 1 and parts[1] in ("class_grading", "cli"):
        return "class_grading"
    return "library"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def resolve(name: str) -> str:
    """The module an imported dotted name lives in (``dlcourse.optim.adam_step`` -> ``dlcourse.optim``)."""
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def imports_of(module: str) -> set[str]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            names = [f"{base}.{alias.name}" for alias in node.names] or [base]
        else:
            continue
        found.update(resolve(name) for name in names if name.split(".")[0] == "dlcourse")
    found.discard(module)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def test_the_package_is_read():
    assert {"dlcourse.optim", "dlcourse.grading", "dlcourse.sandbox", "dlcourse.class_grading",
            "dlcourse.widgets", "dlcourse.training"} <= set(MODULES)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_follow_the_layers(module):
    layer = layer_of(module)
    against = sorted(f"{imported} ({layer_of(imported)})" for imported in GRAPH[module]
                     if layer_of(imported) != layer and layer_of(imported) not in ALLOWED[layer])
    assert not against, f"{module} ({layer}) imports against the layers: {against}"


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the groups of modules that import each other (directly or around a loop)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_no_import_cycles():
    cycles = [group for group in strongly_connected(GRAPH) if len(group) > 1]
    assert not cycles, f"modules that import each other: {cycles}"


def test_the_cycle_finder_finds_a_cycle():
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"], ["d"]]


def test_a_layer_violation_is_seen():
    assert layer_of("dlcourse.sandbox.proxy") == "sandbox"
    assert "grading" not in ALLOWED["sandbox"]
    assert layer_of("dlcourse.optim.adam") == "library"
    assert layer_of("dlcourse.cli") == "class_grading"


def unit_of(module: str) -> str:
    """``dlcourse.optim.adam`` -> ``dlcourse.optim``: the package or top-level module a module belongs to."""
    return ".".join(module.split(".")[:2])


def test_no_cycles_between_packages():
    units: dict[str, set[str]] = {}
    for module, imported in GRAPH.items():
        units.setdefault(unit_of(module), set()).update(unit_of(name) for name in imported)
    for unit, imported in units.items():
        imported.discard(unit)
    cycles = [group for group in strongly_connected(units) if len(group) > 1]
    assert not cycles, f"packages that import each other: {cycles}"


MAX_MODULE_LINES = 500  # a module a newcomer can read in one sitting; aim for 400


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_a_livable_size(module):
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{module} has {lines} lines: split it by concept"
