"""L2 penalty and decoupled weight decay checks: references against torch, mistakes diagnosed, variants accepted.

Every student function below is written from scratch with numpy, as a student
would, not taken from the catalogue.
"""

import numpy as np
import pytest
import torch

from dlcourse.grading import get_target, targets
from dlcourse.grading.topics.regularization import decoupled_decay, l2_penalty
from dlcourse.optim import adam_init, adam_step
from grading.helpers import assert_accepted, assert_catalogue_diagnosed, assert_rejected, passes_as_reference

NAMES = [t for t in targets() if t.startswith("regularization.")]

# float64; the references and torch do the same products up to reassociation
# (theta - lr * (g + wd * theta) vs theta * (1 - lr * wd) - lr * g): rtol 1e-12,
# with an absolute part relative to the largest entry for entries that cancel.
TORCH_RTOL = 1e-12


def test_targets_and_roles():
    assert {name: get_target(name).roles for name in NAMES} == {
        "regularization.l2_penalty": ("l2_penalty",),
        "regularization.decoupled_decay": ("decoupled_decay",),
    }


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("hidden", [False, True])
def test_reference_passes(name, hidden):
    assert passes_as_reference(name, hidden).startswith("OK")


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
# catalogued mistakes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("hidden", [False, True])
def test_every_catalogued_mistake_is_diagnosed(name, hidden):
    assert_catalogue_diagnosed(name, hidden)


def penalty_like_the_slide(params, weight_decay):
    penalty, grads = 0.0, {}
    for name, W in params.items():
        penalty += weight_decay * np.sum(W**2)
        grads[name] = 2 * weight_decay * W
    return penalty, grads


def penalty_value_without_half(params, weight_decay):
    penalty = weight_decay * sum(np.sum(W**2) for W in params.values())
    return penalty, {name: weight_decay * W for name, W in params.items()}


def penalty_with_abs(params, weight_decay):
    penalty = weight_decay * sum(np.abs(W).sum() for W in params.values())
    return penalty, {name: weight_decay * np.sign(W) for name, W in params.items()}


def penalty_gradient_downhill(params, weight_decay):
    penalty = weight_decay / 2 * sum(np.sum(W * W) for W in params.values())
    return penalty, {name: -weight_decay * W for name, W in params.items()}


def penalty_weights_only(params, weight_decay):
    penalty, grads = 0.0, {}
    for name, W in params.items():
        if name.startswith("b"):
            grads[name] = np.zeros_like(W)
        else:
            penalty += 0.5 * weight_decay * np.sum(W * W)
            grads[name] = weight_decay * W
    return penalty, grads


def penalty_with_mean(params, weight_decay):
    penalty = sum(0.5 * weight_decay * np.mean(W**2) for W in params.values())
    return penalty, {name: weight_decay * W / W.size for name, W in params.items()}


def decay_forgetting_lr(theta, lr, weight_decay):
    return theta - weight_decay * theta


def decay_growing(theta, lr, weight_decay):
    return theta + lr * weight_decay * theta


def decay_term_only(theta, lr, weight_decay):
    return lr * weight_decay * theta


def decay_like_the_slide(theta, lr, weight_decay):
    return (1 - lr * weight_decay * 2) * theta


@pytest.mark.parametrize(
    ("fn", "against", "mistake"),
    [
        (penalty_like_the_slide, "regularization.l2_penalty", "l2_no_half"),
        (penalty_value_without_half, "regularization.l2_penalty", "l2_value_no_half"),
        (penalty_with_abs, "regularization.l2_penalty", "l2_is_l1"),
        (penalty_gradient_downhill, "regularization.l2_penalty", "l2_grad_sign"),
        (penalty_weights_only, "regularization.l2_penalty", "l2_skips_biases"),
        (penalty_with_mean, "regularization.l2_penalty", "l2_mean_not_sum"),
        (decay_forgetting_lr, "regularization.decoupled_decay", "decay_without_lr"),
        (decay_growing, "regularization.decoupled_decay", "decay_wrong_sign"),
        (decay_term_only, "regularization.decoupled_decay", "decay_returns_amount"),
        (decay_like_the_slide, "regularization.decoupled_decay", "decay_doubled"),
    ],
)
@pytest.mark.parametrize("hidden", [False, True])
def test_mistakes_written_by_students_are_diagnosed(fn, against, mistake, hidden):
    assert_rejected([fn], against, mistake, hidden=hidden)


