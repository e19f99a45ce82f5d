"""Layer, loss, dropout and MLP checks: the reference passes, catalogued mistakes are diagnosed, correct variants pass."""

import numpy as np
import pytest
import torch

from dlcourse.grading import check, get_target, targets
from dlcourse.grading.topics.layers import two_layer_net
from grading.helpers import assert_accepted, assert_rejected, passes_as_reference

NAMES = [t for t in targets() if t.startswith("layers.")]

# float64, the same operations as torch up to summation order: a few ulp per
# entry relative to the largest entry (tiny grads cancel, so rtol alone is too strict).
TORCH_RTOL, TORCH_ATOL_SCALE = 1e-10, 1e-12


def test_all_targets_are_registered():
    assert set(NAMES) == {f"layers.{n}" for n in (
        "linear_forward", "linear_backward", "relu_backward", "sigmoid_backward", "tanh_backward",
        "leaky_relu_backward", "mse_loss", "mae_loss", "bce_loss", "softmax_cross_entropy",
        "dropout_forward", "dropout_backward", "two_layer_net")}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("hidden", [False, True])
def test_reference_passes(name, hidden):
    assert passes_as_reference(name, hidden).startswith("OK")


# ------------------------------------------------- two_layer_net vs torch
def _close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=TORCH_RTOL, atol=TORCH_ATOL_SCALE * np.abs(expected).max())


@pytest.mark.parametrize(("n", "d", "h", "c", "scale", "offset"), [
    (1, 4, 5, 3, 1.0, 0.0), (7, 3, 9, 4, 1.0, 0.0), (5, 6, 7, 5, 1.0, 1e3), (3, 5, 3, 2, 1e-6, 0.0), (64, 20, 15, 10, 30.0, 0.0),
])
def test_two_layer_net_matches_torch_autograd(n, d, h, c, scale, offset):
    rng = np.random.default_rng(n * 100 + d)
    X = rng.standard_normal((n, d)) * scale
    y = rng.integers(0, c, n)
    params = {"W1": rng.standard_normal((d, h)), "b1": rng.standard_normal(h) * 0.1,
              "W2": rng.standard_normal((h, c)), "b2": offset + rng.standard_normal(c)}
    loss, grads = two_layer_net(X, y, params)
    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    hidden = torch.relu(torch.tensor(X, dtype=torch.float64) @ tp["W1"] + tp["b1"])
    torch_loss = torch.nn.functional.cross_entropy(hidden @ tp["W2"] + tp["b2"], torch.tensor(y))
    torch_loss.backward()
    _close(loss, torch_loss.item())
    assert grads.keys() == params.keys()
    for key in params:
        _close(grads[key], tp[key].grad.numpy())


def test_two_layer_net_is_pure_and_checks_params():
    rng = np.random.default_rng(0)
    params = {"W1": rng.standard_normal((3, 4)), "b1": np.zeros(4), "W2": rng.standard_normal((4, 2)), "b2": np.zeros(2)}
    X, y = rng.standard_normal((5, 3)), rng.integers(0, 2, 5)
    before = {k: v.copy() for k, v in params.items()}
    two_layer_net(X, y, params)
    assert all(np.array_equal(before[k], params[k]) for k in params)
    with pytest.raises(ValueError, match="params must be a dict with exactly the keys"):
        two_layer_net(X, y, {"W1": params["W1"]})
    with pytest.raises(TypeError, match="labels must be integer"):
        two_layer_net(X, y.astype(float), params)


# ---------------------------------------- wrong code, written as a student would
def lin_fwd(x, W, b):
    return x.dot(W) + b, (x, W, b)


def lin_fwd_no_bias(x, W, b):
    return x @ W, (x, W, b)


def lin_fwd_weight_T(x, W, b):
    return x @ W.T + b, (x, W, b)


def lin_bwd_dW_T(dout, cache):
    x, W, b = cache
    return dout @ W.T, dout.T @ x, dout.sum(axis=0)


def lin_bwd_dx_no_T(dout, cache):
    x, W, b = cache
    return dout @ W, x.T @ dout, dout.sum(axis=0)


def lin_bwd_db_mean(dout, cache):
    x, W, b = cache
    return dout @ W.T, x.T @ dout, np.mean(dout, axis=0)


