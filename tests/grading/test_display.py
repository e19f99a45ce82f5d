"""A failed check in a notebook shows its feedback, not a traceback through dlcourse, and the cell still fails;
under the feedback, the check's picture when it has one."""

import base64

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


PICTURE_CELLS = [
    "import numpy as np\n"
    "from dlcourse.grading import GradingError, check\n"
    "def adam_init(theta):\n"
    "    return {'m': np.zeros_like(theta), 'v': np.zeros_like(theta)}\n"
    "def adam_step(theta, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):\n"
    "    grad = grad + weight_decay * theta\n"
    "    m = betas[0] * state['m'] + (1 - betas[0]) * grad\n"
    "    v = betas[1] * state['v'] + (1 - betas[1]) * grad**2\n"
    "    return theta - lr * m / (np.sqrt(v) + eps), {'m': m, 'v': v}  # no bias correction",
    'check(adam_step, adam_init, against="optim.adam")',
    'check(lambda x: None, against="activations.relu")',  # a contract problem: no picture
    'raise GradingError("the feedback stands alone", picture=object())',  # a picture that cannot be drawn
]


@pytest.mark.slow
def test_a_failed_check_shows_its_picture_under_the_feedback():
    notebook = run(PICTURE_CELLS, allow_errors=True)
    trajectory, contract, undrawable = notebook.cells[1:]
    assert [out.output_type for out in trajectory.outputs] == ["error", "display_data"]  # the text first
    assert trajectory.outputs[0].ename == "GradingError"
    assert "Likely cause" in "\n".join(trajectory.outputs[0].traceback)
    image = base64.b64decode(trajectory.outputs[1].data["image/png"])
    assert image.startswith(b"\x89PNG") and len(image) < 60_000
    assert [out.output_type for out in contract.outputs] == ["error"]
    assert [out.output_type for out in undrawable.outputs] == ["error"]
    assert "the feedback stands alone" in "\n".join(undrawable.outputs[0].traceback)


@pytest.mark.slow
def test_nbgrader_validate_reports_the_cell_failed_and_shows_the_whole_feedback(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    def cell(source, **nbgrader):
        made = nbformat.v4.new_code_cell(source)
        made.metadata["nbgrader"] = {"schema_version": 3, "locked": False, "solution": False, "grade": False,
                                     "task": False, **nbgrader}
        return made

    notebook = nbformat.v4.new_notebook(cells=[
        cell("def relu(x):\n    return abs(x)", solution=True, grade_id="answer"),
        cell('from dlcourse.grading import check\ncheck(relu, against="activations.relu")', grade=True,
             grade_id="test", points=1, locked=True),
    ])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, tmp_path / "wrong.ipynb")
    bin_dir = str(Path(sys.executable).parent)  # nbgrader runs alembic by name
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
    done = subprocess.run([os.path.join(bin_dir, "nbgrader"), "validate", "wrong.ipynb"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    shown = done.stdout
    assert "VALIDATION FAILED ON 1 CELL(S)!" in shown
    assert "Likely cause: ReLU is max(0, x); you returned |x|." in shown
    assert "dlcourse/grading" not in shown and "Traceback" not in shown
    assert not [line for line in shown.splitlines() if line.endswith("...")]  # Validate cut no line short
