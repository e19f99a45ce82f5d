"""Grading functions that live in the sandbox: the unchanged run_check through proxies gives the in-process result."""

import re
import shutil

import numpy as np
import pytest

from dlcourse.class_grading.proxy import RemoteCaller, remote_functions
from dlcourse.grading._core import run_check
from dlcourse.grading._report import GradingError
from dlcourse.grading.registry import get_target
from dlcourse.sandbox import Sandbox

RELU = "import numpy as np\n\ndef relu(x):\n    return np.maximum(x, 0)\n"
ADAM = '''
import numpy as np

def adam_init(theta):
    return {"m": np.zeros_like(theta), "v": np.zeros_like(theta), "t": 0}

def adam_step(theta, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    if weight_decay:
        grad = grad + weight_decay * theta
    t = state["t"] + 1
    m = beta1 * state["m"] + (1 - beta1) * grad
    v = beta2 * state["v"] + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "t": t}
'''
WRONG = '''
import numpy as np

def relu(x):
    x[x < 0] = 0
    return x

def broken(x):
    return np.maximum(x, 0) + undefined_name

def spin(x):
    while True:
        x = x + 0
'''
GATE = '''
class MultiplyGate:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dout):
        return self.y * dout, self.x * dout
'''
GRADCHECK = '''
import numpy as np

def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        up = f(x)
        x[i] = old - h
        down = f(x)
        x[i] = old
        grad[i] = (up - down) / (2 * h)
    return grad
'''
MINIBATCHES = '''
import numpy as np

def minibatches(X, y, batch_size, *, shuffle=True, rng=None, drop_last=False):
    order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
    stop = len(X) - len(X) % batch_size if drop_last else len(X)
    for start in range(0, stop, batch_size):
        rows = order[start:start + batch_size]
        yield X[rows], y[rows]
'''


def _numbers_removed(text):
    """The success line without its timing and error magnitude."""
    return re.sub(r"\(largest relative error .*\)", "", text)


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(use_bwrap=shutil.which("bwrap") is not None, timeout_s=20) as box:
        box.load([RELU, ADAM, GATE, GRADCHECK, MINIBATCHES])
        yield box


def _local(source, *names):
    namespace = {}
    exec(source, namespace)
    return [namespace[name] for name in names]


@pytest.mark.parametrize("against, source, names", [
    ("activations.relu", RELU, ["relu"]),
    ("optim.adam", ADAM, ["adam_step", "adam_init"]),
    ("gradcheck.numerical_gradient", GRADCHECK, ["numerical_gradient"]),
    ("data.minibatches", MINIBATCHES, ["minibatches"]),
])
@pytest.mark.parametrize("hidden", [False, True])
def test_run_check_through_proxies_equals_in_process(sandbox, against, source, names, hidden):
    target = get_target(against)
    remote = run_check(target, remote_functions(sandbox, names, target), hidden=hidden)
    local = run_check(target, _local(source, *names), hidden=hidden)
    assert _numbers_removed(remote) == _numbers_removed(local)


def test_gate_class_through_proxies(sandbox):
    target = get_target("backprop.MultiplyGate")
    remote = run_check(target, remote_functions(sandbox, ["MultiplyGate"], target, classes=["MultiplyGate"]))
    assert _numbers_removed(remote) == _numbers_removed(run_check(target, _local(GATE, "MultiplyGate")))


def test_rng_state_comes_back(sandbox):
    rng, twin = np.random.default_rng(11), np.random.default_rng(11)
    (minibatches,) = remote_functions(sandbox, ["minibatches"])
    batches = minibatches(np.arange(10.0)[:, None], np.arange(10), 4, rng=rng)
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    twin.permutation(10)
    assert rng.normal() == twin.normal()


def test_remote_caller_has_the_callers_interface(sandbox):
    target = get_target("optim.adam")
    call = RemoteCaller(sandbox, ["adam_step", "adam_init"], target.roles, target)
    assert not call.trusted and call.target is target and set(call.functions) == set(target.roles)
    theta = np.array([1.0, -2.0])
    state = call("adam_init", [("theta", theta)])
    new_theta, new_state = call("adam_step", [("theta", theta), ("grad", np.ones(2)), ("state", state)], {"lr": 0.1})
    np.testing.assert_allclose(new_theta, theta - 0.1, rtol=1e-7)  # first Adam step moves each entry by ~lr
    assert new_state["t"] == 1
    caller = RemoteCaller(sandbox, ["minibatches"], ["minibatches"], get_target("data.minibatches"))
    (minibatches,) = caller.call_listed(
        "minibatches", [("X", np.zeros((5, 1))), ("y", np.zeros(5)), ("batch_size", 5)], {"shuffle": False}),
    assert len(minibatches) == 1


@pytest.fixture(scope="module")
def wrong():
    with Sandbox(use_bwrap=shutil.which("bwrap") is not None, timeout_s=10) as box:
        box.load([WRONG])
        yield box


def test_student_error_is_a_grading_error_with_the_students_traceback(wrong):
    target = get_target("activations.relu")
    call = RemoteCaller(wrong, ["broken"], target.roles, target)
    with pytest.raises(GradingError,
                       match=r"(?s)relu raised NameError: name 'undefined_name'.*solution cell 0.*line 9"):
        call("relu", [("x", np.ones(3))])


def test_impure_student_function_is_caught_in_the_worker(wrong):
    target = get_target("activations.relu")
    with pytest.raises(GradingError, match=r"modified its input x in place"):
        RemoteCaller(wrong, ["relu"], target.roles, target)("relu", [("x", -np.ones(3))])
    # through the unchanged guarded_call the proxy does not know the argument names (see the report's hook)
    with pytest.raises(GradingError, match=r"modified its input (x|argument 1) in place"):
        run_check(target, remote_functions(wrong, ["relu"], target))


def test_student_timeout_through_the_proxy(wrong):
    target = get_target("activations.relu")
    slow = RemoteCaller(wrong, ["spin"], target.roles, target)
    slow.functions["relu"].time_limit = 0.3
    with pytest.raises(GradingError, match=r"did not finish within 0\.3 s"):
        slow("relu", [("x", np.ones(2))])
    assert wrong.alive  # the worker's own timer stopped the function; no restart needed

