"""L2 penalty and decoupled weight decay checks: mistakes diagnosed, variants accepted.

Every student function below is written from scratch with numpy, as a student
would, not taken from the catalogue.
"""

import numpy as np
import pytest

from dlcourse.grading import get_target, targets
from dlcourse.regularization import decoupled_decay
from grading.helpers import assert_accepted, assert_catalogue_diagnosed, assert_rejected, passes_as_reference

NAMES = [t for t in targets() if t.startswith("regularization.")]
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
