"""dlcourse.adaptive_variance against torch.optim.Adam's second moment and torch.optim.RAdam's steps, in float64.

Tolerances: psi_t from 300 Adam steps, rtol=1e-12 (a few operations per step, ~1e-16 each).  r_t from torch's
RAdam steps on a constant gradient with eps=0, where torch's step is exactly lr * r_t: rtol=1e-10, because
rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t) cancels twice for small t (1 - beta2^t, then rho_inf minus a
number close to it): with beta2 = 0.999 one ulp of beta2^t (numpy's vectorized pow and the scalar pow that
torch's Python floats use may differ by one) becomes about 6e-12 relative in r_7 (measured).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.adaptive_variance import adaptive_lr_samples, rectification, sma_length
from dlcourse.optim import radam_init, radam_step


def test_samples_are_torch_adams_bias_corrected_second_moment():
    steps, runs, beta2, mean = 300, 5, 0.99, 0.5
    psi = adaptive_lr_samples(steps, beta2=beta2, runs=runs, mean=mean, rng=np.random.default_rng(3))
    rng = np.random.default_rng(3)  # the documented order: one rng.normal(mean, 1, size=runs) per step
    p = torch.zeros(runs, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([p], betas=(0.9, beta2))
    for t in range(1, steps + 1):
        p.grad = torch.from_numpy(rng.normal(mean, 1.0, size=runs))
        optimizer.step()
        v_hat = optimizer.state[p]["exp_avg_sq"].numpy() / (1 - beta2**t)
        np.testing.assert_allclose(psi[t - 1], 1 / np.sqrt(v_hat), rtol=1e-12, err_msg=f"step {t}")


def test_first_adaptive_lr_is_one_over_the_first_gradient():
    psi = adaptive_lr_samples(1, runs=6, rng=np.random.default_rng(0))
    g = np.random.default_rng(0).normal(0.0, 1.0, size=6)
    np.testing.assert_allclose(psi[0], 1 / np.abs(g), rtol=1e-14)


@pytest.mark.parametrize("beta2", [0.999, 0.9, 0.5])
def test_rectification_is_torch_radams_step_on_a_constant_gradient(beta2):
    # constant gradient 1: m_hat = 1 and sqrt(1 - beta2^t) / sqrt(v) = 1, so torch's step is lr * r_t (eps = 0),
    # or lr (a momentum step) where r_t is undefined
    steps, lr = 400, 0.1
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.RAdam([p], lr=lr, betas=(0.9, beta2), eps=0.0)
    sizes = []
    for _ in range(steps):
        before = p.item()
        p.grad = torch.ones(1, dtype=torch.float64)
        optimizer.step()
        sizes.append((before - p.item()) / lr)
    r = rectification(np.arange(1, steps + 1), beta2)
    np.testing.assert_allclose(np.where(np.isnan(r), 1.0, r), sizes, rtol=1e-10)
    # and the same as dlcourse.optim.radam_step (with its eps > 0: up to eps)
    theta, state, ours = np.zeros(1), radam_init(np.zeros(1)), []
    for _ in range(steps):
        new_theta, state = radam_step(theta, np.ones(1), state, lr=lr, betas=(0.9, beta2), eps=1e-300)
        ours.append(float(theta[0] - new_theta[0]) / lr)
        theta = new_theta
    np.testing.assert_allclose(ours, sizes, rtol=1e-10)


def test_sma_length_and_rectification_values():
    t = np.arange(1, 3001)
    rho = sma_length(t)
    assert rho[0] == pytest.approx(1.0, rel=1e-12)
    assert np.all(np.diff(rho) > 0) and rho[-1] < 2 / (1 - 0.999) - 1
    r = rectification(t)
    assert np.isnan(r[:5]).all() and np.all(np.diff(r[5:]) > 0) and 0 < r[5] < r[-1] < 1
    assert sma_length(7).shape == () and rectification(np.array([[6]])).shape == (1, 1)


def test_rectified_adaptive_lr_has_about_its_late_spread_from_the_start():
    # Liu et al.'s point: std(r_t psi_t) is about std(psi) late in training, for every t with rho_t > 5
    psi = adaptive_lr_samples(1000, runs=4000, rng=np.random.default_rng(1))
    t = np.arange(1, 1001)
    rectified = rectification(t)[:, None] * psi
    late = np.sqrt(sma_length(10**6) / (2 * (sma_length(10**6) - 2) * (sma_length(10**6) - 4)))  # rho_inf, sigma = 1
    spread = rectified[5:].std(axis=1)
    assert np.all((spread > 0.5 * late) & (spread < 1.2 * late))
    assert psi[0].std() > 10 * psi[-1].std()


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="steps"):
        adaptive_lr_samples(0, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="beta2 must be in"):
        adaptive_lr_samples(5, beta2=1.0, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        adaptive_lr_samples(5, rng=0)
    with pytest.raises(ValueError, match="t must be >= 1"):
        sma_length(np.arange(3))
    with pytest.raises(TypeError, match="t must be an int or an integer array"):
        rectification(2.5)
