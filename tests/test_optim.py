"""Tests of dlcourse.optim against torch.optim (float64).

Every step function is run for N_STEPS steps next to the matching torch.optim
class on the same random gradients (set as ``p.grad`` by hand), comparing the
parameters after every step.  Lion has no torch class: it is compared with a
direct torch-tensor transcription of the paper's Algorithm 2 written below.
Momentum's moving-average and Sutskever forms are compared with
torch.optim.SGD(momentum=mu) after the documented rescaling of lr.
"""

from __future__ import annotations

import copy
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch_paths import torch_trajectory

from dlcourse import optim
from dlcourse.optim import (
    OPTIMIZERS,
    Optimizer,
    adadelta_step,
    adagrad_init,
    adagrad_step,
    adam_init,
    adam_step,
    as_torch_optimizer,
    ema_momentum_init,
    ema_momentum_step,
    lion_init,
    lion_step,
    momentum_init,
    momentum_step,
    nadam_step,
    nesterov_init,
    nesterov_step,
    radam_init,
    radam_step,
    rmsprop_step,
    sgd_init,
    sgd_step,
    sutskever_momentum_init,
    sutskever_momentum_step,
)
from dlcourse.surfaces import get_surface, run

# float64; numpy and torch do the same operations up to reassociation (torch's
# fused lerp/addcmul/addcdiv kernels vs our slide-ordered ufuncs, e.g.
# beta*m + (1 - beta)*g against m + (1 - beta)*(g - m)), ~1e-16 relative per
# operation.  100 steps accumulate that rounding (and adaptive methods divide
# by small roots), so after 100 steps: rtol=1e-10, atol=1e-12.  Measured: at
# most 2e-12 relative (momentum, where a coordinate crosses 0), 7e-4 of the
# tolerance.
RTOL, ATOL = 1e-10, 1e-12
N_STEPS = 100
SHAPES = [(1,), (3, 7), (5,)]

