"""dlcourse.losses against torch.nn.functional and torch.autograd, float64."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse import layers as L
from dlcourse import losses as LS


def t64(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64, requires_grad=grad)


def quiet(fn, *args, **kwargs):
    with np.errstate(over="raise", divide="raise", invalid="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kwargs)



# -------------------------------------------------------------------- losses
# Loss values are means of n float64 terms and the gradients elementwise
# formulas: same operations as torch up to summation order: rtol 1e-12.
LOSS_RTOL, LOSS_ATOL = 1e-12, 1e-15
LOSS_SHAPES = [(1,), (7,), (4, 3), (1, 1)]


def _torch_loss(fn, inp, target):
    it = t64(inp, True)
    loss = fn(it, t64(target))
    (g,) = torch.autograd.grad(loss, it)
    return loss.item(), g.numpy()


def _compare_loss(ours, theirs, inp, target):
    copies = (inp.copy(), target.copy())
    loss, grad = quiet(ours, inp, target)
    loss_t, grad_t = _torch_loss(theirs, inp, target)
    assert isinstance(loss, float) and grad.shape == inp.shape
    assert loss == pytest.approx(loss_t, rel=LOSS_RTOL, abs=LOSS_ATOL)
    np.testing.assert_allclose(grad, grad_t, rtol=LOSS_RTOL, atol=LOSS_ATOL)
    np.testing.assert_array_equal(inp, copies[0])
    np.testing.assert_array_equal(target, copies[1])


@pytest.mark.parametrize("shape", LOSS_SHAPES)
def test_mse_and_mae_match_torch(shape):
    rng = np.random.default_rng(len(shape) + shape[0])
    pred, target = rng.normal(size=shape), rng.normal(size=shape)
    target.flat[0] = pred.flat[0]  # a tie: MAE subgradient 0 as torch's sign(0)
    _compare_loss(LS.mse_loss, F.mse_loss, pred, target)
    _compare_loss(LS.mae_loss, F.l1_loss, pred, target)


@pytest.mark.parametrize("shape", LOSS_SHAPES)
def test_bce_matches_torch(shape):
    rng = np.random.default_rng(shape[0])
    prob, target = rng.uniform(0.01, 0.99, size=shape), rng.uniform(0, 1, size=shape)
    _compare_loss(LS.bce_loss, F.binary_cross_entropy, prob, target)


def test_bce_clamps_like_torch_at_zero_and_one():
    prob = np.array([0.0, 1.0, 0.0, 1.0, 1e-50, 1 - 1e-17, 0.5])
    target = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.3])
    _compare_loss(LS.bce_loss, F.binary_cross_entropy, prob, target)


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_bce_rejects_non_probabilities(bad):
    with pytest.raises(ValueError, match=r"prob must be probabilities in \[0, 1\]"):
        LS.bce_loss(np.array([0.5, bad]), np.array([1.0, 0.0]))


@pytest.mark.parametrize("shape", LOSS_SHAPES)
def test_bce_with_logits_matches_torch(shape):
    rng = np.random.default_rng(shape[0] + 10)
    logits, target = rng.normal(0, 4, size=shape), rng.uniform(0, 1, size=shape)
    _compare_loss(LS.bce_with_logits_loss, F.binary_cross_entropy_with_logits, logits, target)


def test_bce_with_logits_large_logits_quiet():
    logits = np.array([1e4, -1e4, 50.0, -50.0, 1e3, -1e3, 0.0])
    target = np.array([1.0, 0.0, 0.0, 1.0, 0.5, 0.5, 1.0])
    _compare_loss(LS.bce_with_logits_loss, F.binary_cross_entropy_with_logits, logits, target)


@pytest.mark.parametrize("n, c", [(1, 1), (1, 10), (7, 3), (64, 10)])
@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_softmax_cross_entropy_matches_torch(n, c, scale):
    rng = np.random.default_rng(n * c)
    logits, labels = rng.normal(0, scale, size=(n, c)), rng.integers(0, c, size=n)
    copies = (logits.copy(), labels.copy())
    loss, dlogits = quiet(LS.softmax_cross_entropy, logits, labels)
    lt = t64(logits, True)
    loss_t = F.cross_entropy(lt, torch.tensor(labels))
    (g,) = torch.autograd.grad(loss_t, lt)
    # Scale 1e4: the loss is O(1e4) and log-softmax subtracts O(1e4) numbers: rtol 1e-12 relative to that.
    assert loss == pytest.approx(loss_t.item(), rel=LOSS_RTOL, abs=LOSS_ATOL * scale)
    np.testing.assert_allclose(dlogits, g.numpy(), rtol=LOSS_RTOL, atol=LOSS_ATOL)
    np.testing.assert_array_equal(logits, copies[0])
    np.testing.assert_array_equal(labels, copies[1])


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_and_log_softmax_match_torch(axis):
    x = np.random.default_rng(0).normal(0, 100, size=(3, 4, 5))
    x[0, 0, 0] = 1e4
    np.testing.assert_allclose(quiet(LS.softmax, x, axis), torch.softmax(t64(x), axis).numpy(), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(
        quiet(LS.log_softmax, x, axis), torch.log_softmax(t64(x), axis).numpy(), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize(
    "logits, labels, exc, match",
    [
        (np.zeros((3, 4)), np.array([0.0, 1.0, 2.0]), TypeError, "labels must be integer class indices"),
        (np.zeros((3, 4)), np.array([0, 4, 1]), ValueError, r"labels must be in \[0, 3\].*\[0, 4\]"),
        (np.zeros((3, 4)), np.array([0, -1, 1]), ValueError, r"labels must be in \[0, 3\]"),
        (np.zeros((3, 4)), np.array([0, 1]), ValueError, r"labels must have shape \(N,\) = \(3,\)"),
        (np.zeros(4), np.array([0]), ValueError, r"logits must have shape \(N, C\)"),
        (np.zeros((3, 4), dtype=int), np.array([0, 1, 2]), TypeError, "logits must be a floating-point array"),
    ],
)
def test_softmax_cross_entropy_errors(logits, labels, exc, match):
    with pytest.raises(exc, match=match):
        LS.softmax_cross_entropy(logits, labels)


@pytest.mark.parametrize("loss_fn", [LS.mse_loss, LS.mae_loss, LS.bce_loss, LS.bce_with_logits_loss])
def test_losses_reject_mismatched_shapes(loss_fn):
    first = loss_fn.__code__.co_varnames[0]
    with pytest.raises(ValueError, match=f"target must have the same shape as {first}"):
        loss_fn(np.full((4, 1), 0.5), np.full((4,), 0.5))




def test_layers_reexports_every_loss():
    assert set(LS.__all__) <= set(L.__all__)
    for name in LS.__all__:
        assert getattr(L, name) is getattr(LS, name)
