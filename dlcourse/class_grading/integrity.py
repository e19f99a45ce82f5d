"""An integrity report for one submission: things an instructor should look at.

Flags ask for review; they never change a score by themselves.  Three kinds:

- **code red flags** in solution cells, found by walking the syntax tree:
  reaching into frames, builtins, the IPython shell or the compiler, files,
  processes, sockets, dynamic imports, importing the reference (``dlcourse``)
  or torch, and magics or shell escapes (``%``, ``!``);
- **near copies** of the reference: each function the student wrote is
  compared with every function of the reference library after normalizing
  its syntax tree (names, constants and docstrings erased), so renaming
  variables does not hide a copy;
- **structure**: notebooks that do not parse, and graded or read-only cells
  that were deleted, duplicated or edited, compared with the instructor's
  source notebook.
"""

from __future__ import annotations

import ast
import difflib
import functools
import importlib
import inspect
import json
import textwrap
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from dlcourse.class_grading.notebooks import cell_source, nbgrader_metadata
from dlcourse.grading import get_target, targets
from dlcourse.sandbox.isolation import WORKER_MODULES

__all__ = ["Flag", "code_flags", "integrity_report", "near_copies", "notebook_flags", "structure_flags", "summarize"]

# Modules whose import in a solution cell asks for a second look.
SUSPICIOUS_MODULES = {
    "dlcourse": "imports the course's reference implementation",
    "torch": "imports torch (the exercises are numpy only)",
    "os": "can reach files and processes",
    "sys": "can reach the interpreter's internals",
    "subprocess": "can start processes",
    "socket": "can open network connections",
    "shutil": "can copy and delete files",
    "pathlib": "can reach files",
    "importlib": "imports modules by computed name",
    "ctypes": "can call C code and patch memory",
    "builtins": "can replace Python's builtins",
    "inspect": "can read other code and frames",
    "gc": "can reach every live object",
    "signal": "can change signal handlers (and timeouts)",
    "threading": "can start threads and set trace hooks",
    "multiprocessing": "can start processes",
    "pickle": "can run arbitrary code when loading",
    "IPython": "can reach the notebook shell",
    "sqlite3": "can open databases (the gradebook)",
    "urllib": "can open network connections",
    "http": "can open network connections",
    # the sandbox's own modules (dlcourse/sandbox/*.py, importable inside the worker under these names)
    **dict.fromkeys((module.removesuffix(".py") for module in WORKER_MODULES),
                    "reaches into the grading sandbox's own code"),
}
SUSPICIOUS_CALLS = {
    "eval": "evaluates code built at run time",
    "exec": "executes code built at run time",
    "compile": "compiles code at run time",
    "__import__": "imports a module by computed name",
    "open": "opens a file",
    "globals": "reaches the notebook's global namespace",
    "locals": "reaches a frame's local namespace",
    "vars": "reaches an object's namespace",
    "get_ipython": "reaches the notebook shell",
    "breakpoint": "starts a debugger",
    "input": "waits for keyboard input",
}
SUSPICIOUS_ATTRIBUTES = {
    "__builtins__": "reaches the builtins",
    "__globals__": "reaches a function's globals",
    "__code__": "reads or replaces a function's code",
    "__subclasses__": "walks the class hierarchy (a classic sandbox escape)",
    "__class__": "walks the class hierarchy",
    "_getframe": "reaches the caller's frame",
    "f_back": "walks up the call stack",
    "f_globals": "reaches a frame's globals",
    "f_locals": "reaches a frame's locals",
    "setprofile": "installs a profile hook (the grader's watch)",
    "settrace": "installs a trace hook",
    "input_transformers_cleanup": "rewrites notebook input before it runs",
    "input_transformers_post": "rewrites notebook input before it runs",
    "ast_transformers": "rewrites code before it runs",
    "modules": "reaches sys.modules (loaded code)",
}

NEAR_COPY_THRESHOLD = 0.92
_MIN_COPY_NODES = 40  # shorter functions look alike whoever writes them


@dataclass(frozen=True)
class Flag:
    kind: str  # "code", "copy", "structure"
    cell: str  # grade id (or cell id) the flag is about; "" for the whole notebook
    detail: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _magic_lines(source: str) -> list[str]:
    return [line.strip() for line in source.splitlines() if line.lstrip().startswith(("%", "!"))]


def code_flags(source: str, cell: str = "") -> list[Flag]:
    """Red flags in one code cell's source."""
    flags = [Flag("code", cell, f"magic or shell command: {line[:80]}") for line in _magic_lines(source)]
    python = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        tree = ast.parse(python)
    except SyntaxError as error:
        return [*flags, Flag("code", cell, f"does not parse as Python (line {error.lineno}): {error.msg}")]
    seen: set[str] = set()

    def add(detail: str) -> None:
        if detail not in seen:
            seen.add(detail)
            flags.append(Flag("code", cell, detail))

    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                if top in SUSPICIOUS_MODULES:
                    add(f"imports {name}: {SUSPICIOUS_MODULES[top]}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in SUSPICIOUS_CALLS:
            add(f"calls {node.func.id}(): {SUSPICIOUS_CALLS[node.func.id]}")
        elif isinstance(node, ast.Attribute) and node.attr in SUSPICIOUS_ATTRIBUTES:
            add(f"uses .{node.attr}: {SUSPICIOUS_ATTRIBUTES[node.attr]}")
        elif isinstance(node, ast.Name) and node.id in ("__builtins__", "__loader__", "__spec__"):
            add(f"uses {node.id}: reaches the interpreter's internals")
    return flags


class _Normalizer(ast.NodeTransformer):
    """Erase what a copier changes for free: names, constants, docstrings, annotations."""

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
            body = body[1:] or [ast.Pass()]
        node.body, node.name, node.returns, node.decorator_list = body, "f", None, []
        return self.generic_visit(node)

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg, node.annotation = "a", None
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return ast.Name(id="n", ctx=node.ctx)

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        return ast.Constant(value=0)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        return node  # attribute names (np.sqrt, .mean) carry the algorithm: keep them


def _fingerprint(function: ast.FunctionDef) -> list[str]:
    normalized = _Normalizer().visit(ast.parse(ast.unparse(function)).body[0])
    return [type(node).__name__ + (f".{node.attr}" if isinstance(node, ast.Attribute) else "")
            for node in ast.walk(normalized)]


def _functions(source: str) -> list[ast.FunctionDef]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]