def lin_bwd_dW_per_example(dout, cache):
    x, W, b = cache
    return dout @ W.T, np.einsum("ni,nj->nij", x, dout), dout.sum(axis=0)


def lin_bwd_db_dout(dout, cache):
    x, W, b = cache
    return dout @ W.T, x.T @ dout, dout


def lin_bwd_averaged(dout, cache):
    x, W, b = cache
    n = x.shape[0]
    return dout @ W.T, x.T @ dout / n, dout.sum(axis=0) / n


def relu_fwd(x):
    return np.maximum(0, x), x


def relu_bwd_dout_mask(dout, cache):
    return dout * (dout > 0)


def relu_bwd_ge(dout, cache):
    return dout * (cache >= 0)


def sigmoid_fwd_caching_x(x):
    return 1 / (1 + np.exp(-x)), x


def sigmoid_bwd_on_x(dout, x):
    return dout * x * (1 - x)


def tanh_fwd(x):
    t = np.tanh(x)
    return t, t


def tanh_bwd_no_dout(dout, t):
    return 1 - t**2


def leaky_fwd(x, negative_slope=0.01):
    return np.where(x > 0, x, negative_slope * x), x


def leaky_bwd_fixed_slope(dout, x):
    return np.where(x > 0, dout, 0.01 * dout)


def mse_no_2(pred, target):
    diff = pred - target
    return np.mean(diff**2), diff / diff.size


def mse_sum(pred, target):
    diff = pred - target
    return np.sum(diff**2), 2 * diff


def mse_per_row(pred, target):
    n = pred.shape[0]
    diff = pred - target
    return np.sum(diff**2) / n, 2 * diff / n


def mse_loss_summed(pred, target):
    diff = pred - target
    return (diff**2).sum(), 2 * diff / diff.size


def mae_ge(pred, target):
    diff = pred - target
    return np.abs(diff).mean(), np.where(diff >= 0, 1.0, -1.0) / diff.size


def mae_not_divided(pred, target):
    diff = pred - target
    return np.abs(diff).mean(), np.sign(diff)


def bce_logit_grad(prob, target):
    p = np.clip(prob, 1e-12, 1 - 1e-12)
    loss = -np.mean(target * np.log(p) + (1 - target) * np.log(1 - p))
    return loss, (prob - target) / prob.size


def bce_naive(prob, target):
    loss = -np.mean(target * np.log(prob) + (1 - target) * np.log(1 - prob))
    return loss, (prob - target) / (prob * (1 - prob)) / prob.size


def bce_grad_per_entry(prob, target):
    log_p, log_1mp = np.maximum(np.log(prob), -100), np.maximum(np.log(1 - prob), -100)
    loss = -np.mean(target * log_p + (1 - target) * log_1mp)
    return loss, -target / prob + (1 - target) / (1 - prob)


def bce_only_positive(prob, target):
    return -np.mean(target * np.log(prob)), -target / prob / prob.size


def ce_naive(logits, labels):
    n = logits.shape[0]
    probs = np.exp(logits) / np.sum(np.exp(logits), axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(n), labels]))
    dlogits = probs.copy()
    dlogits[np.arange(n), labels] -= 1
    return loss, dlogits / n


def ce_sum(logits, labels):
    n, c = logits.shape
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    grad = np.exp(log_probs)
    grad[np.arange(n), labels] -= 1
    return -log_probs[np.arange(n), labels].sum(), grad


