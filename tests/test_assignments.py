"""The nbgrader assignments: release without drift, full marks for solutions, zero for blanks, per-part credit.

For each assignment in solutions/, in a temporary course directory:

1. `nbgrader generate_assignment` must reproduce the committed exercises/ exactly;
2. `nbgrader autograde` of the solution notebooks gives every test cell its
   points, with no cell raising anywhere in the notebook (so the solution
   executes top to bottom);
3. the unmodified release scores 0 and autograding finishes;
4. each planted wrong submission (tests/assignments/planted_<notebook>.py)
   loses exactly the points of the part it breaks, and the failing test
   cell's output names the mistake;
5. ``dlcourse grade`` (sandboxed) gives every test cell of every one of these
   submissions the same score as nbgrader's in-notebook execution.

One test per assignment, so that xdist spreads assignments over the cores.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from assignments import load_planted, plant

from dlcourse.class_grading.demo import run_nbgrader

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
ASSIGNMENTS = sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir()) if SOLUTIONS.exists() else []


def cells_by_id(notebook: dict) -> dict[str, dict]:
    return {cell["metadata"].get("nbgrader", {}).get("grade_id", cell.get("id")): cell for cell in notebook["cells"]}


def test_assignments_exist():
    assert ASSIGNMENTS, "solutions/ holds no assignment"
    assert sorted(p.name for p in EXERCISES.iterdir() if p.is_dir()) == ASSIGNMENTS


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_assignment(assignment, tmp_path):
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(SOLUTIONS / assignment, course / "solutions" / assignment)
    notebooks = sorted(p.name for p in (SOLUTIONS / assignment).glob("*.ipynb"))
    assert notebooks

    # 1. the committed release is exactly what nbgrader makes from the sources
    run_nbgrader(["generate_assignment", assignment, "--force"], course)
    released = course / "exercises" / assignment
    assert sorted(p.name for p in released.iterdir()) == sorted(p.name for p in (EXERCISES / assignment).iterdir())
    for notebook in notebooks:
        made = json.loads((released / notebook).read_text())
        committed = json.loads((EXERCISES / assignment / notebook).read_text())
        assert made == committed, f"exercises/{assignment}/{notebook} drifted from solutions/: regenerate it"

    # 2-4. one autograde run over every kind of submission
    planted = load_planted(notebooks)
    submissions = {"solution": SOLUTIONS / assignment, "blank": released}
    for index, _ in enumerate(planted):
        submissions[f"planted{index}"] = SOLUTIONS / assignment
    for student, source in submissions.items():
        shutil.copytree(source, course / "submitted" / student / assignment)
    for index, entry in enumerate(planted):
        path = course / "submitted" / f"planted{index}" / assignment / entry["notebook"]
        path.write_text(json.dumps(plant(json.loads(path.read_text()), entry)))
    run_nbgrader(["autograde", assignment, "--force"], course)

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        test_cells = [
            (cell.name, notebook.name, cell.max_score)
            for notebook in gradebook.find_assignment(assignment).notebooks
            for cell in notebook.grade_cells
            if cell.cell_type == "code"
        ]
        assert test_cells, "no autograded test cells"

        def scores(student: str) -> dict[str, float]:
            return {
                name: gradebook.find_grade(name, notebook, assignment, student).score
                for name, notebook, _ in test_cells
            }

        full = {name: max_score for name, _, max_score in test_cells}
        assert scores("solution") == full
        assert set(scores("blank").values()) == {0.0}
        for index, entry in enumerate(planted):
            expected = {name: (0.0 if name in entry["zero"] else points) for name, points in full.items()}
            assert scores(f"planted{index}") == expected, f"planted bug {entry['name']!r}"
        in_notebook = {student: scores(student) for student in submissions}

    # no cell of the solution raised (explorations included), and feedback names each planted mistake
    for notebook in notebooks:
        graded = json.loads((course / "autograded" / "solution" / assignment / notebook).read_text())
        errors = [cell.get("id") for cell in graded["cells"] for out in cell.get("outputs", [])
                  if out["output_type"] == "error"]
        assert not errors, f"{notebook}: cells {errors} raised in the solution"
    for index, entry in enumerate(planted):
        graded = json.loads((course / "autograded" / f"planted{index}" / assignment / entry["notebook"]).read_text())
        cells = cells_by_id(graded)
        for name in entry["zero"]:
            text = "".join(
                out.get("evalue", "") + "".join(out.get("traceback", []))
                for out in cells[name].get("outputs", [])
                if out["output_type"] == "error"
            )
            assert entry["feedback"] in text, f"{entry['name']}: the feedback of {name} does not name the mistake"

    # 5. dlcourse grade (student code sandboxed, tests run outside it) gives every test cell the score the
    #    in-notebook test cells gave under nbgrader autograde
    from dlcourse.cli import main as dlcourse_main

    assert dlcourse_main(["grade", assignment, "--course", str(course), "--quiet", "--force"]) == 0
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        sandboxed = {student: {name: gradebook.find_grade(name, notebook, assignment, student).score
                               for name, notebook, _ in test_cells} for student in submissions}
    assert sandboxed == in_notebook


def test_notebooks_are_committed_without_outputs():
    for path in [*SOLUTIONS.rglob("*.ipynb"), *EXERCISES.rglob("*.ipynb")]:
        notebook = json.loads(path.read_text())
        with_output = [c.get("id") for c in notebook["cells"]
                       if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
        assert not with_output, (f"{path.relative_to(ROOT)}: cells {with_output} carry outputs; "
                                 "clear them before committing")
