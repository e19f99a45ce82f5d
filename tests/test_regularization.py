"""dlcourse.regularization against torch: the L2 penalty's gradient is torch.optim.SGD's weight_decay,
the decoupled decay is torch.optim.AdamW's first line, and the two agree only for plain SGD."""

import numpy as np
import pytest
import torch

from dlcourse.optim import adam_init, adam_step
from dlcourse.regularization import coupled_vs_decoupled, decoupled_decay, l2_penalty, sgdw_init, sgdw_step

# float64; the references and torch do the same products up to reassociation
# (theta - lr * (g + wd * theta) vs theta * (1 - lr * wd) - lr * g): rtol 1e-12,
# with an absolute part relative to the largest entry for entries that cancel.
TORCH_RTOL = 1e-12



# ---------------------------------------------------------------------------
# the references against torch
# ---------------------------------------------------------------------------


def random_params(seed, shapes=(("W1", (4, 7)), ("b1", (7,)), ("W2", (7, 3)), ("b2", (3,)))):
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal(shape) for name, shape in shapes}


def torch_step(optimizer_class, params, grads, steps=1, **options):
    """Parameters after ``steps`` steps of a torch optimizer, every step with the same loss gradients."""
    tensors = {name: torch.nn.Parameter(torch.tensor(W, dtype=torch.float64)) for name, W in params.items()}
    optimizer = optimizer_class(list(tensors.values()), **options)
    for _ in range(steps):
        for name, p in tensors.items():
            p.grad = torch.tensor(grads[name], dtype=torch.float64)
        optimizer.step()
    return {name: p.detach().numpy() for name, p in tensors.items()}


def assert_close(ours, theirs):
    for name in theirs:
        scale = np.max(np.abs(theirs[name]))
        np.testing.assert_allclose(ours[name], theirs[name], rtol=TORCH_RTOL, atol=TORCH_RTOL * scale, err_msg=name)


@pytest.mark.parametrize(("lr", "weight_decay", "seed"), [(0.1, 0.01, 0), (0.5, 0.3, 1), (1e-3, 5.0, 2)])
def test_l2_gradient_is_torch_sgd_weight_decay(lr, weight_decay, seed):
    # torch.optim.SGD(weight_decay) adds exactly the penalty's gradient to every parameter's gradient
    params, loss_grads = random_params(seed), random_params(seed + 100)
    _, penalty_grads = l2_penalty(params, weight_decay)
    ours = {name: params[name] - lr * (loss_grads[name] + penalty_grads[name]) for name in params}
    assert_close(ours, torch_step(torch.optim.SGD, params, loss_grads, lr=lr, weight_decay=weight_decay))


@pytest.mark.parametrize(("weight_decay", "seed"), [(0.1, 3), (2.0, 4), (0.0, 5)])
def test_l2_penalty_is_the_function_whose_torch_gradient_it_returns(weight_decay, seed):
    params = random_params(seed)
    penalty, grads = l2_penalty(params, weight_decay)
    tensors = {name: torch.tensor(W, dtype=torch.float64, requires_grad=True) for name, W in params.items()}
    torch_penalty = weight_decay / 2 * sum((p * p).sum() for p in tensors.values())
    torch_penalty.backward()
    assert penalty == pytest.approx(torch_penalty.item(), rel=TORCH_RTOL, abs=0)
    assert_close(grads, {name: p.grad.numpy() for name, p in tensors.items()})
    assert isinstance(penalty, float) and grads.keys() == params.keys()


@pytest.mark.parametrize(("lr", "weight_decay", "seed"), [(0.1, 0.01, 6), (1e-3, 0.5, 7), (0.3, 1.0, 8)])
def test_decoupled_decay_is_torch_adamw_without_a_gradient(lr, weight_decay, seed):
    # with a zero gradient Adam's update is 0 / (0 + eps) = 0: AdamW's step is its decay alone
    params = random_params(seed)
    zero = {name: np.zeros_like(W) for name, W in params.items()}
    theirs = torch_step(torch.optim.AdamW, params, zero, lr=lr, weight_decay=weight_decay)
    assert_close({name: decoupled_decay(W, lr, weight_decay) for name, W in params.items()}, theirs)


