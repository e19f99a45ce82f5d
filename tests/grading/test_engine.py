"""The engine itself: contract feedback, integrity (purity, forbidden code, time limit), registry errors.

Uses the activation targets as the vehicle: they are the simplest to call.
"""

import dataclasses
import importlib
import pickle
import threading
import time

import numpy as np
import pytest

from dlcourse.grading import GradingError, check, get_target
from dlcourse.grading._core import run_check
from dlcourse.grading._guard import guarded_call, is_forbidden
from dlcourse.grading._report import contract_problem
from grading.helpers import assert_rejected


def relu(x):
    return np.maximum(x, 0.0)


def test_passing_prints_one_line(capsys):
    assert check(relu, against="activations.relu") is None  # printed once, not echoed again by the notebook
    line = capsys.readouterr().out.strip()
    assert line.startswith("OK relu: ") and "visible trials" in line and "largest relative error" in line
    assert "\n" not in line
    quiet_line = check(relu, against="activations.relu", quiet=True)
    assert quiet_line.startswith("OK relu: 4 visible trials")


def test_hidden_mode_runs_more_trials_with_other_seeds():
    visible = check(relu, against="activations.relu", quiet=True)
    hidden = check(relu, against="activations.relu", hidden=True, quiet=True)
    count = lambda line: int(line.split(": ")[1].split()[0])  # noqa: E731
    assert count(hidden) > count(visible)


@pytest.mark.parametrize(
    ("fn", "match"),
    [
        (lambda x: None, "should be a numpy array of shape"),
        (lambda x: np.maximum(x, 0)[..., None], "has shape"),
        (lambda x: (np.maximum(x, 0), x), "should be a numpy array"),
        (lambda x: np.maximum(x, 0).astype(int), "should be a floating-point array"),
        (lambda x: np.where(x > 0, x, np.nan), "contains nan"),
        (lambda x: 1 / 0, "raised ZeroDivisionError: division by zero"),
    ],
)
def test_contract_failures_are_explained(fn, match):
    message = assert_rejected([fn], "activations.relu", match=match)
    assert "trial 1 of" in message and "inputs: x =" in message


@pytest.mark.parametrize(("obtained", "expected", "hint"), [
    ((1, 4), (4,), ": sum(axis=0, keepdims=True) keeps a leading axis of size 1: drop keepdims or reshape"),
    ((4, 1), (4,), ": sum(axis=1, keepdims=True) keeps a trailing axis of size 1: drop keepdims or reshape"),
    ((3, 1, 5), (3, 5), ": sum(axis=1, keepdims=True) keeps axis 1 of size 1: drop keepdims or reshape"),
    ((1, 1, 4), (4,), ": keepdims=True (or an added axis) left 2 axes of size 1: drop keepdims or reshape to (4,)"),
    ((5, 3), (3, 5), ": transposed? (check the order of the matrix product / .T)"),
    ((2, 4), (4,), " (numpy broadcasting may have added an axis: check keepdims and the shapes you add)"),
    ((12,), (3, 4), ""),
])
def test_a_wrong_shape_names_its_likely_cause(obtained, expected, hint):
    problem = contract_problem("db", np.zeros(expected), np.zeros(obtained))
    assert problem == f"db has shape {obtained} but should have shape {expected}{hint}"


def test_value_failure_reports_expected_obtained_errors_and_tolerance():
    message = assert_rejected([lambda x: np.maximum(x, 0.0) * 1.001], "activations.relu")
    for part in ("expected", "obtained", "largest absolute error", "largest relative error", "tolerance:"):
        assert part in message


def relu_as_abs(x):
    return np.abs(x)


def test_a_diagnosed_mistake_is_exposed_by_id_and_named_in_the_feedback():
    with pytest.raises(GradingError) as info:
        check(relu_as_abs, against="activations.relu", quiet=True)
    sentence = {m.name: m.message for m in get_target("activations.relu").mistakes}["relu_abs"]
    assert info.value.mistake == "relu_abs"
    assert str(info.value).endswith(f"\nLikely cause: {sentence}")


@pytest.mark.parametrize(
    "functions",
    [
        [lambda x: np.maximum(x, 0.0) + 1e-3 * x**2],  # wrong values that no diagnosis explains
        [lambda x: None],  # a contract failure: no values to diagnose
        [relu_as_abs, relu_as_abs],  # not even called
    ],
)
def test_no_mistake_id_without_a_diagnosis(functions):
    with pytest.raises(GradingError) as info:
        check(*functions, against="activations.relu", quiet=True)
    assert info.value.mistake is None
    assert "Likely cause" not in str(info.value)


def test_the_mistake_id_survives_pickling():
    # the class grader moves errors between processes
    for error in (GradingError("feedback", mistake="relu_abs"), GradingError("feedback")):
        restored = pickle.loads(pickle.dumps(error))
        assert type(restored) is GradingError
        assert (str(restored), restored.mistake) == (str(error), error.mistake)


def test_wrong_number_of_functions_and_non_callables():
    with pytest.raises(GradingError, match="needs 1 function"):
        check(relu, relu, against="activations.relu")
    with pytest.raises(GradingError, match="should be a function"):
        check(np.zeros(3), against="activations.relu")
    with pytest.raises(GradingError, match=r"no check called 'activations\.rleu'"):
        check(relu, against="activations.rleu")


def relu_in_place(x):
    x[x < 0] = 0.0
    return x


def test_mutating_an_input_is_reported():
    assert_rejected([relu_in_place], "activations.relu", match="modified its input x in place")


def relu_from_the_reference(x):
    from dlcourse.activations import relu as helper  # aliased: caught by watching code, not names

    return helper(x)