# (id, registry name, our keyword arguments, torch class, torch keyword arguments).
# "default" cases pass nothing to our step function: they also check the defaults.
TORCH_CASES = [
    ("sgd-default", "sgd", {}, torch.optim.SGD, {}),
    ("sgd-wd", "sgd", {"lr": 0.1, "weight_decay": 0.1}, torch.optim.SGD, {"lr": 0.1, "weight_decay": 0.1}),
    ("momentum-default", "momentum", {}, torch.optim.SGD, {"momentum": 0.9}),
    (
        "momentum-dampening-wd",
        "momentum",
        {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.05},
        torch.optim.SGD,
        {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.05},
    ),
    ("nesterov-default", "nesterov", {}, torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
    (
        "nesterov-wd",
        "nesterov",
        {"lr": 0.05, "momentum": 0.7, "weight_decay": 0.05},
        torch.optim.SGD,
        {"lr": 0.05, "momentum": 0.7, "weight_decay": 0.05, "nesterov": True},
    ),
    ("adagrad-default", "adagrad", {}, torch.optim.Adagrad, {}),
    (
        "adagrad-all",
        "adagrad",
        {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.3, "weight_decay": 0.05, "eps": 1e-6},
        torch.optim.Adagrad,
        {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.3, "weight_decay": 0.05, "eps": 1e-6},
    ),
    ("rmsprop-default", "rmsprop", {}, torch.optim.RMSprop, {}),
    (
        "rmsprop-centered-momentum-wd",
        "rmsprop",
        {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "momentum": 0.5, "centered": True, "weight_decay": 0.1},
        torch.optim.RMSprop,
        {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "momentum": 0.5, "centered": True, "weight_decay": 0.1},
    ),
    ("rmsprop-centered", "rmsprop", {"centered": True}, torch.optim.RMSprop, {"centered": True}),
    (
        "rmsprop-momentum",
        "rmsprop",
        {"momentum": 0.9, "alpha": 0.3},
        torch.optim.RMSprop,
        {"momentum": 0.9, "alpha": 0.3},
    ),
    ("adadelta-default", "adadelta", {}, torch.optim.Adadelta, {}),
    (
        "adadelta-custom",
        "adadelta",
        {"lr": 0.5, "rho": 0.8, "eps": 1e-5, "weight_decay": 0.1},
        torch.optim.Adadelta,
        {"lr": 0.5, "rho": 0.8, "eps": 1e-5, "weight_decay": 0.1},
    ),
    ("adam-default", "adam", {}, torch.optim.Adam, {}),
    (
        "adam-custom-wd",
        "adam",
        {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1},
        torch.optim.Adam,
        {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1},
    ),
    ("adamw-default", "adamw", {}, torch.optim.AdamW, {}),
    (
        "adamw-custom",
        "adamw",
        {"lr": 0.01, "betas": (0.5, 0.9), "eps": 1e-7, "weight_decay": 0.3},
        torch.optim.AdamW,
        {"lr": 0.01, "betas": (0.5, 0.9), "eps": 1e-7, "weight_decay": 0.3},
    ),
    ("amsgrad-default", "amsgrad", {}, torch.optim.Adam, {"amsgrad": True}),
    (
        "amsgrad-wd",
        "amsgrad",
        {"lr": 0.01, "betas": (0.7, 0.9), "weight_decay": 0.1},
        torch.optim.Adam,
        {"lr": 0.01, "betas": (0.7, 0.9), "weight_decay": 0.1, "amsgrad": True},
    ),
    ("adamax-default", "adamax", {}, torch.optim.Adamax, {}),
    (
        "adamax-custom",
        "adamax",
        {"lr": 0.01, "betas": (0.6, 0.95), "eps": 1e-6, "weight_decay": 0.1},
        torch.optim.Adamax,
        {"lr": 0.01, "betas": (0.6, 0.95), "eps": 1e-6, "weight_decay": 0.1},
    ),
    ("nadam-default", "nadam", {}, torch.optim.NAdam, {}),
    (
        "nadam-l2",
        "nadam",
        {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1, "momentum_decay": 0.01},
        torch.optim.NAdam,
        {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1, "momentum_decay": 0.01},
    ),
    (
        "nadam-decoupled",
        "nadam",
        {"lr": 0.01, "weight_decay": 0.2, "decoupled_weight_decay": True},
        torch.optim.NAdam,
        {"lr": 0.01, "weight_decay": 0.2, "decoupled_weight_decay": True},
    ),
    # RAdam: with the default betas steps 1-5 are momentum steps, then rectified ones (both branches);
    # beta2 = 0.9 rectifies from t = 6 on, with r = 0.26 there and 0.9998 at t = 100;
    # beta2 = 0.5 (rho_inf = 3) never rectifies
    ("radam-default", "radam", {}, torch.optim.RAdam, {}),
    (
        "radam-l2",
        "radam",
        {"lr": 0.01, "betas": (0.8, 0.9), "eps": 1e-6, "weight_decay": 0.1},
        torch.optim.RAdam,
        {"lr": 0.01, "betas": (0.8, 0.9), "eps": 1e-6, "weight_decay": 0.1},
    ),
    (
        "radam-decoupled",
        "radam",
        {"lr": 0.01, "weight_decay": 0.2, "decoupled_weight_decay": True},
        torch.optim.RAdam,
        {"lr": 0.01, "weight_decay": 0.2, "decoupled_weight_decay": True},
    ),
    (
        "radam-never-rectified",
        "radam",
        {"lr": 0.01, "betas": (0.9, 0.5)},
        torch.optim.RAdam,
        {"lr": 0.01, "betas": (0.9, 0.5)},
    ),
]

# Hyperparameters that exercise every branch (weight decay, centered, momentum, ...).
BRANCHY = {
    "sgd": {"lr": 0.1, "weight_decay": 0.1},
    "momentum": {"lr": 0.1, "dampening": 0.2, "weight_decay": 0.1},
    "nesterov": {"lr": 0.1, "weight_decay": 0.1},
    "adagrad": {"lr_decay": 0.1, "initial_accumulator_value": 0.2, "weight_decay": 0.1},
    "rmsprop": {"momentum": 0.5, "centered": True, "weight_decay": 0.1},
    "adadelta": {"weight_decay": 0.1},
    "adam": {"weight_decay": 0.1},
    "adamw": {"weight_decay": 0.1},
    "amsgrad": {"weight_decay": 0.1},
    "adamax": {"weight_decay": 0.1},
    "nadam": {"weight_decay": 0.1},
    "radam": {"weight_decay": 0.1},
    "lion": {"weight_decay": 0.1},
}


def random_gradients(rng: np.random.Generator, shape: tuple[int, ...], n_steps: int) -> list[np.ndarray]:
    """Gradients of varied scale; the first has an exact zero (eps and sign(0) paths)."""
    scales = 10.0 ** rng.uniform(-2, 1, size=n_steps)
    grads = [scale * rng.standard_normal(shape) for scale in scales]
    grads[0].flat[-1] = 0.0
    return grads


def make_torch_optimizer(torch_cls, param: torch.Tensor, kwargs: dict) -> torch.optim.Optimizer:
    optimizer = torch_cls([param], **kwargs)
    if torch_cls is torch.optim.NAdam:
        # torch keeps NAdam's mu_product (and step) in the *default* dtype,
        # float32 here, which would round the bias correction at 1e-7; start
        # its state in float64 instead (the same values torch would create).
        optimizer.state[param] = {
            "step": torch.tensor(0.0, dtype=torch.float64),
            "mu_product": torch.tensor(1.0, dtype=torch.float64),
            "exp_avg": torch.zeros_like(param),
            "exp_avg_sq": torch.zeros_like(param),
        }
    return optimizer


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("case", TORCH_CASES, ids=[case[0] for case in TORCH_CASES])
def test_matches_torch_every_step(case, shape):
    _, name, our_kwargs, torch_cls, torch_kwargs = case
    init_fn, step_fn = OPTIMIZERS[name]
    rng = np.random.default_rng(sum(map(ord, case[0])) + len(shape))
    theta = rng.standard_normal(shape)
    param = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    torch_optimizer = make_torch_optimizer(torch_cls, param, torch_kwargs)
    state = init_fn(theta)
    for t, grad in enumerate(random_gradients(rng, shape, N_STEPS), start=1):
        theta, state = step_fn(theta, grad, state, **our_kwargs)
        param.grad = torch.tensor(grad, dtype=torch.float64)
        torch_optimizer.step()
        np.testing.assert_allclose(theta, param.detach().numpy(), rtol=RTOL, atol=ATOL, err_msg=f"step {t}")
        assert state["step"] == t


def lion_paper_torch(theta: torch.Tensor, grads, lr: float, betas: tuple[float, float], weight_decay: float):
    """Algorithm 2 of Chen et al. (2023), "Symbolic discovery of optimization algorithms",
    in plain torch tensor ops; yields theta after every step."""
    beta1, beta2 = betas
    m = torch.zeros_like(theta)
    for g in grads:
        update = (beta1 * m + (1 - beta1) * g).sign()
        theta = theta - lr * (update + weight_decay * theta)
        m = beta2 * m + (1 - beta2) * g
        yield theta


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"lr": 3e-3, "betas": (0.8, 0.95), "weight_decay": 0.5},
        {"lr": 1e-2, "betas": (0.0, 0.5), "weight_decay": 0.0},
    ],
    ids=["default", "custom-wd", "beta1-zero"],
)
def test_lion_matches_paper_algorithm(kwargs, shape):
    rng = np.random.default_rng(len(kwargs) + len(shape))
    theta = rng.standard_normal(shape)
    grads = random_gradients(rng, shape, N_STEPS)
    full = {"lr": 1e-4, "betas": (0.9, 0.99), "weight_decay": 0.0, **kwargs}  # lion_step's documented defaults
    reference = lion_paper_torch(
        torch.tensor(theta, dtype=torch.float64), [torch.tensor(g, dtype=torch.float64) for g in grads], **full
    )
    state = lion_init(theta)
    for t, (grad, expected) in enumerate(zip(grads, reference, strict=True), start=1):
        theta, state = lion_step(theta, grad, state, **kwargs)
        np.testing.assert_allclose(theta, expected.numpy(), rtol=RTOL, atol=ATOL, err_msg=f"step {t}")


