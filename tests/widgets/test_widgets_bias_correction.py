"""dlcourse.widgets.bias_correction: Adam's moments against torch.optim.Adam's state, in float64.

Adam's moments (one multiply-add per step, 300 steps): rtol=1e-12; the step
per unit lr is read off torch's parameter difference, which loses digits to
the growing parameter: rtol=1e-9.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.widgets.bias_correction import (
    GRADIENTS,
    adam_moments,
    bias_correction_data,
    bias_correction_explorer,
    describe_bias_correction,
)


def torch_adam_states(gradients, beta1, beta2, lr=1.0):
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([p], lr=lr, betas=(beta1, beta2))
    m, v, steps = [], [], []
    for g in gradients:
        before = p.detach().clone()
        p.grad = torch.tensor([g], dtype=torch.float64)
        optimizer.step()
        state = optimizer.state[p]
        m.append(state["exp_avg"].item())
        v.append(state["exp_avg_sq"].item())
        steps.append(((before - p.detach()) / lr).item())
    return np.array(m), np.array(v), np.array(steps)


@pytest.mark.parametrize(("beta1", "beta2"), [(0.9, 0.999), (0.5, 0.9), (0.0, 0.99)])
def test_adam_moments_match_torch_adam_state(beta1, beta2):
    g = 1.0 + 2.0 * np.random.default_rng(3).standard_normal(300)
    ours = adam_moments(g, beta1, beta2)
    m, v, steps = torch_adam_states(g, beta1, beta2)
    np.testing.assert_allclose(ours["m"], m, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ours["v"], v, rtol=1e-12)
    np.testing.assert_allclose(ours["step"], steps, rtol=1e-9, atol=1e-12)


def test_constant_gradient_is_recovered_exactly_by_bias_correction():
    beta1, beta2 = 0.9, 0.999
    ours = adam_moments(np.full(100, 3.0), beta1, beta2)
    t = np.arange(1, 101)
    np.testing.assert_allclose(ours["m"], 3.0 * (1 - beta1**t), rtol=1e-12)
    np.testing.assert_allclose(ours["m_hat"], 3.0, rtol=1e-12)
    np.testing.assert_allclose(ours["v_hat"], 9.0, rtol=1e-12)
    # the uncorrected step is about (1 - beta1^t) / sqrt(1 - beta2^t) times too large
    expected = 3.0 * (1 - beta1**t) / (3.0 * np.sqrt(1 - beta2**t) + 1e-8)
    np.testing.assert_allclose(ours["step_uncorrected"], expected, rtol=1e-12)
    assert ours["step_uncorrected"][0] == pytest.approx(0.1 / np.sqrt(0.001), rel=1e-6)


def test_bias_correction_data_and_errors():
    data = bias_correction_data("noisy g ~ N(1, 2^2)", 0.9, 0.99, 400)
    assert data["mean"] == 1.0 and data["mean_square"] == 5.0 and data["g"].shape == (400,)
    np.testing.assert_array_equal(data["g"], bias_correction_data("noisy g ~ N(1, 2^2)", 0.5, 0.9, 400)["g"])
    assert abs(data["m_hat"][-50:].mean() - 1.0) < 1.0
    assert set(GRADIENTS) == {"constant g = 1", "noisy g ~ N(1, 2^2)"}
    with pytest.raises(ValueError, match="gradient"):
        bias_correction_data("zero")
    with pytest.raises(ValueError, match="beta2"):
        adam_moments(np.ones(3), 0.9, 1.0)
    with pytest.raises(ValueError, match="gradients"):
        adam_moments(np.ones((3, 2)))
    with pytest.raises(TypeError, match="beta3"):
        bias_correction_explorer(beta3=0.5)


def test_the_text_states_the_moments_and_the_factor():
    data = bias_correction_data("constant g = 1", 0.9, 0.999, 50)
    text = describe_bias_correction(data, "constant g = 1", 0.9, 0.999, 50)
    assert "at t = 1, 10, 50: m (biased) 0.1, 0.651," in text and "3.2 times" in text
