"""Two-layer network checks: the reference passes, catalogued mistakes are diagnosed, correct variants pass."""

import numpy as np
import pytest

from dlcourse.grading import get_target, targets
from dlcourse.grading.topics import two_layer_net as topic
from grading.helpers import assert_accepted, assert_catalogue_diagnosed, assert_rejected, passes_as_reference

NAMES = [target.name for target in topic.TARGETS]


def test_the_module_declares_its_targets():
    assert NAMES == ["layers.two_layer_net"]
    assert set(NAMES) <= set(targets())


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("hidden", [False, True])
def test_reference_passes(name, hidden):
    assert passes_as_reference(name, hidden).startswith("OK")


# ---------------------------------------- wrong code, written as a student would
def _stable_probs(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _net_forward(X, params):
    z1 = X @ params["W1"] + params["b1"]
    h = np.maximum(z1, 0)
    scores = h @ params["W2"] + params["b2"]
    probs = _stable_probs(scores)
    return z1, h, probs


def _net(X, y, params, mask=True, divide=True, first="X", transpose=False, bias=lambda d: d.sum(axis=0)):
    n = X.shape[0]
    z1, h, probs = _net_forward(X, params)
    loss = -np.mean(np.log(probs[np.arange(n), y]))
    dscores = probs.copy()
    dscores[np.arange(n), y] -= 1
    if divide:
        dscores /= n
    dh = dscores @ params["W2"].T
    dz1 = dh * (z1 > 0) if mask else dh
    inp = X if first == "X" else h
    dW1, dW2 = (dz1.T @ inp, dscores.T @ h) if transpose else (inp.T @ dz1, h.T @ dscores)
    return loss, {"W1": dW1, "b1": bias(dz1), "W2": dW2, "b2": bias(dscores)}


def net_naive_softmax(X, y, params):
    n = X.shape[0]
    z1 = X @ params["W1"] + params["b1"]
    h = np.maximum(z1, 0)
    scores = h @ params["W2"] + params["b2"]
    probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(n), y]))
    dscores = probs.copy()
    dscores[np.arange(n), y] -= 1
    dscores /= n
    dz1 = (dscores @ params["W2"].T) * (z1 > 0)
    return loss, {"W1": X.T @ dz1, "b1": dz1.sum(axis=0), "W2": h.T @ dscores, "b2": dscores.sum(axis=0)}


def net_no_mask(X, y, params):
    return _net(X, y, params, mask=False)


def net_not_divided(X, y, params):
    return _net(X, y, params, divide=False)


def net_dW1_with_h(X, y, params):
    return _net(X, y, params, first="h")


def net_transposed(X, y, params):
    return _net(X, y, params, transpose=True)


def net_db_mean(X, y, params):
    return _net(X, y, params, bias=lambda d: d.mean(axis=0))


STUDENT_MISTAKES = [
    ([net_no_mask], "layers.two_layer_net", "mlp_no_relu_mask"),
    ([net_not_divided], "layers.two_layer_net", "mlp_grad_not_divided"),
    ([net_dW1_with_h], "layers.two_layer_net", "mlp_dW1_post_activation"),
    ([net_transposed], "layers.two_layer_net", "mlp_dW_transposed"),
    ([net_db_mean], "layers.two_layer_net", "mlp_db_mean"),
    ([net_naive_softmax], "layers.two_layer_net", "mlp_softmax_overflow"),
]


@pytest.mark.parametrize(("fns", "against", "mistake"), STUDENT_MISTAKES,
                         ids=[m for _, _, m in STUDENT_MISTAKES])
@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_student_mistakes_are_diagnosed(fns, against, mistake, hidden):
    # every one of these shows in the visible checks already
    assert_rejected(fns, against, mistake, hidden=hidden)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_every_catalogued_mistake_is_caught_by_the_hidden_checks(name):
    assert_catalogue_diagnosed(name, hidden=True)


def test_every_target_catalogues_at_least_three_mistakes():
    for name in NAMES:
        assert len(get_target(name).mistakes) >= 3, name


# ------------------------------------------------------------ contract failures
def net_updates_params(X, y, params):
    loss, grads = _net(X, y, params)
    params["W1"] -= 0.1 * grads["W1"]
    return loss, grads


def net_missing_key(X, y, params):
    loss, grads = _net(X, y, params)
    del grads["b2"]
    return loss, grads

@pytest.mark.parametrize(("fns", "against", "match"), [
    ([net_updates_params], "layers.two_layer_net", "two_layer_net modified its input params['W1'] in place"),
    ([net_missing_key], "layers.two_layer_net", "two_layer_net must return grads as a dict with the keys of params"),
])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_contract_failures_give_clear_feedback(fns, against, match):
    assert_rejected(fns, against, match=match)


# ------------------------------------------------- correct, but written differently
def net_onehot(X, y, params):
    n, c = X.shape[0], params["W2"].shape[1]
    _z1, h, probs = _net_forward(X, params)
    scores = h @ params["W2"] + params["b2"]
    log_probs = scores - scores.max(axis=1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(axis=1, keepdims=True))
    onehot = np.eye(c, dtype=X.dtype)[y]  # float32 in, float32 out
    dscores = (probs - onehot) / n
    dz1 = np.where(h > 0, dscores.dot(params["W2"].T), 0.0)
    return -np.sum(onehot * log_probs) / n, {
        "W1": X.T.dot(dz1), "b1": np.ones(n, X.dtype).dot(dz1), "W2": h.T.dot(dscores),
        "b2": np.ones(n, X.dtype).dot(dscores)}


def net_loops(X, y, params):
    n = X.shape[0]
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    loss = 0.0
    for i in range(n):
        z1 = X[i] @ params["W1"] + params["b1"]
        h = np.maximum(z1, 0)
        s = h @ params["W2"] + params["b2"]
        s = s - s.max()
        log_p = s - np.log(np.exp(s).sum())
        loss -= log_p[y[i]] / n
        ds = np.exp(log_p)
        ds[y[i]] -= 1
        ds /= n
        dz1 = (params["W2"] @ ds) * (z1 > 0)
        grads["W2"] += np.outer(h, ds)
        grads["b2"] += ds
        grads["W1"] += np.outer(X[i], dz1)
        grads["b1"] += dz1
    return loss, grads

CORRECT = [
    ([net_onehot], "layers.two_layer_net"),
    ([net_loops], "layers.two_layer_net"),
]


@pytest.mark.parametrize(("fns", "against"), CORRECT, ids=[f"{a}-{f[-1].__name__}" for f, a in CORRECT])
def test_correct_alternatives_are_accepted(fns, against):
    assert_accepted(fns, against)
