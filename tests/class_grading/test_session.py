"""Grading one notebook the sandboxed way (dlcourse.class_grading.session): solutions, blanks, planted bugs, odd ones.

These call ``grade_notebook`` directly on the repository's notebooks (no
nbgrader, no course directory); ``test_batch.py`` covers the command.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from assignments import load_planted, plant

from dlcourse.class_grading.environment import Limits, needs_torch
from dlcourse.class_grading.notebooks import parse_source, solution_cells
from dlcourse.class_grading.session import grade_notebook
from dlcourse.class_grading.workers import SparePool

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "solutions").glob("*/*.ipynb"))
FAST = Limits(cell_s=20, notebook_s=120)


def source_of(name: str):
    return parse_source(next(path for path in SOURCES if path.stem == name))


def release_of(source) -> bytes:
    return (ROOT / "exercises" / source.path.parent.name / source.path.name).read_bytes()


def edited(source, **replacements: str) -> bytes:
    """The solution notebook with answer cells (by grade id) replaced."""
    notebook = copy.deepcopy(source.notebook)
    for cell in notebook["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in replacements:
            cell["source"] = replacements[grade_id]
    return json.dumps(notebook).encode()


def scores(result) -> dict[str, float]:
    return {part.grade_id: part.score for part in result.parts}


@pytest.mark.slow
@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.stem)
def test_solution_full_marks_release_zero(path):
    source = parse_source(path)
    solved = grade_notebook(source, path.read_bytes(), FAST)
    assert solved.status == "graded"
    assert solved.cell_errors == []
    failed = {part.grade_id: part.feedback[:400] for part in solved.parts if not part.passed}
    assert not failed
    assert solved.score == solved.max_score == source.max_points > 0
    assert all(part.output for part in solved.parts), "every passing check prints its success line"
    blank = grade_notebook(source, release_of(source), FAST)
    assert blank.status == "graded"
    assert blank.score == 0.0
    assert all(part.feedback for part in blank.parts)


PLANTED = [(path, entry) for path in SOURCES for entry in load_planted([path.name])]


@pytest.mark.slow
@pytest.mark.parametrize("path,entry", PLANTED, ids=[entry["name"] for _, entry in PLANTED])
def test_planted_bug_loses_exactly_its_part(path, entry):
    source = parse_source(path)
    notebook = plant(json.loads(path.read_text()), entry)
    result = grade_notebook(source, json.dumps(notebook).encode(), FAST)
    expected = {test.grade_id: 0.0 if test.grade_id in entry["zero"] else test.points for test in source.tests}
    assert scores(result) == expected
    for part in result.parts:
        if part.grade_id in entry["zero"]:
            assert entry["feedback"] in part.feedback


def test_only_ps5_debugging_gets_torch():
    assert {source.name for source in map(parse_source, SOURCES) if needs_torch(source)} == {"ps5_debugging"}


def test_missing_and_unreadable_notebooks_have_a_status():
    source = source_of("ps1_backprop")
    missing = grade_notebook(source, None, FAST)
    assert missing.status == "missing" and missing.score == 0
    assert all("not submitted" in part.feedback for part in missing.parts)
    for data, words in [(b"{broken", "not valid notebook JSON"), (b"", "empty"), (b'{"cells": 3}', "not a notebook"),
                        (b"\xff\xfe", "not valid notebook JSON")]:
        result = grade_notebook(source, data, FAST)
        assert result.status == "unreadable" and result.score == 0
        assert words in result.parts[0].feedback


def test_an_error_in_one_answer_cell_costs_only_its_parts():
    source = source_of("ps1_backprop")
    result = grade_notebook(source, edited(source, linear="raise ValueError('half-finished')"), FAST)
    assert [(error["cell"], error["type"]) for error in result.cell_errors] == [("linear", "ValueError")]
    lost = {grade_id for grade_id, score in scores(result).items() if score == 0}
    assert lost == {"linear_tests"}
    linear = next(part for part in result.parts if part.grade_id == "linear_tests")
    assert "linear_forward" in linear.feedback


def test_student_definitions_never_replace_the_graders_names():
    # a solution cell that defines its own `check` (and shadows a builtin) changes nothing in the test cells
    source = source_of("ps1_backprop")
    sneaky = "def check(*args, **kwargs):\n    return None\n\n\ndef len(x):\n    return 0\n\n\n"
    wrong_mse = "\n\ndef mse_loss(pred, target):\n    return 0.0\n"
    cells = dict(solution_cells(source.notebook, source))
    result = grade_notebook(source, edited(source, losses=sneaky + cells["losses"] + wrong_mse), FAST)
    losses = next(part for part in result.parts if part.grade_id == "losses_tests")
    assert not losses.passed
    assert "mse_loss" in losses.feedback


def test_variables_of_answer_cells_reach_the_tests():
    source = source_of("ps2_activations_init")
    cells = dict(solution_cells(source.notebook, source))
    wrong = cells["spread_conclusion"].replace('"relu_steady_init": "he_normal"', '"relu_steady_init": "xavier_normal"')
    assert wrong != cells["spread_conclusion"]
    result = grade_notebook(source, edited(source, spread_conclusion=wrong), FAST)
    assert {grade_id for grade_id, score in scores(result).items() if score == 0} == {"spread_conclusion_tests"}


BATCHNORM_WITH_OWN_CACHE = '''
import collections

Cache = collections.namedtuple("Cache", "x_hat inv_std gamma training")


class Saved:
    """A cache object the protocol cannot carry: it stays in the sandbox as a handle."""

    def __init__(self, **parts):
        self.__dict__.update(parts)


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    n = x.shape[0]
    if training:
        mean, var = x.mean(axis=0), x.var(axis=0)
        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var = (1 - momentum) * running_var + momentum * var * n / (n - 1)
    else:
        mean, var = running_mean, running_var
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    return gamma * x_hat + beta, Saved(parts=Cache(x_hat, inv_std, gamma, training)), running_mean, running_var
'''
BATCHNORM_BACKWARD_OWN_CACHE = '''
def batchnorm_backward(dout, cache):
    x_hat, inv_std, gamma = cache.parts.x_hat, cache.parts.inv_std, cache.parts.gamma
    n = dout.shape[0]
    dgamma = (dout * x_hat).sum(axis=0)
    dbeta = dout.sum(axis=0)
    dx_hat = dout * gamma
    if not cache.parts.training:  # running statistics are constants
        return dx_hat * inv_std, dgamma, dbeta
    dx = inv_std / n * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))
    return dx, dgamma, dbeta
'''


def test_cache_objects_stay_in_the_sandbox_as_handles():
    source = source_of("ps4_normalization")
    result = grade_notebook(source, edited(source, batchnorm_forward=BATCHNORM_WITH_OWN_CACHE,
                                           batchnorm_backward=BATCHNORM_BACKWARD_OWN_CACHE), FAST)
    batchnorm = {part.grade_id: part for part in result.parts if part.grade_id.startswith("batchnorm")}
    assert all(part.passed for part in batchnorm.values()), [part.feedback[:300] for part in batchnorm.values()]


def test_code_outside_answer_cells_is_not_run():
    # a helper defined in a cell the student added is not part of the submission the grader runs
    source = source_of("ps3_optimizers")
    notebook = json.loads(edited(source, sgd="def sgd_init(theta):\n    return {}\n\n"
                                             "def sgd_step(theta, grad, state, lr=1e-3, weight_decay=0.0):\n"
                                             "    return helper(theta, grad, lr, weight_decay), state\n"))
    notebook["cells"].insert(1, {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                                 "source": "def helper(theta, grad, lr, wd):\n"
                                           "    return theta - lr * (grad + wd * theta)\n"})
    result = grade_notebook(source, json.dumps(notebook).encode(), FAST)
    sgd = next(part for part in result.parts if part.grade_id == "sgd_tests")
    assert not sgd.passed and "helper" in sgd.feedback


@pytest.mark.slow
def test_a_cell_that_kills_or_hangs_the_worker_costs_only_its_parts():
    source = source_of("ps1_backprop")
    cells = dict(solution_cells(source.notebook, source))
    hang = ("import signal\nsignal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})\n"
            "while True:\n    pass\n")
    result = grade_notebook(source, edited(source, linear=cells["linear"] + "\nimport os\nos._exit(1)\n",
                                           softmax_ce=cells["softmax_ce"] + "\n" + hang),
                            Limits(cell_s=2, notebook_s=60))
    assert result.status == "graded"
    stopped = {error["cell"]: error["message"] for error in result.cell_errors if error["type"] == "WorkerStopped"}
    assert set(stopped) == {"linear", "softmax_ce"}
    assert "did not finish" in stopped["softmax_ce"] and "stopped the worker" in stopped["linear"]
    lost = {grade_id for grade_id, score in scores(result).items() if score == 0}
    assert lost == {"linear_tests", "softmax_ce_tests"}


def test_a_function_that_kills_the_worker_costs_only_its_part():
    source = source_of("ps1_backprop")
    killer = "def worked_example(x1, x2):\n    import os\n    os._exit(3)\n"
    result = grade_notebook(source, edited(source, worked_example=killer), FAST)
    assert result.status == "graded"
    lost = {grade_id for grade_id, score in scores(result).items() if score == 0}
    assert lost == {"worked_example_tests"}
    part = next(part for part in result.parts if part.grade_id == "worked_example_tests")
    assert "stopped the grading process" in part.feedback or "exited" in part.feedback


def test_sandboxes_started_ahead_carry_nothing_from_the_previous_student():
    source = source_of("ps1_backprop")
    cells = dict(solution_cells(source.notebook, source))
    first = cells["gates"] + "\nSECRET = 'from the first student'\nopen('/tmp/secret.txt', 'w').write(SECRET)\n"
    probe = ("\nimport os\nprint('SECRET' in globals(), os.path.exists('/tmp/secret.txt'), "
             "os.path.exists('secret.txt'))\n")
    with SparePool() as spares:
        grade_notebook(source, edited(source, gates=first), FAST, spares=spares)
        assert len(spares) == 1, "a sandbox was started ahead"
        second = grade_notebook(source, edited(source, gates=cells["gates"] + probe), FAST, spares=spares)
        assert second.score == source.max_points
        assert "False False False" in second.printed
    assert len(spares) == 0