def answer_key_modules() -> list[str]:
    """The modules that define the references of the checks: the answer key an exercise could be copied from.

    Read from the checks' own table (``dlcourse.grading.targets()``), so a new check's reference is
    covered the day it is added, and the lectures' experiments, which no exercise asks for, are not
    compared with every submission.
    """
    return sorted({getattr(reference, "__module__", None) or "" for name in targets()
                   for reference in get_target(name).reference} - {""})


@functools.cache
def _reference_fingerprints() -> tuple[tuple[str, tuple[str, ...]], ...]:
    found = []
    for name in answer_key_modules():
        source = inspect.getsource(importlib.import_module(name))
        for function in _functions(source):
            fingerprint = _fingerprint(function)
            if len(fingerprint) >= _MIN_COPY_NODES:
                found.append((f"{name}.{function.name}", tuple(fingerprint)))
    return tuple(found)


def near_copies(source: str, cell: str = "", threshold: float = NEAR_COPY_THRESHOLD) -> list[Flag]:
    """Functions in ``source`` whose normalized syntax tree nearly equals a reference function's."""
    flags = []
    for function in _functions(textwrap.dedent(source)):
        fingerprint = _fingerprint(function)
        if len(fingerprint) < _MIN_COPY_NODES:
            continue
        best_name, best = "", 0.0
        for name, reference in _reference_fingerprints():
            matcher = difflib.SequenceMatcher(None, fingerprint, reference, autojunk=False)
            if matcher.real_quick_ratio() < threshold or matcher.quick_ratio() < threshold:
                continue
            ratio = matcher.ratio()
            if ratio > best:
                best_name, best = name, ratio
        if best >= threshold:
            flags.append(Flag("copy", cell,
                              f"{function.name} is {best:.0%} similar to {best_name} after normalization"))
    return flags


def _cells(notebook: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (str(nbgrader_metadata(cell)["grade_id"]), cell)
        for cell in notebook.get("cells", [])
        if isinstance(cell, dict) and nbgrader_metadata(cell).get("grade_id")
    ]


def structure_flags(submission: dict[str, Any], source: dict[str, Any]) -> list[Flag]:
    """Deleted, duplicated or edited nbgrader cells, compared with the instructor's source notebook.

    Test cells are compared with the release text (the source's without the
    hidden tests), which is what the student received.
    """
    flags = []
    submitted = _cells(submission)
    counts: dict[str, int] = {}
    for grade_id, _ in submitted:
        counts[grade_id] = counts.get(grade_id, 0) + 1
    flags += [Flag("structure", g, f"cell appears {n} times") for g, n in counts.items() if n > 1]
    by_id = dict(submitted)
    for grade_id, original in _cells(source):
        meta = nbgrader_metadata(original)
        if grade_id not in by_id:
            kind = ("test" if meta.get("grade") and not meta.get("solution")
                    else "read-only" if meta.get("locked") else "answer")
            flags.append(Flag("structure", grade_id, f"{kind} cell was deleted"))
            continue
        if meta.get("locked") and not meta.get("solution"):
            released = cell_source(original).split("### BEGIN HIDDEN TESTS")[0].rstrip()
            if cell_source(by_id[grade_id]).split("### BEGIN HIDDEN TESTS")[0].rstrip() != released:
                flags.append(Flag("structure", grade_id, "read-only cell was edited"))
    return flags


def integrity_report(submission_path: Path, source_path: Path) -> list[Flag]:
    """Every flag for one submitted notebook, given the instructor's source notebook."""
    try:
        submission = json.loads(Path(submission_path).read_text())
        if not isinstance(submission, dict) or not isinstance(submission.get("cells"), list):
            raise ValueError("no cells")
    except (OSError, ValueError, UnicodeDecodeError) as error:
        return [Flag("structure", "", f"notebook cannot be read: {error}")]
    return notebook_flags(submission, json.loads(Path(source_path).read_text()))


def notebook_flags(submission: dict[str, Any], source: dict[str, Any]) -> list[Flag]:
    """Every flag for a parsed submission, given the parsed source notebook."""
    flags = structure_flags(submission, source)
    for grade_id, cell in _cells(submission):
        if nbgrader_metadata(cell).get("solution") and cell.get("cell_type") == "code":
            flags += code_flags(cell_source(cell), grade_id) + near_copies(cell_source(cell), grade_id)
    return flags


def summarize(flags: Iterable[Flag]) -> str:
    """One line per flag, for a report or a terminal."""
    return "\n".join(f"[{flag.kind}] {flag.cell or '(notebook)'}: {flag.detail}" for flag in flags) or "no flags"