@pytest.mark.parametrize(("lr", "weight_decay", "seed"), [(0.01, 0.1, 9), (3e-4, 1.0, 10)])
def test_decoupled_decay_then_adam_is_torch_adamw(lr, weight_decay, seed):
    # 5 steps; the Adam step without weight decay does not look at theta, so decay-then-Adam is AdamW
    params, grads = random_params(seed), random_params(seed + 100)
    ours = {}
    for name, theta in params.items():
        state = adam_init(theta)
        for _ in range(5):
            theta, state = adam_step(decoupled_decay(theta, lr, weight_decay), grads[name], state, lr=lr)
        ours[name] = theta
    assert_close(ours, torch_step(torch.optim.AdamW, params, grads, steps=5, lr=lr, weight_decay=weight_decay))


@pytest.mark.parametrize(("lr", "weight_decay", "seed"), [(0.1, 0.01, 11), (0.5, 0.3, 12)])
def test_for_sgd_the_decoupled_decay_is_the_l2_gradient(lr, weight_decay, seed):
    params, grads = random_params(seed), random_params(seed + 100)
    ours = {name: decoupled_decay(W, lr, weight_decay) - lr * grads[name] for name, W in params.items()}
    assert_close(ours, torch_step(torch.optim.SGD, params, grads, lr=lr, weight_decay=weight_decay))


def test_for_adam_the_l2_gradient_is_not_the_decoupled_decay():
    # what the exercise demonstrates: torch's Adam(weight_decay) and AdamW part ways
    params, grads = random_params(13), random_params(113)
    adam = torch_step(torch.optim.Adam, params, grads, steps=5, lr=0.01, weight_decay=0.5)
    adamw = torch_step(torch.optim.AdamW, params, grads, steps=5, lr=0.01, weight_decay=0.5)
    assert all(np.max(np.abs(adam[k] - adamw[k])) > 1e-3 for k in params)


def test_references_keep_their_inputs_and_float32():
    params = {name: W.astype(np.float32) for name, W in random_params(14).items()}
    before = {name: W.copy() for name, W in params.items()}
    penalty, grads = l2_penalty(params, 0.1)
    decayed = decoupled_decay(params["W1"], 0.1, 0.1)
    assert all(np.array_equal(params[k], before[k]) for k in params)
    assert all(g.dtype == np.float32 for g in grads.values()) and decayed.dtype == np.float32
    assert isinstance(penalty, float)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: l2_penalty(np.ones(3), 0.1), TypeError, "params must be a dict"),
        (lambda: l2_penalty({"W": np.ones(3)}, -0.1), ValueError, "weight_decay must be in"),
        (lambda: l2_penalty({"W": np.arange(3)}, 0.1), TypeError, r"params\['W'\] must be a floating-point array"),
        (lambda: decoupled_decay(np.ones(3), -1.0, 0.1), ValueError, "lr must be in"),
        (lambda: decoupled_decay(np.ones(3), 0.1, "0.1"), TypeError, "weight_decay must be a real number"),
        (lambda: decoupled_decay(np.arange(3), 0.1, 0.1), TypeError, "theta must be a floating-point array"),
    ],
)
def test_reference_input_errors_name_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()



# ---------------------------------------------------------------------------
# SGD with momentum: L2 in the gradient (torch SGD) vs decoupled (SGDW)
# ---------------------------------------------------------------------------


