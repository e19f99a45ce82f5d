"""Integrity flags: red flags in code, near copies of the reference, edited or missing cells."""

import copy
import inspect
import json

import pytest

from dlcourse.class_grading.integrity import code_flags, integrity_report, near_copies, structure_flags, summarize
from dlcourse.optim import adam


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import dlcourse.optim as o\n", "imports dlcourse.optim"),
        ("from torch import nn\n", "imports torch"),
        ("import os\nos.system('ls')\n", "imports os"),
        ("x = eval('1+1')\n", "calls eval()"),
        ("f = open('/etc/passwd')\n", "calls open()"),
        ("import sys\nsys._getframe(1).f_globals['check'] = None\n", "uses ._getframe"),
        ("get_ipython().input_transformers_cleanup.append(lambda l: l)\n", "uses .input_transformers_cleanup"),
        ("().__class__.__bases__[0].__subclasses__()\n", "uses .__subclasses__"),
        ("!cat ../../gradebook.db\nx = 1\n", "magic or shell command: !cat"),
        ("def f(:\n", "does not parse as Python"),
        ("import importlib\nm = importlib.import_module('dl' + 'course')\n", "imports importlib"),
    ],
)
def test_code_red_flags(source, expected):
    details = [flag.detail for flag in code_flags(source, "adam")]
    assert any(expected in detail for detail in details), details


def test_plain_numpy_code_raises_no_flag():
    source = "import numpy as np\nimport math\n\ndef relu(x):\n    return np.maximum(x, 0.0) * math.sqrt(1.0)\n"
    assert code_flags(source) == []


def test_a_renamed_copy_of_the_reference_is_found():
    copied = inspect.getsource(adam.nadam_step)
    for old, new in [("nadam_step", "my_step"), ("theta", "w"), ("grad", "g"), ("state", "s"), ("beta1", "b1")]:
        copied = copied.replace(old, new)
    flags = near_copies(copied, "nadam")
    assert flags and "dlcourse.optim.adam.nadam_step" in flags[0].detail


def test_an_independent_solution_is_not_a_copy():
    own = '''
def adam_step(theta, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    t = state["t"] + 1
    if weight_decay:
        grad = grad + weight_decay * theta
    m = beta1 * state["m"] + (1 - beta1) * grad
    v = beta2 * state["v"] + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    new_theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return new_theta, {"t": t, "m": m, "v": v}
'''
    assert near_copies(own) == []


def _notebook(cells):
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def _cell(grade_id, source, **meta):
    return {"cell_type": "code", "source": source, "metadata": {"nbgrader": {"grade_id": grade_id, **meta}}}


SOURCE = _notebook([
    _cell("intro", "read me", locked=True, solution=False, grade=False),
    _cell("relu", "def relu(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION", solution=True,
          locked=False),
    _cell("relu_tests", "check(relu)\n### BEGIN HIDDEN TESTS\ncheck(relu, hidden=True)\n### END HIDDEN TESTS",
          grade=True, locked=True, solution=False, points=1),
])


def test_structure_of_an_honest_submission_is_clean():
    submission = copy.deepcopy(SOURCE)
    submission["cells"][2]["source"] = "check(relu)"  # the release, without hidden tests
    submission["cells"][1]["source"] = "def relu(x):\n    return max(x, 0)"
    assert structure_flags(submission, SOURCE) == []


def test_deleted_edited_and_duplicated_cells_are_flagged():
    submission = copy.deepcopy(SOURCE)
    submission["cells"][2]["source"] = "pass"  # edited test
    submission["cells"].append(copy.deepcopy(submission["cells"][1]))  # duplicated answer
    del submission["cells"][0]  # deleted read-only cell
    details = {(flag.cell, flag.detail) for flag in structure_flags(submission, SOURCE)}
    assert ("relu_tests", "read-only cell was edited") in details
    assert ("relu", "cell appears 2 times") in details
    assert ("intro", "read-only cell was deleted") in details


def test_report_on_files_and_unreadable_notebooks(tmp_path):
    source = tmp_path / "source.ipynb"
    source.write_text(json.dumps(SOURCE))
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    flags = integrity_report(broken, source)
    assert len(flags) == 1 and "cannot be read" in flags[0].detail
    submission = copy.deepcopy(SOURCE)
    submission["cells"][1]["source"] = "import dlcourse\ndef relu(x):\n    return dlcourse.activations.relu(x)"
    submission["cells"][2]["source"] = "check(relu)"
    path = tmp_path / "sub.ipynb"
    path.write_text(json.dumps(submission))
    text = summarize(integrity_report(path, source))
    assert "[code] relu: imports dlcourse" in text


def test_reaching_into_the_sandbox_modules_is_flagged():
    from dlcourse.class_grading.integrity import code_flags
    from dlcourse.sandbox.isolation import WORKER_MODULES

    for module in WORKER_MODULES:
        name = module.removesuffix(".py")
        flags = code_flags(f"import {name}\n{name}.anything = None\n", "cell")
        assert any("sandbox's own code" in flag.detail for flag in flags), name


def test_near_copies_are_sought_in_the_answer_key_of_every_check():
    from dlcourse.class_grading.integrity import answer_key_modules
    from dlcourse.grading import get_target

    modules = answer_key_modules()
    assert get_target("optim.adam").reference[0].__module__ in modules
    assert {"dlcourse.optim.adam", "dlcourse.norm.batchnorm", "dlcourse.losses", "dlcourse.backprop.gates"} <= set(
        modules)
    # the lectures' experiments are no exercise's answer: comparing every submission with them costs time
    assert not {"dlcourse.training", "dlcourse.landscape", "dlcourse.stacked"} & set(modules)
