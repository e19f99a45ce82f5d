"""``dlcourse check NOTEBOOK``: a student's own pre-submission check, graded the way ``dlcourse grade`` grades.

The answer cells (nbgrader solution cells) run sandboxed exactly as at
grading time, so code that only works because of another cell the student
added, or that needs a module the grader lacks, shows up here first.  The
notebook's own test cells are the visible checks (a released notebook has no
hidden tests).
"""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

from dlcourse.class_grading.environment import Limits
from dlcourse.class_grading.notebooks import parse_source
from dlcourse.class_grading.session import NotebookResult, grade_notebook
from dlcourse.grading._display import wrap


def format_table(result: NotebookResult) -> str:
    """The per-part table (part, points, result, first line of the feedback) and the total."""
    rows = [("part", "points", "result", "feedback")]
    for part in result.parts:
        first = part.feedback.strip().splitlines()[0] if part.feedback.strip() else ""
        rows.append((part.grade_id, f"{part.score:g}/{part.max_score:g}",
                     "passed" if part.passed else "FAILED", textwrap.shorten(first, 90, placeholder="...")))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3]
             for row in rows]
    lines.insert(1, "-" * min(120, max(len(line) for line in lines)))
    lines.append(f"total {result.score:g}/{result.max_score:g} (visible checks only; hidden tests come at grading)")
    if result.status != "graded":
        lines.append(f"status: {result.status}")
    for error in result.cell_errors:
        lines.append(f"answer cell {error['cell']} raised {error['type']}: {error['message'][:200]}")
    for part in result.parts:
        if not part.passed:
            lines += ["", f"--- {part.grade_id} ---", *wrap(part.feedback.rstrip())]
    return "\n".join(lines)


def sandbox_available() -> bool:
    """Whether this machine can run the sandbox (POSIX process limits; not on Windows)."""
    return sys.platform != "win32" and all(importlib.util.find_spec(name) for name in ("fcntl", "resource"))


def check_notebook(path: Path, timeout_s: float = 300.0, sandboxed: bool | None = None) -> tuple[str, bool]:
    """The table for the notebook at ``path`` and whether every part passed.

    ``sandboxed`` defaults to whether the sandbox can run here; without it
    (Windows) the answer cells run in this process, which is only a
    preview: the table says so.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}")
    try:
        source = parse_source(path)
    except (ValueError, KeyError) as error:
        raise ValueError(f"{path} is not a dlcourse exercise notebook: {error}") from None
    sandboxed = sandbox_available() if sandboxed is None else sandboxed
    result = grade_notebook(source, path.read_bytes(), Limits(notebook_s=timeout_s), sandboxed=sandboxed)
    table = format_table(result)
    if not sandboxed:
        table += ("\n(no sandbox on this system: your answer cells ran in this process, so code that needs another "
                  "module than numpy is not caught here as it will be at grading)")
    return table, all(part.passed for part in result.parts)


__all__ = ["check_notebook", "format_table"]