def test_lion_sign_of_zero_does_not_move():
    theta = np.array([1.0, -2.0, 3.0])
    new_theta, _ = lion_step(theta, np.array([0.0, 0.5, -0.5]), lion_init(theta), lr=0.1)
    assert new_theta[0] == theta[0]  # sign(0) = 0, as np.sign and torch.sign
    np.testing.assert_allclose(np.abs(new_theta[1:] - theta[1:]), 0.1, rtol=1e-14)  # |step| = lr


# --- purity ----------------------------------------------------------------------------------


def _arrays_of(state: dict) -> list[np.ndarray]:
    return [value for value in state.values() if isinstance(value, np.ndarray)]


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_step_is_pure(name):
    init_fn, step_fn = OPTIMIZERS[name]
    rng = np.random.default_rng(1)
    theta, grad = rng.standard_normal((3, 7)), rng.standard_normal((3, 7))
    state = init_fn(theta)
    theta, state = step_fn(theta, grad, state, **BRANCHY[name])  # so the state buffers are non-zero
    grad = rng.standard_normal((3, 7))
    before = copy.deepcopy((theta, grad, state))

    new_theta, new_state = step_fn(theta, grad, state, **BRANCHY[name])

    np.testing.assert_array_equal(theta, before[0])
    np.testing.assert_array_equal(grad, before[1])
    assert state.keys() == before[2].keys()
    for key in state:
        np.testing.assert_array_equal(state[key], before[2][key], err_msg=key)
    inputs = [theta, grad, *_arrays_of(state)]
    for output in [new_theta, *_arrays_of(new_state)]:
        assert not any(np.shares_memory(output, array) for array in inputs)
    assert not np.array_equal(new_theta, theta)
    # The old state is still usable and gives the same answer again.
    again_theta, again_state = step_fn(theta, grad, state, **BRANCHY[name])
    np.testing.assert_array_equal(again_theta, new_theta)
    assert again_state.keys() == new_state.keys()


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_init_takes_only_theta_and_counts_from_zero(name):
    init_fn, step_fn = OPTIMIZERS[name]
    theta = np.linspace(-1.0, 1.0, 5)
    state = init_fn(theta)
    assert state["step"] == 0
    for array in _arrays_of(state):
        assert array.shape == theta.shape and not np.shares_memory(array, theta)
    for t in (1, 2, 3):
        theta, state = step_fn(theta, np.full(5, 0.5), state)
        assert state["step"] == t


