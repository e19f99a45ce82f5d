"""Student implementations of the linear layer and the activation layers' forward/backward pairs."""

# ruff: noqa: RUF059  (written as students write: unpacked names left unused)

import numpy as np

from corpus import Correct, Wrong

# ---------------------------------------------------------------- layers.linear_forward


def linear_forward_torch_layout(x, W, b):
    # like nn.Linear: x @ W^T + b
    out = x @ W.T + b
    return out, (x, W)


def linear_forward_no_b(x, W, b):
    out = np.dot(x, W)
    cache = (x, W, b)
    return out, cache


def linear_forward_loops(x, W, b):
    N = x.shape[0]
    fan_out = W.shape[1]
    out = np.zeros((N, fan_out))
    for n in range(N):
        out[n] = x[n] @ W + b
    return out, (x, W)


def linear_forward_einsum(x, W, b):
    out = np.einsum("nd,dk->nk", x, W) + b[None, :]
    return out, {"x": x, "W": W}


def linear_forward_plain(x, W, b):
    return x @ W + b, (x, W, b)


# ---------------------------------------------------------------- layers.linear_backward


def linear_backward_db_keepdims(dout, cache):
    x, W, b = cache
    dx = dout @ W.T
    dW = x.T @ dout
    db = np.sum(dout, axis=0, keepdims=True)
    return dx, dW, db


def linear_backward_db_mean(dout, cache):
    x, W, _ = cache
    return dout @ W.T, x.T @ dout, dout.mean(axis=0)


def linear_backward_dW_wrong_order(dout, cache):
    x, W, b = cache
    dx = dout.dot(W.T)
    dW = dout.T.dot(x)
    db = dout.sum(0)
    return dx, dW, db


def linear_backward_averaged(dout, cache):
    x, W, b = cache
    N = x.shape[0]
    dx = dout @ W.T
    dW = x.T @ dout / N  # average over the batch
    db = dout.sum(axis=0) / N
    return dx, dW, db


def linear_backward_dx_no_T(dout, cache):
    x, W, b = cache
    return dout @ W, x.T @ dout, dout.sum(axis=0)


def linear_backward_einsum(dout, cache):
    x, W = cache["x"], cache["W"]
    dx = np.einsum("nk,dk->nd", dout, W)
    dW = np.einsum("nd,nk->dk", x, dout)
    db = np.einsum("nk->k", dout)
    return dx, dW, db


def linear_backward_outer_products(dout, cache):
    x, W, b = cache
    dW = np.zeros_like(W)
    db = np.zeros_like(b)
    for n in range(x.shape[0]):
        dW += np.outer(x[n], dout[n])
        db += dout[n]
    return dout @ W.T, dW, db


# ---------------------------------------------------------------- layers.relu_backward


def relu_forward_cache_out(x):
    out = np.maximum(x, 0)
    return out, out


def relu_backward_dout_mask(dout, cache):
    # gradient flows where it is positive
    return dout * (dout > 0)


def relu_forward_cache_x(x):
    return np.maximum(0, x), x


def relu_backward_ge(dout, cache):
    x = cache
    return dout * (x >= 0)


def relu_backward_in_place(dout, cache):
    x = cache
    dout[x <= 0] = 0
    return dout


def relu_backward_no_upstream(dout, cache):
    x = cache
    return (x > 0).astype(dout.dtype)


def relu_backward_from_out(dout, cache):
    out = cache
    return np.where(out > 0, dout, 0 * dout)


# ---------------------------------------------------------------- layers.sigmoid_backward


def sigmoid_forward_cache_x(x):
    s = np.exp(-np.logaddexp(0, -x))
    return s, x


def sigmoid_backward_on_x(dout, cache):
    x = cache
    return dout * x * (1 - x)


def sigmoid_forward_cache_s(x):
    z = np.exp(-np.abs(x))
    s = np.where(x >= 0, 1 / (1 + z), z / (1 + z))
    return s, s


def sigmoid_backward_only_s(dout, cache):
    s = cache
    return dout * s


def sigmoid_backward_good(dout, cache):
    s = cache
    return dout * s * (1 - s)


def sigmoid_backward_recompute(dout, cache):
    # recompute the sigmoid from the cached x, stably
    x = cache
    s = np.exp(-np.logaddexp(0, -x))
    return dout * (s - s * s)


# ---------------------------------------------------------------- layers.tanh_backward


def tanh_forward_cache_t(x):
    t = np.tanh(x)
    return t, t


def tanh_backward_no_square(dout, cache):
    t = cache
    return dout * (1 - t)


def tanh_backward_forgot_dout(dout, cache):
    t = cache
    return 1 - t**2


def tanh_backward_good(dout, cache):
    t = cache
    return dout - dout * t * t


# ---------------------------------------------------------------- layers.leaky_relu_backward


def leaky_forward_only_x(x, negative_slope=0.01):
    out = np.where(x > 0, x, negative_slope * x)
    return out, x


def leaky_backward_default_slope(dout, cache):
    x = cache
    return dout * np.where(x > 0, 1.0, 0.01).astype(dout.dtype)


def leaky_forward_tuple(x, negative_slope=0.01):
    return np.where(x > 0, x, negative_slope * x), (x, negative_slope)


def leaky_backward_ge(dout, cache):
    x, slope = cache
    local = np.ones_like(x)
    local[x < 0] = slope
    return dout * local


