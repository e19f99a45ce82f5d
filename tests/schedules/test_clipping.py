"""dlcourse.schedules.clipping against torch.nn.utils.clip_grad_norm_ / clip_grad_value_.

Tolerances
----------
CLIP_RTOL = 1e-12: float64, same norms up to summation order (numpy's pairwise
sums / BLAS dot vs torch's vectorized reductions).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dlcourse import schedules as S

CLIP_RTOL = 1e-12


GRAD_SHAPES = [(3,), (2, 5), (1,), (4, 1, 3), (7, 7)]


def random_grads(seed: int, scale: float = 1.0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [scale * rng.standard_normal(shape) for shape in GRAD_SHAPES]


def torch_params_with_grads(grads):
    params = []
    for g in grads:
        p = torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64))
        p.grad = torch.tensor(g, dtype=torch.float64)
        params.append(p)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3.0, 0.5])
@pytest.mark.parametrize("max_norm_factor", [0.01, 0.5, 0.999, 1.5, 100.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_clip_grad_norm_matches_torch(norm_type, max_norm_factor, seed):
    grads = random_grads(seed, scale=3.0)
    originals = [g.copy() for g in grads]
    params = torch_params_with_grads(grads)
    true_norm = float(torch.nn.utils.get_total_norm([p.grad for p in params], norm_type))
    max_norm = max_norm_factor * true_norm  # below and above the threshold
    torch_total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)

    clipped, total_norm = S.clip_grad_norm(grads, max_norm, norm_type=norm_type)

    assert isinstance(total_norm, float)
    np.testing.assert_allclose(total_norm, float(torch_total), rtol=CLIP_RTOL)
    assert len(clipped) == len(grads)
    for ours, p in zip(clipped, params, strict=True):
        np.testing.assert_allclose(ours, p.grad.numpy(), rtol=CLIP_RTOL, atol=0)
    for g, original in zip(grads, originals, strict=True):  # pure
        np.testing.assert_array_equal(g, original)


def test_clip_grad_norm_scale_uses_torch_eps():
    # norm 5 with max_norm 5: torch scales by 5 / (5 + 1e-6) < 1, not by 1
    grads = [np.array([3.0, 4.0])]
    clipped, total_norm = S.clip_grad_norm(grads, 5.0)
    params = torch_params_with_grads(grads)
    torch.nn.utils.clip_grad_norm_(params, 5.0)
    assert total_norm == 5.0
    np.testing.assert_array_equal(clipped[0], params[0].grad.numpy())
    assert np.linalg.norm(clipped[0]) < 5.0
    # custom eps
    clipped, _ = S.clip_grad_norm(grads, 5.0, eps=0.0)
    np.testing.assert_array_equal(clipped[0], grads[0])


def test_clip_grad_norm_returns_new_arrays_even_without_clipping():
    grads = random_grads(3, scale=1e-3)
    clipped, _ = S.clip_grad_norm(grads, max_norm=1e3)
    for ours, g in zip(clipped, grads, strict=True):
        assert not np.shares_memory(ours, g)
        np.testing.assert_array_equal(ours, g)


def test_clip_grad_norm_single_array_and_float32():
    g = np.random.default_rng(4).standard_normal((3, 4)).astype(np.float32)
    param = torch.nn.Parameter(torch.zeros(3, 4))
    param.grad = torch.tensor(g)
    torch_total = torch.nn.utils.clip_grad_norm_(param, 0.1)
    clipped, total_norm = S.clip_grad_norm(g, 0.1)
    assert isinstance(clipped, list) and len(clipped) == 1
    assert clipped[0].dtype == np.float32
    # float32 sums in a different order: a few roundings of 6e-8
    np.testing.assert_allclose(total_norm, float(torch_total), rtol=1e-6)
    np.testing.assert_allclose(clipped[0], param.grad.numpy(), rtol=1e-6)


def test_clip_grad_norm_empty_list_like_torch():
    assert S.clip_grad_norm([], 1.0) == ([], float(torch.nn.utils.clip_grad_norm_([], 1.0)))


@pytest.mark.parametrize("clip_value", [1e-3, 0.5, 1.0, 10.0])
def test_clip_grad_value_matches_torch(clip_value):
    grads = random_grads(5, scale=2.0)
    originals = [g.copy() for g in grads]
    params = torch_params_with_grads(grads)
    torch.nn.utils.clip_grad_value_(params, clip_value)
    clipped = S.clip_grad_value(grads, clip_value)
    for ours, p in zip(clipped, params, strict=True):
        np.testing.assert_array_equal(ours, p.grad.numpy())  # clamping is exact
    for g, original in zip(grads, originals, strict=True):
        np.testing.assert_array_equal(g, original)
        assert not any(np.shares_memory(g, c) for c in clipped)


def test_clip_grad_value_single_array_keeps_dtype():
    g = np.array([[-3.0, 0.2], [5.0, -0.1]], dtype=np.float32)
    (clipped,) = S.clip_grad_value(g, 1.0)
    assert clipped.dtype == np.float32
    np.testing.assert_array_equal(clipped, np.array([[-1.0, 0.2], [1.0, -0.1]], dtype=np.float32))


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: S.clip_grad_norm([np.ones(3)], 0.0), ValueError, "max_norm must be in"),
        (lambda: S.clip_grad_norm([np.ones(3)], 1.0, norm_type=-2), ValueError, "norm_type must be in .*np.inf"),
        (lambda: S.clip_grad_norm([np.ones(3)], 1.0, norm_type="fro"), TypeError, "norm_type must be a real number"),
        (lambda: S.clip_grad_norm([np.ones(3)], 1.0, eps=-1.0), ValueError, "eps must be in"),
        (lambda: S.clip_grad_norm([np.ones(3), np.arange(3)], 1.0), TypeError, r"grads\[1\] must be a floating-point"),
        (lambda: S.clip_grad_norm({"w": np.ones(3)}, 1.0), TypeError, "grads must be an ndarray or a list"),
        (lambda: S.clip_grad_value([np.ones(3)], -1.0), ValueError, "clip_value must be in"),
        (lambda: S.clip_grad_value(np.arange(3), 1.0), TypeError, r"grads\[0\] must be a floating-point"),
    ],
)
def test_clipping_bad_arguments_are_rejected(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