def test_step_counter_is_used_after_increment():
    # Adam's bias correction at t = 1 makes m_hat = g and v_hat = g^2, so the
    # first step moves every coordinate by lr * |g| / (|g| + eps).
    theta, grad = np.zeros(4), np.array([1e-3, -2.0, 30.0, -0.5])
    new_theta, state = adam_step(theta, grad, adam_init(theta), lr=0.1, eps=1e-8)
    np.testing.assert_allclose(new_theta, -0.1 * grad / (np.abs(grad) + 1e-8), rtol=1e-14)
    assert state["step"] == 1
    # Adagrad's decayed rate uses t - 1 = 0 on the first step: lr_decay has no effect yet.
    a, _ = adagrad_step(theta, grad, adagrad_init(theta), lr=0.1, lr_decay=0.5)
    b, _ = adagrad_step(theta, grad, adagrad_init(theta), lr=0.1, lr_decay=0.0)
    np.testing.assert_array_equal(a, b)


def test_radam_takes_momentum_steps_until_v_averages_more_than_five_gradients():
    # With beta2 = 0.999, rho_t (the number of squared gradients v effectively averages) is 1.0, 2.0, 3.0, 4.0,
    # 5.0 (to one decimal) for t = 1..5: plain momentum steps theta - lr * m_hat, which scale with the gradient;
    # from t = 6 on the step is Adam's, rectified, and does not.
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(4) for _ in range(7)]
    steps = {}
    for scale in (1.0, 100.0):
        theta, state, adam_state, steps[scale] = np.zeros(4), radam_init(np.zeros(4)), adam_init(np.zeros(4)), []
        for t, grad in enumerate(grads, start=1):
            new_theta, state = radam_step(theta, scale * grad, state, lr=0.1)
            _, adam_state = adam_step(theta, scale * grad, adam_state, lr=0.1)  # the same m
            if t <= 5:
                m_hat = adam_state["exp_avg"] / (1 - 0.9**t)
                np.testing.assert_allclose(new_theta, theta - 0.1 * m_hat, rtol=1e-15)
            steps[scale].append(new_theta - theta)
            theta = new_theta
    np.testing.assert_allclose(100 * np.array(steps[1.0][:5]), steps[100.0][:5], rtol=1e-12)
    np.testing.assert_allclose(steps[1.0][5:], steps[100.0][5:], rtol=1e-6)  # up to eps


def test_first_momentum_buffer_is_the_undampened_gradient():
    theta, grad = np.zeros(3), np.array([1.0, -2.0, 3.0])
    _, state = momentum_step(theta, grad, momentum_init(theta), dampening=0.5)
    np.testing.assert_array_equal(state["momentum_buffer"], grad)
    assert not np.shares_memory(state["momentum_buffer"], grad)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("grad_dtype", [np.float32, np.float64])
def test_keeps_float32_dtype_of_theta(name, grad_dtype):
    init_fn, step_fn = OPTIMIZERS[name]
    theta = np.linspace(-1, 1, 6, dtype=np.float32)
    state = init_fn(theta)
    for _ in range(2):
        theta, state = step_fn(theta, np.linspace(1, -2, 6).astype(grad_dtype), state, **BRANCHY[name])
        assert theta.dtype == np.float32
        assert all(array.dtype == np.float32 for array in _arrays_of(state))


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_wrong_grad_shape_names_both_shapes(name):
    init_fn, step_fn = OPTIMIZERS[name]
    theta = np.zeros(3)
    with pytest.raises(ValueError, match=r"theta has shape \(3,\) but grad has shape \(3, 1\)"):
        step_fn(theta, np.zeros((3, 1)), init_fn(theta))


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_integer_arrays_are_rejected(name):
    init_fn, step_fn = OPTIMIZERS[name]
    theta = np.zeros(3)
    with pytest.raises(TypeError, match="theta must be a floating-point array"):
        step_fn(np.arange(3), np.zeros(3), init_fn(theta))
    with pytest.raises(TypeError, match="grad must be a floating-point array"):
        step_fn(theta, np.arange(3), init_fn(theta))