def leaky_backward_relu(dout, cache):
    x, slope = cache
    return dout * (x > 0)


def leaky_forward_mask(x, negative_slope=0.01):
    positive = x > 0
    return np.where(positive, x, negative_slope * x), {"positive": positive, "slope": negative_slope}


def leaky_backward_mask(dout, cache):
    return np.where(cache["positive"], dout, cache["slope"] * dout)


WRONG = [
    # linear_forward
    Wrong("layers.linear_forward", (linear_forward_torch_layout,),
          frozenset({"linear_weight_transposed", "transposed"}),
          "x @ W.T + b, torch's layout"),
    Wrong("layers.linear_forward", (linear_forward_no_b,), frozenset({"linear_no_bias"}), "bias never added"),
    Wrong("layers.linear_forward", (linear_forward_loops,), frozenset({"float64_out"}),
          "np.zeros((N, fan_out)) output is float64 for float32 inputs"),
    # linear_backward
    Wrong("layers.linear_backward", (linear_forward_plain, linear_backward_db_keepdims),
          frozenset({"keepdims", "linear_db_not_summed"}), "db of shape (1, fan_out) from keepdims=True"),
    Wrong("layers.linear_backward", (linear_forward_plain, linear_backward_db_mean), frozenset({"linear_db_mean"}),
          "db is the mean of dout"),
    Wrong("layers.linear_backward", (linear_forward_plain, linear_backward_dW_wrong_order),
          frozenset({"linear_dW_transposed", "transposed"}), "dW = dout.T @ x"),
    Wrong("layers.linear_backward", (linear_forward_plain, linear_backward_averaged),
          frozenset({"linear_grads_averaged", "constant_factor"}), "dW and db divided by N"),
    Wrong("layers.linear_backward", (linear_forward_plain, linear_backward_dx_no_T),
          frozenset({"linear_dx_no_transpose"}), "dx = dout @ W without the transpose"),
    # relu_backward
    Wrong("layers.relu_backward", (relu_forward_cache_out, relu_backward_dout_mask),
          frozenset({"relu_backward_masks_dout"}), "mask on dout > 0"),
    Wrong("layers.relu_backward", (relu_forward_cache_x, relu_backward_ge), frozenset({"relu_backward_at_zero"}),
          "x >= 0 passes dout at the kink"),
    Wrong("layers.relu_backward", (relu_forward_cache_x, relu_backward_in_place), frozenset({"modifies_input"}),
          "zeroes the caller's dout in place"),
    Wrong("layers.relu_backward", (relu_forward_cache_x, relu_backward_no_upstream),
          frozenset({"relu_backward_no_dout"}), "returns the mask, not dout * mask"),
    # sigmoid_backward
    Wrong("layers.sigmoid_backward", (sigmoid_forward_cache_x, sigmoid_backward_on_x),
          frozenset({"sigmoid_backward_of_x"}), "caches x and applies x (1 - x)"),
    Wrong("layers.sigmoid_backward", (sigmoid_forward_cache_s, sigmoid_backward_only_s),
          frozenset({"sigmoid_backward_missing_factor"}), "dout * s"),
    # tanh_backward
    Wrong("layers.tanh_backward", (tanh_forward_cache_t, tanh_backward_no_square),
          frozenset({"tanh_backward_not_squared"}), "1 - t"),
    Wrong("layers.tanh_backward", (tanh_forward_cache_t, tanh_backward_forgot_dout),
          frozenset({"tanh_backward_no_dout"}), "1 - t**2 without dout"),
    # leaky_relu_backward
    Wrong("layers.leaky_relu_backward", (leaky_forward_only_x, leaky_backward_default_slope),
          frozenset({"leaky_backward_ignores_slope", "ignored:negative_slope"}),
          "forward caches x only, backward uses 0.01"),
    Wrong("layers.leaky_relu_backward", (leaky_forward_tuple, leaky_backward_ge), frozenset({"leaky_backward_at_zero"}),
          "derivative 1 at x = 0"),
    Wrong("layers.leaky_relu_backward", (leaky_forward_tuple, leaky_backward_relu),
          frozenset({"leaky_backward_zero_slope", "ignored:negative_slope", "same_as:layers.relu_backward"}),
          "ReLU's backward: 0 on the negative side"),
]

CORRECT = [
    Correct("layers.linear_forward", (linear_forward_einsum,), "einsum, dict cache"),
    Correct("layers.linear_backward", (linear_forward_einsum, linear_backward_einsum), "einsum for every gradient"),
    Correct("layers.linear_backward", (linear_forward_plain, linear_backward_outer_products),
            "dW as a loop of outer products"),
    Correct("layers.relu_backward", (relu_forward_cache_out, relu_backward_from_out), "mask from the cached output"),
    Correct("layers.sigmoid_backward", (sigmoid_forward_cache_s, sigmoid_backward_good), "s cached"),
    Correct("layers.sigmoid_backward", (sigmoid_forward_cache_x, sigmoid_backward_recompute), "x cached, s recomputed"),
    Correct("layers.tanh_backward", (tanh_forward_cache_t, tanh_backward_good), "dout - dout t t"),
    Correct("layers.leaky_relu_backward", (leaky_forward_mask, leaky_backward_mask), "mask and slope in a dict"),
]
