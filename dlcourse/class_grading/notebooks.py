"""Reading assignments: the instructor's source notebooks and a student's submitted one.

Only the instructor's notebooks say what is graded: their solution cells
(by nbgrader grade id), their test cells (grade id, points, source with the
hidden tests) and their setup cells (the code cells before the first
solution cell: imports and data the exercise provides).  From a submission
the grader takes nothing but the sources of the cells carrying those
solution grade ids; every other cell (the student's copies of the tests,
cells the student added) is ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024


class Unreadable(Exception):
    """A submitted notebook that is not a readable Jupyter notebook (the message says why)."""


@dataclass(frozen=True)
class TestCell:
    grade_id: str
    points: float
    source: str


@dataclass
class SourceNotebook:
    """One notebook of an assignment as the instructor wrote it."""

    name: str  # file stem, as nbgrader names notebooks
    path: Path
    setup: list[str] = field(default_factory=list)
    solution_ids: list[str] = field(default_factory=list)
    tests: list[TestCell] = field(default_factory=list)
    notebook: dict[str, Any] = field(default_factory=dict)

    @property
    def max_points(self) -> float:
        return float(sum(test.points for test in self.tests))


def cell_source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def nbgrader_metadata(cell: dict[str, Any]) -> dict[str, Any]:
    metadata = cell.get("metadata")
    info = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return info if isinstance(info, dict) else {}


def parse_source(path: Path) -> SourceNotebook:
    """The graded structure of an instructor notebook (raises ValueError if it has no test cells)."""
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    result = SourceNotebook(name=Path(path).stem, path=Path(path), notebook=notebook)
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        info = nbgrader_metadata(cell)
        if info.get("solution"):
            result.solution_ids.append(str(info["grade_id"]))
        elif info.get("grade"):
            result.tests.append(TestCell(str(info["grade_id"]), float(info.get("points") or 0), cell_source(cell)))
        elif not result.solution_ids:
            result.setup.append(cell_source(cell))
    if not result.tests:
        raise ValueError(f"{path} has no nbgrader test cells (cells with 'grade': true)")
    return result


def source_notebooks(course: Path, assignment: str, source_dir: str = "solutions") -> list[SourceNotebook]:
    """Every graded notebook of ``assignment`` under ``course/source_dir/assignment``, sorted by name."""
    folder = Path(course) / source_dir / assignment
    if not folder.is_dir():
        raise FileNotFoundError(f"no source assignment {assignment!r}: {folder} is not a directory")
    notebooks = [parse_source(path) for path in sorted(folder.glob("*.ipynb"))]
    if not notebooks:
        raise FileNotFoundError(f"{folder} holds no notebooks")
    return notebooks


def read_submission(data: bytes) -> dict[str, Any]:
    """A submitted notebook's JSON, or :class:`Unreadable` with the reason."""
    if not data:
        raise Unreadable(f"the file is empty (or larger than the {MAX_NOTEBOOK_BYTES / 1e6:.0f} MB limit)")
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise Unreadable(f"the notebook is {len(data) / 1e6:.1f} MB, more than the {MAX_NOTEBOOK_BYTES / 1e6:.0f} MB "
                         f"limit")
    try:
        notebook = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise Unreadable(f"the file is not valid notebook JSON ({error})") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise Unreadable("the file is JSON but not a notebook (no list of cells)")
    return notebook


def solution_cells(notebook: dict[str, Any], source: SourceNotebook) -> list[tuple[str, str]]:
    """``(grade_id, source)`` of the submission's solution cells, in the source notebook's order.

    A grade id missing from the submission is left out (the integrity
    report flags it); if it appears twice, the first code cell counts.
    """
    found: dict[str, str] = {}
    for cell in notebook["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        grade_id = nbgrader_metadata(cell).get("grade_id")
        if isinstance(grade_id, str) and grade_id in source.solution_ids and grade_id not in found:
            found[grade_id] = cell_source(cell)
    return [(grade_id, found[grade_id]) for grade_id in source.solution_ids if grade_id in found]


__all__ = ["MAX_NOTEBOOK_BYTES", "SourceNotebook", "TestCell", "Unreadable", "cell_source", "nbgrader_metadata",
           "parse_source", "read_submission", "solution_cells", "source_notebooks"]