@pytest.mark.parametrize(
    ("step_fn", "wrong_init", "init_name"),
    [
        (adam_step, sgd_init, "adam_init"),
        (momentum_step, adagrad_init, "momentum_init"),
        (rmsprop_step, sgd_init, "rmsprop_init"),
    ],
)
def test_state_from_another_optimizer_is_rejected(step_fn, wrong_init, init_name):
    theta = np.zeros(3)
    with pytest.raises(ValueError, match=f"state was not made by {init_name}"):
        step_fn(theta, np.ones(3), wrong_init(theta))


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_scalar_theta_is_rejected(name):
    init_fn, step_fn = OPTIMIZERS[name]
    with pytest.raises(ValueError, match=r"theta must have at least one dimension.*np.array\(\[x\]\)"):
        init_fn(np.array(1.0))
    with pytest.raises(ValueError, match="theta must have at least one dimension"):
        step_fn(1.0, 0.5, init_fn(np.ones(1)))


def test_state_of_another_parameter_is_rejected():
    with pytest.raises(ValueError, match=r"state\['exp_avg'\] must be an array of theta's shape \(4,\)"):
        adam_step(np.zeros(4), np.ones(4), adam_init(np.zeros(3)))
    with pytest.raises(TypeError, match="state must be the dict returned by adam_init"):
        adam_step(np.zeros(4), np.ones(4), None)


@pytest.mark.parametrize(
    ("step_fn", "kwargs", "error", "match"),
    [
        (sgd_step, {"lr": -0.1}, ValueError, "lr must be in"),
        (sgd_step, {"weight_decay": -1.0}, ValueError, "weight_decay must be in"),
        (momentum_step, {"momentum": 1.0}, ValueError, "momentum must be in"),
        (momentum_step, {"dampening": 1.5}, ValueError, "dampening must be in"),
        (nesterov_step, {"momentum": 0.0}, ValueError, "momentum must be in"),
        (adagrad_step, {"lr_decay": -1.0}, ValueError, "lr_decay must be in"),
        (adagrad_step, {"initial_accumulator_value": -0.1}, ValueError, "initial_accumulator_value must be in"),
        (adagrad_step, {"eps": 0.0}, ValueError, "eps must be in"),
        (rmsprop_step, {"alpha": 1.0}, ValueError, "alpha must be in"),
        (rmsprop_step, {"centered": "yes"}, TypeError, "centered must be True or False"),
        (adadelta_step, {"rho": 1.0}, ValueError, "rho must be in"),
        (adam_step, {"betas": (1.0, 0.999)}, ValueError, r"betas\[0\] must be in"),
        (adam_step, {"betas": (0.9, -0.1)}, ValueError, r"betas\[1\] must be in"),
        (adam_step, {"betas": 0.9}, ValueError, "betas must be a pair"),
        (adam_step, {"lr": "fast"}, TypeError, "lr must be a real number"),
        (nadam_step, {"momentum_decay": -1.0}, ValueError, "momentum_decay must be in"),
        (nadam_step, {"decoupled_weight_decay": 1}, TypeError, "decoupled_weight_decay must be True"),
        (radam_step, {"betas": (0.9, 1.0)}, ValueError, r"betas\[1\] must be in"),
        (radam_step, {"eps": 0.0}, ValueError, "eps must be in"),
        (radam_step, {"decoupled_weight_decay": "no"}, TypeError, "decoupled_weight_decay must be True"),
        (lion_step, {"betas": (0.9, 1.0)}, ValueError, r"betas\[1\] must be in"),
    ],
)
def test_bad_hyperparameters_are_named(step_fn, kwargs, error, match):
    init_fn = optim.resolve_optimizer(step_fn)[0]
    theta = np.zeros(3)
    with pytest.raises(error, match=match):
        step_fn(theta, np.ones(3), init_fn(theta), **kwargs)


# --- momentum's other two forms (dlcourse.optim.momentum_forms) -----------------------------

MOMENTUM_STEPS = 150  # on a 2-D surface, where the gradient depends on the iterate



@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize(("lr", "mu"), [(0.05, 0.9), (0.3, 0.5), (0.01, 0.99)])
def test_momentum_forms_are_torch_momentum_after_rescaling_lr(lr, mu, shape):
    # dampening 0, constant lr: EMA with lr / (1 - mu) and Sutskever with lr give torch's SGD(lr, momentum=mu)
    rng = np.random.default_rng(int(100 * lr) + len(shape))
    theta0 = rng.standard_normal(shape)
    param = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
    torch_optimizer = torch.optim.SGD([param], lr=lr, momentum=mu)
    ema_theta, ema_state = theta0, ema_momentum_init(theta0)
    sutskever_theta, sutskever_state = theta0, sutskever_momentum_init(theta0)
    for t, grad in enumerate(random_gradients(rng, shape, N_STEPS), start=1):
        ema_theta, ema_state = ema_momentum_step(ema_theta, grad, ema_state, lr=lr / (1 - mu), beta=mu)
        sutskever_theta, sutskever_state = sutskever_momentum_step(
            sutskever_theta, grad, sutskever_state, lr=lr, momentum=mu
        )
        param.grad = torch.tensor(grad)
        torch_optimizer.step()
        theirs = param.detach().numpy()
        np.testing.assert_allclose(ema_theta, theirs, rtol=RTOL, atol=ATOL, err_msg=f"EMA form, step {t}")
        np.testing.assert_allclose(sutskever_theta, theirs, rtol=RTOL, atol=ATOL, err_msg=f"Sutskever form, step {t}")
    assert ema_state["step"] == sutskever_state["step"] == N_STEPS