def relu_through_importlib(x):
    return importlib.import_module("dlcourse.layers").relu_forward(x)[0]


def relu_through_torch(x):
    import torch

    return torch.nn.functional.relu(torch.from_numpy(x)).numpy()


def relu_through_torch_builtin(x):
    import torch

    return torch.relu(torch.from_numpy(x)).numpy()


@pytest.mark.parametrize(
    ("fn", "culprit"),
    [
        (relu_from_the_reference, "dlcourse.activations.rectifiers.relu"),
        (relu_through_importlib, "dlcourse.activation_layers.relu_forward"),
        (relu_through_torch, "torch"),
        (relu_through_torch_builtin, "torch"),
    ],
)
def test_reaching_the_reference_or_torch_is_caught(fn, culprit):
    message = assert_rejected([fn], "activations.relu", match="not allowed here")
    assert f"called {culprit}" in message


def relu_disabling_the_watch(x):
    import sys

    sys.setprofile(None)
    return np.maximum(x, 0.0)


def test_removing_the_watch_is_caught():
    assert_rejected([relu_disabling_the_watch], "activations.relu", match="sys.setprofile")


def endless(x):
    while True:
        pass


def sleeper(x):
    time.sleep(60)


@pytest.fixture
def short_limit(monkeypatch):
    target = get_target("activations.relu")
    monkeypatch.setattr(target, "time_limit", 0.5)
    return target


@pytest.mark.parametrize("fn", [endless, sleeper])
def test_a_function_that_never_returns_is_stopped(fn, short_limit):
    start = time.perf_counter()
    assert_rejected([fn], "activations.relu", match="did not finish within 0.5 s")
    assert time.perf_counter() - start < 10


def test_time_limit_also_works_outside_the_main_thread(short_limit):
    outcome = {}

    def worker():
        try:
            check(endless, against="activations.relu", quiet=True)
        except GradingError as error:
            outcome["message"] = str(error)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(20)
    assert not thread.is_alive()
    assert "did not finish" in outcome["message"]


def test_catching_everything_does_not_swallow_the_time_limit(short_limit):
    def stubborn(x):
        try:
            while True:
                pass
        except Exception:
            return np.maximum(x, 0.0)

    assert_rejected([stubborn], "activations.relu", match="did not finish")


def test_warnings_from_student_code_do_not_fail_a_correct_answer():
    def noisy_relu(x):
        import warnings

        warnings.warn("just saying", RuntimeWarning, stacklevel=2)
        return np.maximum(x, 0.0)

    with pytest.warns(RuntimeWarning):
        check(noisy_relu, against="activations.relu", quiet=True)


def test_the_watch_and_timer_are_removed_after_the_call():
    import signal
    import sys

    before = signal.getsignal(signal.SIGALRM)
    check(relu, against="activations.relu", quiet=True)
    assert sys.getprofile() is None and signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_forbidden_matching_by_module_prefix():
    assert is_forbidden("dlcourse.optim.adam", ("dlcourse", "torch"), ())
    assert is_forbidden("torch.nn.functional", ("dlcourse", "torch"), ())
    assert not is_forbidden("dlcourse.data", ("dlcourse", "torch"), ("dlcourse.data",))
    # the catalogue holds working variants, so dlcourse.grading is off limits too
    assert is_forbidden("dlcourse.grading.topics.optim", ("dlcourse",), ())
    assert not is_forbidden("torchvision", ("torch",), ())
    assert not is_forbidden("numpy.core", ("dlcourse", "torch"), ())


def test_guarded_call_reports_keyword_mutation():
    def mutate(x, out):
        out["a"][0] = 1.0
        return x

    with pytest.raises(GradingError, match=r"keyword argument out\['a'\]"):
        guarded_call(mutate, "mutate", [("x", np.zeros(2))], {"out": {"a": np.zeros(1)}})


def test_checks_are_deterministic():
    target = dataclasses.replace(get_target("activations.tanh"), forbidden=("torch",))
    first = run_check(target, [np.tanh]).split("(")[0]
    second = run_check(target, [np.tanh]).split("(")[0]
    assert first == second


def test_reference_observations_are_computed_once_per_process():
    # every student is judged against the same seeded trials, so the reference runs once per target and mode
    target = get_target("optim.adam")
    calls = {"reference": 0, "student": 0}

    def counting(call, trial):
        calls["student" if not call.trusted else "reference"] += 1
        return target.observe(call, trial)

    counted = dataclasses.replace(target, observe=counting)

    def adam_init(theta):
        return {"m": np.zeros_like(theta), "v": np.zeros_like(theta), "t": 0}

    def adam_step(theta, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        grad = grad + weight_decay * theta
        t = state["t"] + 1
        m = betas[0] * state["m"] + (1 - betas[0]) * grad
        v = betas[1] * state["v"] + (1 - betas[1]) * grad * grad
        step = lr * (m / (1 - betas[0] ** t)) / (np.sqrt(v / (1 - betas[1] ** t)) + eps)
        return theta - step, {"m": m, "v": v, "t": t}

    first = run_check(counted, [adam_step, adam_init], hidden=True)
    after_first = dict(calls)
    second = run_check(counted, [adam_step, adam_init], hidden=True)
    assert first.split("(")[0] == second.split("(")[0]
    assert after_first["reference"] == after_first["student"] > 0
    assert calls["reference"] == after_first["reference"]
    assert calls["student"] == 2 * after_first["student"]
    # a target built anew (here: a copy) does not reuse another target's observations
    run_check(dataclasses.replace(counted), [adam_step, adam_init], hidden=True)
    assert calls["reference"] == 2 * after_first["reference"]


# The topic modules whose TARGETS table is already written out literally (issue 10); once every topic
# module is, this is registry.TOPIC_MODULES.
