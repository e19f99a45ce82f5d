"""A failed check in a notebook shows its feedback, not a traceback through dlcourse, and the cell still fails."""

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from dlcourse.grading import GradingError, check
from dlcourse.grading._display import WIDTH, feedback_lines, wrap


def relu_forgets_the_kink(x):
    return abs(x)


def failed_check() -> GradingError:
    with pytest.raises(GradingError) as info:
        check(relu_forgets_the_kink, against="activations.relu", quiet=True)
    return info.value


def test_wrapped_feedback_keeps_every_word_and_fits_the_width():
    error = failed_check()
    lines = feedback_lines(error)
    assert max(len(line) for line in lines[1:]) <= WIDTH
    assert " ".join(" ".join(lines[1:]).split()) == " ".join(str(error).split())
    assert lines[0].endswith("GradingError\x1b[0m: the check failed")


def test_wrap_keeps_short_lines_and_indents_continuations():
    assert wrap("short\n  also short") == ["short", "  also short"]
    wrapped = wrap("    " + "x" * 10 + " " + "y" * 95, width=40)
    assert wrapped == ["    " + "x" * 10, "      " + "y" * 95]  # a long word stays whole


NOTEBOOK_CELLS = [
    "from dlcourse.grading import check\n"
    "def relu(x):\n    return abs(x)\n"
    "def relu_right(x):\n    import numpy as np\n    return np.maximum(x, 0.0)",
    'check(relu, against="activations.relu")',
    'check(relu_right, against="activations.relu")',
]


def run(cells, allow_errors):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=allow_errors).execute()
    return notebook


@pytest.mark.slow
def test_in_a_kernel_the_cell_fails_with_the_feedback_alone():
    notebook = run(NOTEBOOK_CELLS, allow_errors=True)
    failed, passed = notebook.cells[1], notebook.cells[2]
    (error,) = [out for out in failed.outputs if out.output_type == "error"]
    assert error.ename == "GradingError"
    shown = "\n".join(error.traceback)
    assert "Likely cause:" in shown or "expected" in shown
    assert "dlcourse/" not in shown and "File " not in shown and ".py" not in shown  # no engine frames
    assert all(len(line) <= WIDTH for line in error.traceback[1:])
    # a passing check stays one line
    assert [out.output_type for out in passed.outputs] == ["stream"]
    assert passed.outputs[0].text.startswith("OK ") and passed.outputs[0].text.count("\n") == 1


@pytest.mark.slow
def test_the_cell_still_counts_as_failed():
    with pytest.raises(CellExecutionError, match="GradingError"):
        run(NOTEBOOK_CELLS[:2], allow_errors=False)