@pytest.mark.parametrize("name", ["ravine", "quadratic"])
@pytest.mark.parametrize(("lr", "beta"), [(0.05, 0.9), (0.3, 0.5), (0.01, 0.99)])
def test_ema_form_equals_torch_with_rescaled_lr(name, lr, beta):
    # torch with lr equals the moving-average form with lr / (1 - beta)
    ours = run(ema_momentum_step, ema_momentum_init, name, None, MOMENTUM_STEPS, lr=lr / (1 - beta), beta=beta)
    theirs = torch_trajectory(name, MOMENTUM_STEPS, lambda p: torch.optim.SGD(p, lr=lr, momentum=beta))
    assert np.isfinite(ours).all()
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", ["ravine", "quadratic"])
@pytest.mark.parametrize(("lr", "momentum"), [(0.05, 0.9), (0.3, 0.5)])
def test_sutskever_form_equals_torch_with_the_same_lr(name, lr, momentum):
    ours = run(sutskever_momentum_step, sutskever_momentum_init, name, None, MOMENTUM_STEPS, lr=lr, momentum=momentum)
    theirs = torch_trajectory(name, MOMENTUM_STEPS, lambda p: torch.optim.SGD(p, lr=lr, momentum=momentum))
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)


def test_sutskever_form_differs_from_torch_under_a_schedule():
    # torch multiplies the whole buffer by the new lr; Sutskever's velocity keeps the old ones
    def schedule(t):
        return 0.1 if t <= 20 else 0.01

    surface = get_surface("ravine")
    theta, state = np.array(surface.default_start), sutskever_momentum_init(np.zeros(2))
    ours = [theta]
    for t in range(1, 41):
        theta, state = sutskever_momentum_step(theta, surface.grad(theta), state, lr=schedule(t), momentum=0.9)
        ours.append(theta)
    theirs = torch_trajectory("ravine", 40, lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), schedule)
    np.testing.assert_allclose(ours[:21], theirs[:21], rtol=RTOL, atol=ATOL)
    assert np.abs(np.array(ours[21:]) - theirs[21:]).max() > 1e-2


def test_torch_dampening_is_not_the_moving_average_form():
    # torch's first buffer is the undampened gradient: its first step is 1/(1 - beta) times the EMA form's
    beta, lr = 0.9, 0.1
    theirs = torch_trajectory("ravine", 1, lambda p: torch.optim.SGD(p, lr=lr, momentum=beta, dampening=beta))
    ours = run(ema_momentum_step, ema_momentum_init, "ravine", None, 1, lr=lr, beta=beta)
    start = np.array(get_surface("ravine").default_start)
    np.testing.assert_allclose(theirs[1] - start, (ours[1] - start) / (1 - beta), rtol=1e-12)


@pytest.mark.parametrize(
    ("init_fn", "step_fn", "kwargs"),
    [
        (ema_momentum_init, ema_momentum_step, {"beta": 0.9}),
        (sutskever_momentum_init, sutskever_momentum_step, {"momentum": 0.9}),
    ],
)
def test_momentum_forms_are_pure_and_keep_float32(init_fn, step_fn, kwargs):
    rng = np.random.default_rng(0)
    theta, grad = rng.standard_normal(7).astype(np.float32), rng.standard_normal(7).astype(np.float32)
    state = init_fn(theta)
    state["velocity"] = rng.standard_normal(7).astype(np.float32)
    copies = theta.copy(), grad.copy(), state["velocity"].copy()
    new_theta, new_state = step_fn(theta, grad, state, lr=0.1, **kwargs)
    for before, after in zip(copies, (theta, grad, state["velocity"]), strict=True):
        np.testing.assert_array_equal(before, after)
    assert new_theta.dtype == np.float32 and new_state["velocity"].dtype == np.float32
    assert new_state["step"] == 1 and new_state["velocity"] is not state["velocity"]




def test_momentum_forms_name_bad_arguments():
    theta = np.zeros(3)
    with pytest.raises(ValueError, match="beta"):
        ema_momentum_step(theta, theta, ema_momentum_init(theta), beta=1.0)
    with pytest.raises(ValueError, match="lr"):
        sutskever_momentum_step(theta, theta, sutskever_momentum_init(theta), lr=-1.0)
    with pytest.raises(ValueError, match="sutskever_momentum_init"):
        sutskever_momentum_step(theta, theta, {"step": 0})
    with pytest.raises(ValueError, match="grad"):
        ema_momentum_step(theta, np.zeros((3, 1)), ema_momentum_init(theta))


