"""Feedback from dlcourse grade and dlcourse check is wrapped: no line runs off nbgrader's feedback page."""

from dlcourse.class_grading.gradebook import _output_for
from dlcourse.class_grading.session import NotebookResult, PartResult
from dlcourse.class_grading.student import format_table
from dlcourse.grading._display import WIDTH

LONG_FEEDBACK = ("adam_step: trial 1 of 4 (visible checks) failed: a vector of 7 parameters, 20 steps.\n"
                 "Likely cause: Bias-correct both moments, m_hat = m / (1 - beta1**t) and v_hat = v / (1 - beta2**t), "
                 "before the update: m and v start at 0, so without it the first steps are wrong.")


def test_the_autograded_notebook_shows_wrapped_feedback():
    (error,) = _output_for({"output": "", "passed": False, "feedback": LONG_FEEDBACK})
    assert error["output_type"] == "error" and error["ename"] == "GradingError"
    assert max(len(line) for line in error["traceback"]) <= WIDTH
    assert " ".join(" ".join(error["traceback"]).split()) == " ".join(LONG_FEEDBACK.split())
    assert error["evalue"] == error["traceback"][0] and LONG_FEEDBACK.startswith(error["evalue"])


def test_dlcourse_check_prints_wrapped_feedback():
    part = PartResult(grade_id="adam_tests", score=0.0, max_score=2.0, passed=False, feedback=LONG_FEEDBACK)
    result = NotebookResult(notebook="ps3_optimizers", status="graded", max_score=2.0, parts=[part])
    table = format_table(result)
    feedback = table.split("--- adam_tests ---\n", 1)[1]
    assert max(len(line) for line in feedback.splitlines()) <= WIDTH
    assert "Likely cause: Bias-correct both moments" in feedback
