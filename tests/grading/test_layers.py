"""Linear and activation layer checks: the reference passes, mistakes are diagnosed, correct variants pass."""

import dataclasses

import numpy as np
import pytest

from dlcourse.grading import GradingError, get_target, targets
from dlcourse.grading._core import run_check, seed_for
from dlcourse.grading.topics import layers as topic
from grading.helpers import assert_accepted, assert_catalogue_diagnosed, assert_rejected, passes_as_reference

NAMES = [target.name for target in topic.TARGETS]


def test_all_layer_targets_are_registered():
    # every layers.* target, whichever topic module (layers, losses, dropout, two_layer_net) defines it
    assert {t for t in targets() if t.startswith("layers.")} == {f"layers.{n}" for n in (
        "linear_forward", "linear_backward", "relu_backward", "sigmoid_backward", "tanh_backward",
        "leaky_relu_backward", "mse_loss", "mae_loss", "bce_loss", "softmax_cross_entropy",
        "dropout_forward", "dropout_backward", "two_layer_net")}


def test_the_module_declares_its_targets():
    assert NAMES == ["layers.linear_forward", "layers.linear_backward", "layers.relu_backward",
                     "layers.sigmoid_backward", "layers.tanh_backward", "layers.leaky_relu_backward"]
    assert set(NAMES) <= set(targets())


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("hidden", [False, True])
def test_reference_passes(name, hidden):
    assert passes_as_reference(name, hidden).startswith("OK")


# ---------------------------------------- wrong code, written as a student would
def lin_fwd(x, W, b):
    return x.dot(W) + b, (x, W, b)


def lin_fwd_no_bias(x, W, b):
    return x @ W, (x, W, b)


def lin_fwd_weight_T(x, W, b):
    return x @ W.T + b, (x, W, b)


def lin_bwd_dW_T(dout, cache):
    x, W, _ = cache
    return dout @ W.T, dout.T @ x, dout.sum(axis=0)


def lin_bwd_dx_no_T(dout, cache):
    x, W, _ = cache
    return dout @ W, x.T @ dout, dout.sum(axis=0)


def lin_bwd_db_mean(dout, cache):
    x, W, _ = cache
    return dout @ W.T, x.T @ dout, np.mean(dout, axis=0)


def lin_bwd_dW_per_example(dout, cache):
    x, W, _ = cache
    return dout @ W.T, np.einsum("ni,nj->nij", x, dout), dout.sum(axis=0)


def lin_bwd_db_dout(dout, cache):
    x, W, _ = cache
    return dout @ W.T, x.T @ dout, dout


def lin_bwd_averaged(dout, cache):
    x, W, _ = cache
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


def test_every_target_catalogues_at_least_two_or_three_mistakes():
    for name in NAMES:
        assert len(get_target(name).mistakes) >= (2 if name == "layers.linear_forward" else 3), name


# ------------------------------------------------------------ contract failures
def lin_bwd_two_values(dout, cache):
    x, W, _ = cache
    return dout @ W.T, x.T @ dout


def relu_fwd_only_out(x):
    return np.maximum(x, 0)


def relu_bwd_raises(dout, cache):
    raise NotImplementedError("TODO")


def lin_fwd_transposed_out(x, W, b):
    return (x @ W + b).T, (x, W, b)


def lin_bwd_db_keepdims(dout, cache):
    x, W, _ = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0, keepdims=True)


def lin_bwd_dW_wrong_order(dout, cache):
    x, W, _ = cache
    return dout @ W.T, dout.T @ x, dout.sum(axis=0)


def relu_bwd_in_place(dout, x):
    dout[x <= 0] = 0
    return dout

@pytest.mark.parametrize(("fns", "against", "match"), [
    ([lin_fwd, lin_bwd_two_values], "layers.linear_backward",
     "linear_backward must return 3 values (dx, dW, db); it returned a tuple of 2 values"),
    ([relu_fwd_only_out, relu_bwd_dout_mask], "layers.relu_backward",
     "relu_forward must return 2 values (out, cache); it returned a single array"),
    ([relu_fwd, relu_bwd_raises], "layers.relu_backward", "relu_backward raised NotImplementedError: TODO"),
    ([lin_fwd_transposed_out], "layers.linear_forward",
     "out = x @ W + b has shape (5, 3) but should have shape (3, 5): transposed? (check the order of the matrix "
     "product / .T)"),
    ([lin_fwd, lin_bwd_db_keepdims], "layers.linear_backward", "db (shape of b, (fan_out,)) has shape (1, 5) but "
     "should have shape (5,): sum(axis=0, keepdims=True) keeps a leading axis of size 1: drop keepdims or reshape"),
    ([relu_fwd, relu_bwd_in_place], "layers.relu_backward", "relu_backward modified its input dout in place"),
    ([lin_fwd, lin_bwd_dx_no_T], "layers.linear_backward", "dx (shape of x, (N, fan_in)): first wrong value"),
])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_contract_failures_give_clear_feedback(fns, against, match):
    assert_rejected(fns, against, match=match)


def test_a_transposed_gradient_is_called_transposed_and_diagnosed():
    # the first trial's layer is square, so dW's values fail there; from the second trial on, dW's shape does
    message = assert_rejected([lin_fwd, lin_bwd_dW_wrong_order], "layers.linear_backward", "linear_dW_transposed")
    assert "dW (shape of W, (fan_in, fan_out)): first wrong value" in message
    target = get_target("layers.linear_backward")
    trials = target.trials(np.random.default_rng(seed_for(target.name, False)), False)[1:]
    with pytest.raises(GradingError) as info:
        run_check(dataclasses.replace(target, trials=lambda rng, hidden: trials), [lin_fwd, lin_bwd_dW_wrong_order])
    assert "has shape (3, 7) but should have shape (7, 3): transposed? (check the order of the matrix product" in str(
        info.value)
    assert info.value.mistake == "linear_dW_transposed"


def test_a_shape_error_in_backward_lists_the_shapes():
    def lin_bwd_crash(dout, cache):
        x, W, _ = cache
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

CORRECT = [
    ([lin_fwd_loop], "layers.linear_forward"),
    ([lin_fwd], "layers.linear_forward"),
    ([lin_fwd_loop, lin_bwd_einsum], "layers.linear_backward"),
    ([relu_fwd_cache_out, relu_bwd_from_out], "layers.relu_backward"),
    ([sigmoid_fwd_cache_out, sigmoid_bwd_from_out], "layers.sigmoid_backward"),
    ([tanh_fwd, tanh_bwd], "layers.tanh_backward"),
    ([leaky_fwd_cache_slope, leaky_bwd_with_slope], "layers.leaky_relu_backward"),
]


@pytest.mark.parametrize(("fns", "against"), CORRECT, ids=[f"{a}-{f[-1].__name__}" for f, a in CORRECT])
def test_correct_alternatives_are_accepted(fns, against):
    assert_accepted(fns, against)