def _stable_probs(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def ce_not_divided(logits, labels):
    n, c = logits.shape
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    onehot = np.eye(c)[labels]
    return -np.mean(np.sum(log_probs * onehot, axis=1)), np.exp(log_probs) - onehot


def ce_one_based(logits, labels):
    n, c = logits.shape
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    onehot = np.eye(c)[labels - 1]
    return -np.sum(log_probs * onehot) / n, (np.exp(log_probs) - onehot) / n


def ce_log_probs(logits, labels):
    n = logits.shape[0]
    probs = _stable_probs(logits)
    grad = probs.copy()
    grad[np.arange(n), labels] -= 1
    return -np.mean(np.log(probs[np.arange(n), labels])), grad / n


def drop_no_rescale(x, p=0.5, training=True, rng=None):
    if not training:
        return x, None
    mask = rng.random(x.shape) > p
    return x * mask, mask


def drop_keep_p(x, p=0.5, training=True, rng=None):
    if not training:
        return x, None
    mask = (rng.random(x.shape) < p) / p
    return x * mask, mask


def drop_scale_eval(x, p=0.5, training=True, rng=None):
    if not training:
        return x / (1 - p), None
    mask = (rng.random(x.shape) >= p) / (1 - p)
    return x * mask, mask


def drop_in_eval(x, p=0.5, training=True, rng=None):
    mask = (rng.random(x.shape) >= p) / (1 - p)
    return x * mask, mask


def drop_global_rng(x, p=0.5, training=True, rng=None):
    if not training:
        return x, None
    mask = (np.random.rand(*x.shape) >= p) / (1 - p)
    return x * mask, mask


def drop_paper(x, p=0.5, training=True, rng=None):
    if not training:
        return x * (1 - p), None
    mask = rng.random(x.shape) >= p
    return x * mask, mask


def drop_fwd(x, p=0.5, training=True, rng=None):
    if not training:
        return x, None
    mask = (rng.random(x.shape) >= p) / (1 - p)
    return x * mask, mask


def drop_bwd_no_mask(dout, mask):
    return dout


def drop_bwd_forgot_scale(dout, mask):
    return dout if mask is None else dout * (mask > 0)


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
    ([lin_fwd_no_bias], "layers.linear_forward", "linear_no_bias"),
    ([lin_fwd_weight_T], "layers.linear_forward", "linear_weight_transposed"),
    ([lin_fwd, lin_bwd_dW_T], "layers.linear_backward", "linear_dW_transposed"),
    ([lin_fwd, lin_bwd_dx_no_T], "layers.linear_backward", "linear_dx_no_transpose"),
    ([lin_fwd, lin_bwd_db_mean], "layers.linear_backward", "linear_db_mean"),
    ([lin_fwd, lin_bwd_dW_per_example], "layers.linear_backward", "linear_dW_per_example"),
    ([lin_fwd, lin_bwd_db_dout], "layers.linear_backward", "linear_db_not_summed"),
    ([lin_fwd, lin_bwd_averaged], "layers.linear_backward", "linear_grads_averaged"),
    ([relu_fwd, relu_bwd_dout_mask], "layers.relu_backward", "relu_backward_masks_dout"),
    ([relu_fwd, relu_bwd_ge], "layers.relu_backward", "relu_backward_at_zero"),
    ([sigmoid_fwd_caching_x, sigmoid_bwd_on_x], "layers.sigmoid_backward", "sigmoid_backward_of_x"),
    ([tanh_fwd, tanh_bwd_no_dout], "layers.tanh_backward", "tanh_backward_no_dout"),
    ([leaky_fwd, leaky_bwd_fixed_slope], "layers.leaky_relu_backward", "leaky_backward_ignores_slope"),
    ([mse_no_2], "layers.mse_loss", "mse_grad_no_factor_2"),
    ([mse_sum], "layers.mse_loss", "mse_sum_reduction"),
    ([mse_per_row], "layers.mse_loss", "mse_divided_by_batch"),
    ([mse_loss_summed], "layers.mse_loss", "mse_loss_summed"),
    ([mae_ge], "layers.mae_loss", "mae_sign_ge_zero"),
    ([mae_not_divided], "layers.mae_loss", "mae_grad_not_divided"),
    ([bce_logit_grad], "layers.bce_loss", "bce_grad_missing_denominator"),
    ([bce_only_positive], "layers.bce_loss", "bce_positive_term_only"),
    ([bce_grad_per_entry], "layers.bce_loss", "bce_grad_not_divided"),
    ([ce_naive], "layers.softmax_cross_entropy", "ce_overflow"),
    ([ce_not_divided], "layers.softmax_cross_entropy", "ce_grad_not_divided"),
    ([ce_one_based], "layers.softmax_cross_entropy", "ce_label_off_by_one"),
    ([ce_log_probs], "layers.softmax_cross_entropy", "ce_log_of_softmax"),
    ([ce_sum], "layers.softmax_cross_entropy", "ce_sum_reduction"),
    ([drop_no_rescale], "layers.dropout_forward", "dropout_no_rescale"),
    ([drop_keep_p], "layers.dropout_forward", "dropout_p_is_keep"),
    ([drop_scale_eval], "layers.dropout_forward", "dropout_scales_in_eval"),
    ([drop_in_eval], "layers.dropout_forward", "dropout_drops_in_eval"),
    ([drop_global_rng], "layers.dropout_forward", "dropout_ignores_rng"),
    ([drop_paper], "layers.dropout_forward", "dropout_original_paper"),
    ([drop_fwd, drop_bwd_no_mask], "layers.dropout_backward", "dropout_backward_no_mask"),
    ([drop_fwd, drop_bwd_forgot_scale], "layers.dropout_backward", "dropout_backward_no_scale"),
    ([net_no_mask], "layers.two_layer_net", "mlp_no_relu_mask"),
    ([net_not_divided], "layers.two_layer_net", "mlp_grad_not_divided"),
    ([net_dW1_with_h], "layers.two_layer_net", "mlp_dW1_post_activation"),
    ([net_transposed], "layers.two_layer_net", "mlp_dW_transposed"),
    ([net_db_mean], "layers.two_layer_net", "mlp_db_mean"),
    ([net_naive_softmax], "layers.two_layer_net", "mlp_softmax_overflow"),
]


