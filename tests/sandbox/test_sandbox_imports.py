"""The sandbox is a leaf of the package, and what it ships into the worker imports only what the worker has."""

import ast
import sys
from pathlib import Path

import dlcourse.sandbox
from dlcourse.sandbox.isolation import WORKER_MODULES

SANDBOX = Path(dlcourse.sandbox.__file__).parent
SHIPPED = {module.removesuffix(".py") for module in WORKER_MODULES}


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, by full name (``from package import module`` counts as ``package.module``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names
                                      if node.module == "dlcourse.sandbox"}
    return found


def test_the_sandbox_imports_nothing_else_from_dlcourse():
    for path in sorted(SANDBOX.glob("*.py")):
        outside = {name for name in imported(path)
                   if name.split(".")[0] == "dlcourse" and name.split(".")[:2] != ["dlcourse", "sandbox"]}
        assert not outside, f"{path.name} imports {sorted(outside)}"


def test_the_worker_modules_import_only_the_standard_library_numpy_torch_and_each_other():
    allowed = set(sys.stdlib_module_names) | {"numpy", "torch"} | SHIPPED
    assert {"worker", "protocol", "messages", "test_functions"} <= SHIPPED
    for module in WORKER_MODULES:
        for name in imported(SANDBOX / module):
            if name == "dlcourse.sandbox":
                continue
            if name.startswith("dlcourse.sandbox."):  # the in-package branch names the same sibling modules
                name = name.removeprefix("dlcourse.sandbox.")
            assert name.split(".")[0] in allowed, f"{module} imports {name}, which the sandboxed worker lacks"