def torch_sgdw(theta0, grad_fn, steps, lr, momentum, weight_decay):
    """SGDW in torch: AdamW's first line (p *= 1 - lr * wd) then torch.optim.SGD(momentum) on the loss gradient."""
    p = torch.nn.Parameter(torch.tensor(theta0, dtype=torch.float64))
    optimizer = torch.optim.SGD([p], lr=lr, momentum=momentum)
    for _ in range(steps):
        p.grad = torch.tensor(grad_fn(p.detach().numpy().copy()), dtype=torch.float64)  # at the undecayed theta
        with torch.no_grad():
            p.mul_(1 - lr * weight_decay)
        optimizer.step()
    return p.detach().numpy()


def quadratic_grad(theta):
    return np.array([3.0, 0.5, -1.0]) * theta + np.array([1.0, -2.0, 0.5])


@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9])
@pytest.mark.parametrize("weight_decay", [0.0, 0.3])
def test_sgdw_is_torch_sgd_with_adamws_decay_line(momentum, weight_decay):
    theta0, lr, steps = np.array([1.0, -2.0, 0.5]), 0.05, 25
    theta, state = theta0.copy(), sgdw_init(theta0)
    for _ in range(steps):
        theta, state = sgdw_step(theta, quadratic_grad(theta), state, lr=lr, momentum=momentum,
                                 weight_decay=weight_decay)
    expected = torch_sgdw(theta0, quadratic_grad, steps, lr, momentum, weight_decay)
    np.testing.assert_allclose(theta, expected, rtol=TORCH_RTOL, atol=TORCH_RTOL * np.abs(expected).max())
    assert state["step"] == steps


def test_coupled_is_torch_sgd_weight_decay_and_both_reach_their_fixed_points():
    rng = np.random.default_rng(0)
    A, y = rng.normal(size=(30, 3)), rng.normal(size=30)
    lr, weight_decay, steps = 0.05, 0.2, 3000
    runs = coupled_vs_decoupled(A, y, lr=lr, weight_decay=weight_decay, steps=steps, momenta=(0.0, 0.9))
    grad = lambda theta: 2 * A.T @ (A @ theta - y) / len(y)  # noqa: E731
    for momentum, run in runs.items():
        # coupled: torch.optim.SGD(momentum, weight_decay), step for step
        p = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
        optimizer = torch.optim.SGD([p], lr=lr, momentum=momentum, weight_decay=weight_decay)
        for _ in range(steps):
            p.grad = torch.tensor(grad(p.detach().numpy().copy()))
            optimizer.step()
        np.testing.assert_allclose(run["coupled"], p.detach().numpy(), rtol=1e-10)
        np.testing.assert_allclose(run["decoupled"], torch_sgdw(np.zeros(3), grad, steps, lr, momentum, weight_decay),
                                   rtol=1e-10)
        # the fixed points: L + lambda/2 |theta|^2 (coupled), L + (1 - momentum) lambda/2 |theta|^2 (decoupled)
        np.testing.assert_allclose(run["coupled"], run["minimizer, lambda"], rtol=1e-9)
        np.testing.assert_allclose(run["decoupled"], run["minimizer, (1 - momentum) lambda"], rtol=1e-9)
    np.testing.assert_allclose(runs[0.0]["coupled"], runs[0.0]["decoupled"], rtol=1e-12)  # no momentum: one step
    assert np.abs(runs[0.9]["coupled"] - runs[0.9]["decoupled"]).max() > 0.01


def test_sgdw_rejects_bad_input():
    theta = np.zeros(2)
    with pytest.raises(ValueError, match="momentum"):
        sgdw_step(theta, theta, sgdw_init(theta), momentum=1.0)
    with pytest.raises(ValueError, match="weight_decay"):
        sgdw_step(theta, theta, sgdw_init(theta), weight_decay=-0.1)
    with pytest.raises(ValueError, match="grad"):
        sgdw_step(theta, np.zeros(3), sgdw_init(theta))
    with pytest.raises(TypeError, match="sgdw_init"):
        sgdw_step(theta, theta, {})
    with pytest.raises(ValueError, match="A must be"):
        coupled_vs_decoupled(np.zeros((3, 2)), np.zeros(2), lr=0.1, weight_decay=0.1, steps=1)