@pytest.fixture
def seeded_global_rng():
    # drop_global_rng draws from np.random as a careless student would; seed it so the test is reproducible
    state = np.random.get_state()
    np.random.seed(1234)
    yield
    np.random.set_state(state)


@pytest.mark.parametrize(("fns", "against", "mistake"), STUDENT_MISTAKES,
                         ids=[m for _, _, m in STUDENT_MISTAKES])
@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_student_mistakes_are_diagnosed(fns, against, mistake, hidden, seeded_global_rng):
    # every one of these shows in the visible checks already
    assert_rejected(fns, against, mistake, hidden=hidden)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_bce_without_clamp_passes_visible_and_fails_hidden_with_the_clamp_explained():
    # a policy choice: probabilities of exactly 0 and 1 are only in the hidden trials
    check(bce_naive, against="layers.bce_loss", quiet=True)
    message = assert_rejected([bce_naive], "layers.bce_loss", "bce_log_of_zero", hidden=True)
    assert "loss is nan where the reference gives" in message


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_every_catalogued_mistake_is_caught_by_the_hidden_checks(name):
    for mistake in get_target(name).mistakes:
        assert_rejected(list(mistake.impl), name, mistake.name, hidden=True, trusted=True)


def test_every_target_catalogues_at_least_three_mistakes():
    for name in NAMES:
        assert len(get_target(name).mistakes) >= (2 if name == "layers.linear_forward" else 3), name


# ------------------------------------------------------------ contract failures
def lin_bwd_two_values(dout, cache):
    x, W, b = cache
    return dout @ W.T, x.T @ dout


def relu_fwd_only_out(x):
    return np.maximum(x, 0)


def relu_bwd_raises(dout, cache):
    raise NotImplementedError("TODO")


def mse_none(pred, target):
    diff = pred - target  # noqa: F841 -- forgot the return


def mse_nan(pred, target):
    diff = pred - target
    return np.mean(diff**2), diff * np.nan


def ce_per_example_loss(logits, labels):
    n = logits.shape[0]
    probs = _stable_probs(logits)
    grad = probs.copy()
    grad[np.arange(n), labels] -= 1
    return -np.log(probs[np.arange(n), labels]), grad / n


def lin_fwd_transposed_out(x, W, b):
    return (x @ W + b).T, (x, W, b)


def drop_bwd_flat(dout, mask):
    return dout.reshape(-1)


def relu_bwd_in_place(dout, x):
    dout[x <= 0] = 0
    return dout


def net_updates_params(X, y, params):
    loss, grads = _net(X, y, params)
    params["W1"] -= 0.1 * grads["W1"]
    return loss, grads


def net_missing_key(X, y, params):
    loss, grads = _net(X, y, params)
    del grads["b2"]
    return loss, grads


