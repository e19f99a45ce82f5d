"""Regrades that show what changed: mistake ids in the results, ``changes.json`` / ``changes.txt``, ``--dry-run``."""
# ruff: noqa: F811  (the course fixtures are test_batch's, imported: the tests' ``course`` argument is that fixture)

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from assignments import load_planted, plant

from class_grading.helpers import fingerprint
from class_grading.test_batch import ASSIGNMENT, NOTEBOOK, course, grade, results, template  # noqa: F401
from dlcourse.class_grading.changes import ChangeList, compare
from dlcourse.grading.registry import get_target, targets


def _mistake_named_by(feedback_line: str) -> str:
    """The mistake id whose diagnosis is ``feedback_line`` ("Likely cause: ..."), found in the checks' catalogue."""
    message = feedback_line.removeprefix("Likely cause: ")
    (name,) = {mistake.name for target in targets() for mistake in get_target(target).mistakes
               if mistake.message == message}
    return name


def _parts(result: dict) -> dict[str, dict]:
    return {part["grade_id"]: part for notebook in result["notebooks"] for part in notebook["parts"]}


def _changes(course: Path) -> dict:
    return json.loads((course / "dlcourse_grades" / ASSIGNMENT / "changes.json").read_text())


def _submit_notebook(course: Path, student: str, notebook: dict) -> None:
    (course / "submitted" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb").write_text(json.dumps(notebook))


@pytest.mark.slow
def test_results_store_the_mistake_id_of_each_failed_part(course):
    assert grade(course) == 0
    planted = load_planted([f"{NOTEBOOK}.ipynb"])[1]  # what test_batch's template planted for "planted"
    found = results(course)
    parts = _parts(found["planted"])
    for grade_id, part in parts.items():
        if grade_id in planted["zero"]:
            assert part["mistake"] == _mistake_named_by(planted["feedback"])
        else:
            assert part["passed"] and part["mistake"] is None
    assert all(part["mistake"] is None for student, result in found.items() if student.endswith("_correct")
               for part in _parts(result).values())
    first = _changes(course)
    assert first["first_time"] == len(found) and first["changed"] == [] and first["unchanged"] == 0


@pytest.mark.slow
def test_regrade_lists_exactly_the_students_and_parts_that_changed(course, capsys):
    assert grade(course) == 0
    before = results(course)
    solution = json.loads((course / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").read_text())
    swapped = load_planted([f"{NOTEBOOK}.ipynb"])[0]
    blank = next(student for student in before if student.endswith("_blank"))
    _submit_notebook(course, "planted", solution)  # its planted mistake fixed
    _submit_notebook(course, blank, plant(copy.deepcopy(solution), swapped))  # all but one part now right
    capsys.readouterr()
    assert grade(course) == 0
    out = capsys.readouterr().out
    after = results(course)
    assert "2 score(s) changed" in out and f"planted {before['planted']['score']:g} -> 18" in out

    changes = _changes(course)
    assert changes["first_time"] == 0 and changes["unchanged"] == 0 and not changes["dry_run"]
    assert [change["student"] for change in changes["changed"]] == sorted([blank, "planted"])
    for change in changes["changed"]:
        old, new = before[change["student"]], after[change["student"]]
        assert (change["old_score"], change["new_score"]) == (old["score"], new["score"])
        old_parts, new_parts = _parts(old), _parts(new)
        expected = {grade_id: (old_parts[grade_id]["score"], new_parts[grade_id]["score"],
                               old_parts[grade_id]["mistake"], new_parts[grade_id]["mistake"])
                    for grade_id in old_parts
                    if (old_parts[grade_id]["score"], old_parts[grade_id]["mistake"])
                    != (new_parts[grade_id]["score"], new_parts[grade_id]["mistake"])}
        assert {part["grade_id"]: (part["old_score"], part["new_score"], part["old_mistake"], part["new_mistake"])
                for part in change["parts"]} == expected
    by_student = {change["student"]: {part["grade_id"]: part for part in change["parts"]}
                  for change in changes["changed"]}
    fixed = by_student["planted"][load_planted([f"{NOTEBOOK}.ipynb"])[1]["zero"][0]]
    assert fixed["old_mistake"] == _mistake_named_by(load_planted([f"{NOTEBOOK}.ipynb"])[1]["feedback"])
    assert fixed["new_mistake"] is None and fixed["new_score"] == fixed["old_score"] + _parts(after["planted"])[
        fixed["grade_id"]]["max_score"]
    broken = by_student[blank][swapped["zero"][0]]
    assert broken["new_mistake"] == _mistake_named_by(swapped["feedback"]) and broken["new_score"] == 0.0
    assert swapped["zero"][0] not in {grade_id for grade_id, part in by_student[blank].items()
                                      if part["new_score"] > 0}
    text = (course / "dlcourse_grades" / ASSIGNMENT / "changes.txt").read_text()
    assert f"mistake {fixed['old_mistake']} -> -" in text and f"{blank}: 0 -> {after[blank]['score']:g}" in text

    # graded again with nothing changed: every score the same, no change
    assert grade(course, "--force") == 0
    assert "0 score(s) changed" in capsys.readouterr().out
    again = _changes(course)
    assert again["changed"] == [] and again["unchanged"] == len(after) and again["first_time"] == 0


@pytest.mark.slow
def test_a_stricter_check_in_the_notebook_lists_everyone_it_fails(course, capsys):
    assert grade(course) == 0
    before = results(course)
    source = course / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    notebook = json.loads(source.read_text())
    (cell,) = [cell for cell in notebook["cells"]
               if cell["metadata"].get("nbgrader", {}).get("grade_id") == "gates_tests"]
    cell["source"] = "".join(cell["source"]) + ("\nfrom dlcourse.grading import GradingError\n"
                                                 "raise GradingError('stricter now', mistake='stricter_gates')\n")
    source.write_text(json.dumps(notebook))  # a new grader version: every submission is graded again, no --force
    capsys.readouterr()
    assert grade(course) == 0
    after = results(course)
    earned = {student for student, result in before.items() if _parts(result)["gates_tests"]["score"] > 0}
    assert earned and len(earned) < len(before)
    changes = _changes(course)
    assert [change["student"] for change in changes["changed"]] == sorted(earned)
    assert changes["unchanged"] == len(before) - len(earned) and changes["first_time"] == 0
    for change in changes["changed"]:
        (part,) = change["parts"]
        old, new = _parts(before[change["student"]])["gates_tests"], _parts(after[change["student"]])["gates_tests"]
        assert (part["grade_id"], part["old_mistake"], part["new_mistake"]) == ("gates_tests", None, "stricter_gates")
        assert (part["old_score"], part["new_score"]) == (old["score"], new["score"]) == (old["max_score"], 0.0)
        assert change["new_score"] == change["old_score"] - old["max_score"]
    assert f"{len(earned)} score(s) changed" in capsys.readouterr().out


@pytest.mark.slow
def test_dry_run_grades_and_reports_but_writes_nothing(course, capsys):
    assert grade(course) == 0
    outputs = ("dlcourse_grades", "autograded", "gradebook.db")
    snapshot = {name: fingerprint(course / name) if (course / name).is_dir() else (course / name).read_bytes()
                for name in outputs}
    before = results(course)
    blank = next(student for student in before if student.endswith("_blank"))
    solution = json.loads((course / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").read_text())
    _submit_notebook(course, blank, solution)
    capsys.readouterr()
    assert grade(course, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "1 score(s) changed (dry run: nothing written)" in out and f"{blank} 0 -> 18" in out
    assert {name: fingerprint(course / name) if (course / name).is_dir() else (course / name).read_bytes()
            for name in outputs} == snapshot
    assert grade(course, "merge", "--dry-run") == 2
    # the real run then finds the same change
    assert grade(course) == 0
    assert [(change["student"], change["new_score"]) for change in _changes(course)["changed"]] == [(blank, 18.0)]


def test_compare_and_change_list_from_results():
    def result(student: str, scores: dict[str, tuple[float, str | None]]) -> dict:
        parts = [{"grade_id": grade_id, "score": score, "mistake": mistake, "max_score": 2.0}
                 for grade_id, (score, mistake) in scores.items()]
        return {"student": student, "score": sum(score for score, _ in scores.values()),
                "notebooks": [{"notebook": "nb", "parts": parts}]}

    old = result("s001", {"a": (2.0, None), "b": (0.0, "adam_no_bias_correction"), "c": (0.0, "x")})
    new = result("s001", {"a": (2.0, None), "b": (2.0, None), "c": (0.0, "y")})
    change = compare(old, new)
    assert change is not None and (change.old_score, change.new_score) == (2.0, 4.0)
    assert [(part.grade_id, part.old_mistake, part.new_mistake) for part in change.parts] == \
           [("b", "adam_no_bias_correction", None), ("c", "x", "y")]
    assert change.text() == "s001 2 -> 4 (b: adam_no_bias_correction -> passed; c: x -> y)"
    assert compare(old, result("s001", {"a": (0.0, "z"), "b": (2.0, None)})) is None  # same total: no change
    changes = ChangeList("ps")
    changes.add(None, new)
    changes.add(old, new)
    assert (changes.first_time, len(changes.changed), changes.unchanged) == (1, 1, 0)
    assert changes.summary().startswith("1 score(s) changed: s001 2 -> 4")
    with pytest.raises(TypeError, match="old"):
        compare(None, new)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="different students"):
        compare(old, result("s002", {}))
