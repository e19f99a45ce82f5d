"""A failed check's figure reaches the autograded notebook (and nbgrader's feedback page), never the results JSON."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from dlcourse.class_grading import results
from dlcourse.class_grading.demo import make_course, run_nbgrader, submit
from dlcourse.class_grading.gradebook import _output_for
from dlcourse.class_grading.notebooks import parse_source
from dlcourse.class_grading.session import grade_notebook
from dlcourse.cli import main as dlcourse_main

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = NOTEBOOK = "ps3_optimizers"
PNG = b"\x89PNG\r\n\x1a\n"

WRONG_ADAM = '''
def adam_init(theta):
    return {"step": 0, "m": np.zeros_like(theta), "v": np.zeros_like(theta)}


def adam_step(theta, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    g = grad + weight_decay * theta
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    return theta - lr * m / (np.sqrt(v) + eps), {"step": state["step"] + 1, "m": m, "v": v}  # no bias correction
'''


def with_answer(notebook: dict, grade_id: str, source: str) -> dict:
    notebook = json.loads(json.dumps(notebook))
    for cell in notebook["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id:
            cell["source"] = source
    return notebook


def solution() -> dict:
    return json.loads((ROOT / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").read_text())


def test_the_autograded_output_is_the_feedback_then_the_figure():
    part = {"output": "", "passed": False, "feedback": "adam_step: trial 1 failed"}
    error, figure = _output_for(part, PNG + b"rest")
    assert error["output_type"] == "error"
    assert figure["output_type"] == "display_data" and figure["metadata"] == {}
    assert base64.b64decode(figure["data"]["image/png"]) == PNG + b"rest"
    assert [out["output_type"] for out in _output_for(part)] == ["error"]
    assert [out["output_type"] for out in _output_for(part | {"passed": True}, PNG)] == []


def test_figures_are_kept_beside_the_result_and_only_for_that_result(tmp_path):
    result = {"student": "ada", "assignment": ASSIGNMENT, "content_hash": "c1", "grader_version": "g1",
              "graded_at": "2026-12-01T10:00:00+00:00", "notebooks": []}
    results.write_result(tmp_path, result, {NOTEBOOK: {"adam_tests": PNG}, "other": {}})
    assert "figures" not in json.loads(results.result_path(tmp_path, ASSIGNMENT, "ada").read_text())
    assert results.read_figures(tmp_path, result) == {NOTEBOOK: {"adam_tests": PNG}}
    assert results.read_figures(tmp_path, result | {"graded_at": "2026-12-02T10:00:00+00:00"}) == {}  # stale
    results.write_result(tmp_path, result)  # graded again, nothing to draw: the old figures go
    assert not results.figures_path(tmp_path, ASSIGNMENT, "ada").exists()
    assert results.read_figures(tmp_path, result) == {}
    results.figures_path(tmp_path, ASSIGNMENT, "ada").write_text("{ damaged")
    assert results.read_figures(tmp_path, result) == {}


def test_a_graded_part_keeps_its_picture_out_of_the_json_and_draws_it():
    source = parse_source(ROOT / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb")
    data = json.dumps(with_answer(solution(), "adam", WRONG_ADAM)).encode()
    graded = grade_notebook(source, data)
    failed = [part for part in graded.parts if not part.passed]
    assert [part.grade_id for part in failed] == ["adam_tests"]
    assert failed[0].picture is not None and failed[0].picture.kind == "trajectory"
    stored = graded.as_dict()
    assert all("picture" not in part for part in stored["parts"])
    json.dumps(stored)  # plain JSON
    figures = graded.figures()
    assert list(figures) == ["adam_tests"] and figures["adam_tests"].startswith(PNG)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return make_course(tmp_path_factory.mktemp("figures") / "course", ROOT, [ASSIGNMENT])


def grade(course: Path) -> int:
    return dlcourse_main(["grade", ASSIGNMENT, "--course", str(course), "--quiet", "--workers", "1"])


@pytest.mark.slow
def test_dlcourse_grade_puts_the_figure_in_the_autograded_notebook_and_feedback(course):
    submit(course, ASSIGNMENT, "wrong_adam", {NOTEBOOK: json.dumps(with_answer(solution(), "adam", WRONG_ADAM))
                                              .encode()})
    submit(course, ASSIGNMENT, "right", {NOTEBOOK: json.dumps(solution()).encode()})
    assert grade(course) == 0
    result_file = course / "dlcourse_grades" / ASSIGNMENT / "results" / "wrong_adam.json"
    stored = json.loads(result_file.read_text())
    part = next(part for part in stored["notebooks"][0]["parts"] if part["grade_id"] == "adam_tests")
    assert not part["passed"] and "Likely cause" in part["feedback"]
    assert "image/png" not in result_file.read_text() and "iVBOR" not in result_file.read_text()  # text only
    assert not (course / "dlcourse_grades" / ASSIGNMENT / "figures" / "right.json").exists()

    def adam_outputs() -> list[dict]:
        notebook = json.loads((course / "autograded" / "wrong_adam" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").read_text())
        cell = next(cell for cell in notebook["cells"]
                    if cell["metadata"].get("nbgrader", {}).get("grade_id") == "adam_tests")
        return cell["outputs"]

    outputs = adam_outputs()
    assert [out["output_type"] for out in outputs] == ["error", "display_data"]
    assert base64.b64decode(outputs[1]["data"]["image/png"]).startswith(PNG)

    run_nbgrader(["generate_feedback", ASSIGNMENT], course)
    html = (course / "feedback" / "wrong_adam" / ASSIGNMENT / f"{NOTEBOOK}.html").read_text()
    assert "Likely cause" in html and "data:image/png;base64," in html

    # a re-run reuses the result and its figure; a corrected submission loses it
    assert grade(course) == 0
    assert adam_outputs() == outputs
    shutil.copy(ROOT / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb",
                course / "submitted" / "wrong_adam" / ASSIGNMENT / f"{NOTEBOOK}.ipynb")
    assert grade(course) == 0
    assert [out["output_type"] for out in adam_outputs()] == ["stream"]  # the OK lines
    assert not (course / "dlcourse_grades" / ASSIGNMENT / "figures" / "wrong_adam.json").exists()