@pytest.mark.parametrize(("fns", "against", "match"), [
    ([lin_fwd, lin_bwd_two_values], "layers.linear_backward",
     "linear_backward must return 3 values (dx, dW, db); it returned a tuple of 2 values"),
    ([relu_fwd_only_out, relu_bwd_dout_mask], "layers.relu_backward",
     "relu_forward must return 2 values (out, cache); it returned a single array"),
    ([relu_fwd, relu_bwd_raises], "layers.relu_backward", "relu_backward raised NotImplementedError: TODO"),
    ([mse_none], "layers.mse_loss", "mse_loss returned None"),
    ([mse_nan], "layers.mse_loss", "contains nan"),
    ([ce_per_example_loss], "layers.softmax_cross_entropy", "loss should be a number, but it is an array of shape"),
    ([lin_fwd_transposed_out], "layers.linear_forward", "out = x @ W + b has shape (5, 3) but should have shape (3, 5)"),
    ([drop_fwd, drop_bwd_flat], "layers.dropout_backward", "dx returned by dropout_backward should be an array of shape"),
    ([relu_fwd, relu_bwd_in_place], "layers.relu_backward", "relu_backward modified its input dout in place"),
    ([net_updates_params], "layers.two_layer_net", "two_layer_net modified its input params['W1'] in place"),
    ([net_missing_key], "layers.two_layer_net", "two_layer_net must return grads as a dict with the keys of params"),
    ([lin_fwd, lin_bwd_dx_no_T], "layers.linear_backward", "dx (shape of x, (N, fan_in)): first wrong value"),
])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_contract_failures_give_clear_feedback(fns, against, match):
    assert_rejected(fns, against, match=match)


def test_a_shape_error_in_backward_lists_the_shapes():
    def lin_bwd_crash(dout, cache):
        x, W, b = cache
        return W @ dout, x.T @ dout, dout.sum(axis=0)  # (5, 5) @ (3, 5): numpy raises

    message = assert_rejected([lin_fwd, lin_bwd_crash], "layers.linear_backward")
    assert "raised ValueError" in message and "shapes here: x (3, 5), W (5, 5), b (5,), dout (3, 5)" in message


# ------------------------------------------------- correct, but written differently
def lin_fwd_loop(x, W, b):
    out = np.empty((x.shape[0], W.shape[1]), dtype=x.dtype)
    for n in range(x.shape[0]):
        out[n] = x[n] @ W + b
    return out, {"x": x, "W": W}


def lin_bwd_einsum(dout, cache):
    x, W = cache["x"], cache["W"]
    return np.einsum("nj,ij->ni", dout, W), np.einsum("ni,nj->ij", x, dout), np.einsum("nj->j", dout)


def relu_fwd_cache_out(x):
    out = np.maximum(x, 0)
    return out, out


def relu_bwd_from_out(dout, out):
    dx = dout.copy()
    dx[out <= 0] = 0
    return dx


def sigmoid_fwd_cache_out(x):
    out = 0.5 * (1 + np.tanh(0.5 * x))
    return out, out


def sigmoid_bwd_from_out(dout, s):
    return dout * s * (1 - s)


def tanh_bwd(dout, t):
    return dout * (1 - t * t)


def leaky_fwd_cache_slope(x, negative_slope=0.01):
    return np.maximum(x, 0) + negative_slope * np.minimum(x, 0), (x, negative_slope)


def leaky_bwd_with_slope(dout, cache):
    x, slope = cache
    return dout * np.where(x > 0, 1.0, slope).astype(x.dtype)


def mse_square(pred, target):
    diff = pred - target
    n = np.prod(pred.shape)
    return float(np.square(diff).sum() / n), 2.0 / n * diff


def mae_piecewise(pred, target):
    diff = pred - target
    grad = (diff > 0).astype(pred.dtype) - (diff < 0).astype(pred.dtype)
    return float(np.abs(diff).sum()) / diff.size, grad / diff.size


def bce_clipped(prob, target, eps=1e-7):
    p = np.clip(prob, eps, 1 - eps)
    loss = -np.mean(target * np.log(p) + (1 - target) * np.log(1 - p))
    return loss, (-target / p + (1 - target) / (1 - p)) / prob.size