# --- the in-place Optimizer wrapper ---------------------------------------------------------


def test_optimizer_on_a_list_matches_torch():
    rng = np.random.default_rng(3)
    params = [rng.standard_normal(shape) for shape in SHAPES]
    originals = list(params)
    tensors = [torch.tensor(p, requires_grad=True) for p in params]
    ours = Optimizer(params, adam_step, lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)
    reference = torch.optim.Adam(tensors, lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)
    for t in range(1, 31):
        grads = [rng.standard_normal(p.shape) for p in params]
        ours.step(grads)
        for tensor, grad in zip(tensors, grads, strict=True):
            tensor.grad = torch.tensor(grad)
        reference.step()
        for p, original, tensor in zip(params, originals, tensors, strict=True):
            assert p is original  # updated in place
            np.testing.assert_allclose(p, tensor.detach().numpy(), rtol=RTOL, atol=ATOL, err_msg=f"step {t}")
    assert [state["step"] for state in ours.state] == [30, 30, 30]


def test_optimizer_updates_a_params_dict_in_place():
    model = {"W": np.ones((2, 3)), "b": np.zeros(3)}
    W = model["W"]
    opt = Optimizer(model, "sgd", lr=0.5)
    opt.step({"W": np.full((2, 3), 2.0), "b": np.ones(3)})
    assert model["W"] is W
    np.testing.assert_array_equal(W, np.ones((2, 3)) - 0.5 * 2.0)
    np.testing.assert_array_equal(model["b"], -0.5 * np.ones(3))
    assert set(opt.state) == {"W", "b"}
    opt.hyperparameters["lr"] = 0.0  # hyperparameters can be changed between steps (a schedule)
    opt.step({"W": np.full((2, 3), 2.0), "b": np.ones(3)})
    np.testing.assert_array_equal(model["b"], -0.5 * np.ones(3))


def test_optimizer_writes_nothing_if_one_step_fails():
    params = [np.ones(2), np.ones(3)]
    opt = Optimizer(params, sgd_step, lr=1.0)
    with pytest.raises(ValueError, match="grad has shape"):
        opt.step([np.ones(2), np.ones((3, 1))])
    np.testing.assert_array_equal(params[0], np.ones(2))


def myadam_init(theta):
    return {"step": 0, "m": np.zeros_like(theta)}


def myadam_step(theta, grad, state, *, lr=0.1):
    return theta - lr * grad, {"step": state["step"] + 1, "m": state["m"]}


def test_optimizer_finds_init_fn():
    assert Optimizer([np.zeros(2)], nesterov_step).init_fn is nesterov_init
    assert Optimizer([np.zeros(2)], "lion").init_fn is lion_init
    assert Optimizer([np.zeros(2)], ema_momentum_step).init_fn is ema_momentum_init
    assert Optimizer([np.zeros(2)], sutskever_momentum_step).init_fn is sutskever_momentum_init
    # a step function of your own needs its init: it is not guessed from names
    assert Optimizer([np.zeros(2)], myadam_step, myadam_init).init_fn is myadam_init
    with pytest.raises(TypeError, match="pass init_fn"):
        Optimizer([np.zeros(2)], myadam_step)
    with pytest.raises(TypeError, match="pass init_fn"):
        Optimizer([np.zeros(2)], lambda theta, grad, state: (theta, state))


def test_optimizer_errors():
    with pytest.raises(TypeError, match="adam_step has no hyperparameter 'beta1'"):
        Optimizer([np.zeros(2)], adam_step, beta1=0.9)
    with pytest.raises(TypeError, match="params must be a list or dict"):
        Optimizer(np.zeros(2), adam_step)
    with pytest.raises(TypeError, match=r"params\[0\] must be a numpy array"):
        Optimizer([[0.0, 1.0]], adam_step)
    with pytest.raises(TypeError, match=r"params\['w'\] must be a floating-point array"):
        Optimizer({"w": np.arange(2)}, adam_step)
    with pytest.raises(ValueError, match="step_fn must be one of"):
        Optimizer([np.zeros(2)], "adamm")
    opt = Optimizer({"w": np.zeros(2)}, adam_step)
    with pytest.raises(ValueError, match="grads must be a dict with the keys of params"):
        opt.step({"v": np.zeros(2)})
    with pytest.raises(ValueError, match="grads must be a list of 1 arrays"):
        Optimizer([np.zeros(2)], adam_step).step([np.zeros(2), np.zeros(2)])


# --- the torch adapter ----------------------------------------------------------------------