def test_using_the_reference_from_student_code_is_stopped():
    def borrowed(theta, lr, weight_decay):
        return decoupled_decay(theta, lr, weight_decay)

    assert_rejected([borrowed], "regularization.decoupled_decay", match="dlcourse")


# ---------------------------------------------------------------------------
# contract failures
# ---------------------------------------------------------------------------


def penalty_only(params, weight_decay):
    return weight_decay / 2 * sum(np.sum(W * W) for W in params.values())


def penalty_forgetting_return(params, weight_decay):
    weight_decay / 2 * sum(np.sum(W * W) for W in params.values())


def penalty_with_gradient_list(params, weight_decay):
    penalty = weight_decay / 2 * sum(np.sum(W * W) for W in params.values())
    return penalty, [weight_decay * W for W in params.values()]


def penalty_renaming_keys(params, weight_decay):
    penalty = weight_decay / 2 * sum(np.sum(W * W) for W in params.values())
    return penalty, {"d" + name: weight_decay * W for name, W in params.items()}


def penalty_flattening(params, weight_decay):
    penalty = weight_decay / 2 * sum(np.sum(W * W) for W in params.values())
    return penalty, {name: weight_decay * W.ravel() for name, W in params.items()}


def penalty_dividing_by_weight_decay(params, weight_decay):
    penalty = sum(np.sum(W * W) for W in params.values()) / (2 / weight_decay)
    return penalty, {name: W / (1 / weight_decay) for name, W in params.items()}


def decay_in_place(theta, lr, weight_decay):
    theta *= 1 - lr * weight_decay
    return theta


def decay_to_nan(theta, lr, weight_decay):
    return theta * (1 - lr * weight_decay) * np.where(np.abs(theta) > 2, np.nan, 1.0)


@pytest.mark.parametrize(
    ("fn", "against", "match"),
    [
        (penalty_only, "regularization.l2_penalty", "must return 2 values (penalty, grads)"),
        (penalty_forgetting_return, "regularization.l2_penalty", "l2_penalty returned None"),
        (penalty_with_gradient_list, "regularization.l2_penalty", "grads as a dict"),
        (penalty_renaming_keys, "regularization.l2_penalty", "has the keys ['dW', 'db']"),
        (penalty_flattening, "regularization.l2_penalty", "has shape (15,)"),
        (penalty_dividing_by_weight_decay, "regularization.l2_penalty", "raised ZeroDivisionError"),
        (decay_in_place, "regularization.decoupled_decay", "modified its input theta"),
        (decay_to_nan, "regularization.decoupled_decay", "contains nan at index"),
    ],
)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_contract_failures(fn, against, match):
    assert_rejected([fn], against, match=match, hidden=True)


# ---------------------------------------------------------------------------
# correct implementations written differently: never rejected
# ---------------------------------------------------------------------------


def penalty_with_loops(params, weight_decay):
    penalty, grads = 0.0, {}
    for name, W in params.items():
        grads[name] = np.empty_like(W)
        for index, value in np.ndenumerate(W):
            penalty += 0.5 * weight_decay * value * value
            grads[name][index] = weight_decay * value
    return penalty, grads


def penalty_with_norms(params, weight_decay):
    squares = sum(np.linalg.norm(W.ravel()) ** 2 for W in params.values())
    return 0.5 * weight_decay * squares, {name: W * weight_decay for name, W in params.items()}


def penalty_with_vdot(params, weight_decay):
    penalty = np.float64(0.0)
    for W in params.values():
        penalty = penalty + np.vdot(W, W)
    return penalty * weight_decay / 2, dict(zip(params, (weight_decay * W for W in params.values()), strict=True))


def decay_by_subtraction(theta, lr, weight_decay):
    return theta - lr * weight_decay * theta


def decay_float32_preserving(theta, lr, weight_decay):
    return theta * theta.dtype.type(1 - lr * weight_decay)


@pytest.mark.parametrize(
    ("fn", "against"),
    [
        (penalty_with_loops, "regularization.l2_penalty"),
        (penalty_with_norms, "regularization.l2_penalty"),
        (penalty_with_vdot, "regularization.l2_penalty"),
        (decay_by_subtraction, "regularization.decoupled_decay"),
        (decay_float32_preserving, "regularization.decoupled_decay"),
    ],
)
def test_correct_alternatives_are_accepted(fn, against):
    assert_accepted([fn], against)