def bce_clamped_like_torch(prob, target):
    with np.errstate(divide="ignore"):
        log_p, log_1mp = np.maximum(np.log(prob), -100.0), np.maximum(np.log1p(-prob), -100.0)
    grad = (prob - target) / np.maximum(prob * (1 - prob), 1e-12)
    return -np.mean(target * log_p + (1 - target) * log_1mp), grad / prob.size


def ce_loop(logits, labels):
    n, c = logits.shape
    loss, grad = 0.0, np.zeros_like(logits)
    for i in range(n):
        z = logits[i] - logits[i].max()
        log_z = np.log(np.sum(np.exp(z)))
        loss -= z[labels[i]] - log_z
        grad[i] = np.exp(z - log_z)
        grad[i, labels[i]] -= 1
    return loss / n, grad / n


def ce_logsumexp(logits, labels):
    n, c = logits.shape
    m = logits.max(axis=1, keepdims=True)
    log_probs = logits - (m + np.log(np.exp(logits - m).sum(axis=1, keepdims=True)))
    onehot = np.eye(c, dtype=logits.dtype)[labels]
    return -(log_probs * onehot).sum() / n, (np.exp(log_probs) - onehot) / n


def drop_binomial(x, p=0.5, training=True, rng=None):
    if not training:
        return x, None
    mask = rng.binomial(1, 1 - p, size=x.shape)
    scale = mask / (1 - p)
    return x * scale.astype(x.dtype), (mask, p)


def drop_bwd_mask_p(dout, cache):
    if cache is None:
        return dout
    mask, p = cache
    return (dout * mask / (1 - p)).astype(dout.dtype)


def drop_uniform(x, p=0.5, training=True, rng=None):
    if not training:
        return x.copy(), "eval"
    keep = rng.uniform(size=x.shape) < 1 - p
    return np.where(keep, x / (1 - p), 0).astype(x.dtype), keep / (1 - p)


def drop_bwd_uniform(dout, cache):
    return dout if isinstance(cache, str) else dout * cache


def net_onehot(X, y, params):
    n, c = X.shape[0], params["W2"].shape[1]
    z1, h, probs = _net_forward(X, params)
    scores = h @ params["W2"] + params["b2"]
    log_probs = scores - scores.max(axis=1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(axis=1, keepdims=True))
    onehot = np.eye(c)[y]
    dscores = (probs - onehot) / n
    dz1 = np.where(h > 0, dscores.dot(params["W2"].T), 0.0)
    return -np.sum(onehot * log_probs) / n, {
        "W1": X.T.dot(dz1), "b1": np.ones(n).dot(dz1), "W2": h.T.dot(dscores), "b2": np.ones(n).dot(dscores)}


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
    ([lin_fwd_loop], "layers.linear_forward"),
    ([lin_fwd], "layers.linear_forward"),
    ([lin_fwd_loop, lin_bwd_einsum], "layers.linear_backward"),
    ([relu_fwd_cache_out, relu_bwd_from_out], "layers.relu_backward"),
    ([sigmoid_fwd_cache_out, sigmoid_bwd_from_out], "layers.sigmoid_backward"),
    ([tanh_fwd, tanh_bwd], "layers.tanh_backward"),
    ([leaky_fwd_cache_slope, leaky_bwd_with_slope], "layers.leaky_relu_backward"),
    ([mse_square], "layers.mse_loss"),
    ([mae_piecewise], "layers.mae_loss"),
    ([bce_clipped], "layers.bce_loss"),
    ([bce_clamped_like_torch], "layers.bce_loss"),
    ([ce_loop], "layers.softmax_cross_entropy"),
    ([ce_logsumexp], "layers.softmax_cross_entropy"),
    ([drop_binomial], "layers.dropout_forward"),
    ([drop_uniform], "layers.dropout_forward"),
    ([drop_fwd], "layers.dropout_forward"),
    ([drop_binomial, drop_bwd_mask_p], "layers.dropout_backward"),
    ([drop_uniform, drop_bwd_uniform], "layers.dropout_backward"),
    ([net_onehot], "layers.two_layer_net"),
    ([net_loops], "layers.two_layer_net"),
]


@pytest.mark.parametrize(("fns", "against"), CORRECT, ids=[f"{a}-{f[-1].__name__}" for f, a in CORRECT])
def test_correct_alternatives_are_accepted(fns, against):
    assert_accepted(fns, against)