def _linear_model_and_data(seed: int):
    torch.manual_seed(seed)
    model = torch.nn.Linear(4, 3, dtype=torch.float64)
    x = torch.randn(7, 4, dtype=torch.float64)
    y = torch.randn(7, 3, dtype=torch.float64)
    return model, x, y


def _train(model, optimizer, x, y, n_steps, scheduler=None):
    trajectory = []
    for _ in range(n_steps):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        trajectory.append([p.detach().clone() for p in model.parameters()])
    return trajectory


def _assert_same_trajectory(ours, reference):
    for t, (a, b) in enumerate(zip(ours, reference, strict=True), start=1):
        for p, q in zip(a, b, strict=True):
            np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=RTOL, atol=ATOL, err_msg=f"step {t}")


def test_torch_adapter_trains_like_torch_adam():
    model, x, y = _linear_model_and_data(0)
    twin = copy.deepcopy(model)
    ours = as_torch_optimizer(model.parameters(), adam_step, adam_init, lr=0.05, weight_decay=0.01)
    assert isinstance(ours, torch.optim.Optimizer)
    reference = torch.optim.Adam(twin.parameters(), lr=0.05, weight_decay=0.01)
    _assert_same_trajectory(_train(model, ours, x, y, 50), _train(twin, reference, x, y, 50))


def test_torch_adapter_param_groups_and_scheduler():
    model, x, y = _linear_model_and_data(1)
    twin = copy.deepcopy(model)

    def groups(m):
        return [{"params": [m.weight], "lr": 0.1, "momentum": 0.5}, {"params": [m.bias]}]

    ours = optim.NumpyStepOptimizer(groups(model), momentum_step, lr=0.01, momentum=0.9)
    reference = torch.optim.SGD(groups(twin), lr=0.01, momentum=0.9)
    schedulers = [torch.optim.lr_scheduler.StepLR(o, step_size=5, gamma=0.5) for o in (ours, reference)]
    _assert_same_trajectory(
        _train(model, ours, x, y, 20, schedulers[0]), _train(twin, reference, x, y, 20, schedulers[1])
    )
    assert ours.param_groups[0]["lr"] == reference.param_groups[0]["lr"] != 0.1


def test_torch_adapter_skips_missing_grads_and_runs_closure():
    model, x, y = _linear_model_and_data(2)
    frozen = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))
    optimizer = as_torch_optimizer([*model.parameters(), frozen], "rmsprop", lr=0.01)

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    assert torch.is_tensor(loss) and loss.item() > 0
    assert torch.equal(frozen, torch.ones(2, dtype=torch.float64))
    assert frozen not in optimizer.state and optimizer.state[model.weight]["step"] == 1


def test_torch_adapter_state_dict_round_trip():
    model, x, y = _linear_model_and_data(3)
    twin = copy.deepcopy(model)
    first = as_torch_optimizer(model.parameters(), adam_step, lr=0.05)
    _train(model, first, x, y, 5)
    twin.load_state_dict(model.state_dict())
    second = as_torch_optimizer(twin.parameters(), adam_step, lr=0.05)
    second.load_state_dict(first.state_dict())
    _assert_same_trajectory(_train(model, first, x, y, 5), _train(twin, second, x, y, 5))


def test_torch_adapter_handles_scalar_parameters():
    # numpy step functions need >= 1-d arrays; the adapter reshapes 0-d tensors.
    scalar, twin = (torch.nn.Parameter(torch.tensor(1.5, dtype=torch.float64)) for _ in range(2))
    ours = as_torch_optimizer([scalar], adam_step, lr=0.1)
    reference = torch.optim.Adam([twin], lr=0.1)
    for t in range(1, 11):
        for p, optimizer in ((scalar, ours), (twin, reference)):
            optimizer.zero_grad()
            (p**3).backward()
            optimizer.step()
        assert scalar.shape == ()
        np.testing.assert_allclose(scalar.item(), twin.item(), rtol=RTOL, atol=ATOL, err_msg=f"step {t}")


def test_torch_adapter_rejects_unknown_hyperparameters():
    model, _, _ = _linear_model_and_data(4)
    with pytest.raises(TypeError, match="has no hyperparameter 'beta1'"):
        as_torch_optimizer(model.parameters(), adam_step, beta1=0.9)


# --- package ---------------------------------------------------------------------------------


def test_registry_names_match_functions():
    assert set(OPTIMIZERS) == {
        "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta",
        "adam", "adamw", "amsgrad", "adamax", "nadam", "radam", "lion",
    }  # fmt: skip
    for name, (init_fn, step_fn) in OPTIMIZERS.items():
        assert (init_fn.__name__, step_fn.__name__) == (f"{name}_init", f"{name}_step")
        assert getattr(optim, f"{name}_step") is step_fn


def test_import_does_not_import_torch():
    code = "import sys, dlcourse.optim; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
