"""Optimizer checks: the reference passes, catalogued mistakes are diagnosed, correct variants pass.

Every student function below is written from scratch with numpy, as a student
would, not taken from the catalogue.
"""

import math

import numpy as np
import pytest

from dlcourse.grading import get_target, targets
from dlcourse.grading.topics.optim import TRAJECTORY
from dlcourse.grading.topics.optim_textbook import textbook
from grading.helpers import assert_accepted, assert_catalogue_diagnosed, assert_rejected, passes_as_reference

NAMES = [t for t in targets() if t.startswith("optim.")]
REQUIRED = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw")


def test_required_optimizers_have_checks():
    assert {f"optim.{name}" for name in REQUIRED} <= set(NAMES)
    for name in NAMES:
        short = name.split(".")[1]
        assert get_target(name).roles == (f"{short}_step", f"{short}_init")
        assert len(get_target(name).mistakes) >= 3


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("hidden", [False, True])
def test_reference_passes(name, hidden):
    assert passes_as_reference(name, hidden).startswith("OK")


@pytest.mark.parametrize("name", NAMES)
def test_catalogue_without_its_mistake_is_correct(name):
    # each catalogued variant is this implementation with one named piece swapped: it must pass, so the variants
    # are faithful
    assert_accepted(list(textbook(name.split(".")[1])), name, trusted=True)


@pytest.mark.parametrize("name", NAMES)
def test_every_catalogued_mistake_is_diagnosed_visible_and_hidden(name):
    # the visible trials already expose every mistake; the hidden ones must too
    for hidden in (False, True):
        assert_catalogue_diagnosed(name, hidden)


def test_using_the_catalogue_from_student_code_is_stopped():
    assert_rejected(list(textbook("adam")), "optim.adam", match="called dlcourse.grading.topics.optim_textbook")


def test_each_mistake_id_is_catalogued_once():
    ids = [mistake.name for name in NAMES for mistake in get_target(name).mistakes]
    assert len(ids) == len(set(ids)) == 56


# ---------------------------------------------------------------------------
# wrong implementations, as students write them
# ---------------------------------------------------------------------------


def zeros_init(theta):
    return {"m": np.zeros_like(theta), "v": np.zeros_like(theta), "t": 0}


def adam_without_bias_correction(theta, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    b1, b2 = betas
    grad = grad + weight_decay * theta
    m = b1 * state["m"] + (1 - b1) * grad
    v = b2 * state["v"] + (1 - b2) * grad**2
    return theta - lr * m / (np.sqrt(v) + eps), {"m": m, "v": v, "t": state["t"] + 1}


def adam_eps_under_root(theta, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    b1, b2 = betas
    t = state["t"] + 1
    grad = grad + weight_decay * theta
    m = b1 * state["m"] + (1 - b1) * grad
    v = b2 * state["v"] + (1 - b2) * grad**2
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    return theta - lr * m_hat / np.sqrt(v_hat + eps), {"m": m, "v": v, "t": t}


def adam_counter_used_before_increment(theta, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    b1, b2 = betas
    t = state["t"]  # 0 on the first call
    grad = grad + weight_decay * theta
    m = b1 * state["m"] + (1 - b1) * grad
    v = b2 * state["v"] + (1 - b2) * grad**2
    m_hat = m / (1 - b1**t)
    v_hat = v / (1 - b2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "t": t + 1}


def adam_correct(theta, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    b1, b2 = betas
    t = state["t"] + 1
    grad = grad + weight_decay * theta
    m = b1 * state["m"] + (1 - b1) * grad
    v = b2 * state["v"] + (1 - b2) * grad**2
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "t": t}


def init_counting_from_one(theta):
    return {"m": np.zeros_like(theta), "v": np.zeros_like(theta), "t": 1}


def adam_with_decoupled_decay(theta, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    theta = theta - lr * weight_decay * theta
    return adam_correct(theta, grad, state, lr, betas, eps, 0.0)


def adamw_as_l2(theta, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    return adam_correct(theta, grad, state, lr, betas, eps, weight_decay)


def adamw_decay_last(theta, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    new_theta, new_state = adam_correct(theta, grad, state, lr, betas, eps, 0.0)
    return new_theta - lr * weight_decay * new_theta, new_state


def sgd_init(theta):
    return {}


def sgd_decay_subtracted(theta, grad, state, lr=1e-3, weight_decay=0.0):
    return theta - lr * (grad - weight_decay * theta), state


def velocity_init(theta):
    return {"velocity": np.zeros_like(theta)}


def momentum_as_average(theta, grad, state, lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0):
    g = grad + weight_decay * theta
    velocity = momentum * state["velocity"] + (1 - momentum) * g
    return theta - lr * velocity, {"velocity": velocity}


def momentum_buffer_from_zero(theta, grad, state, lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0):
    g = grad + weight_decay * theta
    velocity = momentum * state["velocity"] + (1 - dampening) * g
    return theta - lr * velocity, {"velocity": velocity}


def nesterov_from_the_slide(theta, grad, state, lr=1e-3, momentum=0.9, weight_decay=0.0):
    # v = beta v - lr grad(theta + beta v); theta = theta + v, with the gradient we were handed
    g = grad + weight_decay * theta
    velocity = momentum * state["velocity"] - lr * g
    return theta + velocity, {"velocity": velocity}


def adagrad_init(theta):
    return {"G": None, "t": 0}


def _adagrad(theta, grad, state, lr, lr_decay, weight_decay, initial_accumulator_value, eps, accumulate, denominator):
    t = state["t"] + 1
    g = grad + weight_decay * theta
    G = np.full_like(theta, initial_accumulator_value) if state["G"] is None else state["G"]
    G = accumulate(G, g)
    step = lr / (1 + (t - 1) * lr_decay) * g / denominator(G, eps)
    return theta - step, {"G": G, "t": t}


def adagrad_running_average(theta, grad, state, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                            initial_accumulator_value=0.0, eps=1e-10):
    return _adagrad(theta, grad, state, lr, lr_decay, weight_decay, initial_accumulator_value, eps,
                    lambda G, g: 0.9 * G + 0.1 * g * g, lambda G, eps: np.sqrt(G) + eps)


def adagrad_eps_under_root(theta, grad, state, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                           initial_accumulator_value=0.0, eps=1e-10):
    return _adagrad(theta, grad, state, lr, lr_decay, weight_decay, initial_accumulator_value, eps,
                    lambda G, g: G + g * g, lambda G, eps: np.sqrt(G + eps))


def rmsprop_init(theta):
    return {"sq": np.zeros_like(theta), "avg": np.zeros_like(theta), "buf": np.zeros_like(theta)}


def rmsprop_swapped_alpha(theta, grad, state, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                          centered=False):
    g = grad + weight_decay * theta
    sq = (1 - alpha) * state["sq"] + alpha * g * g
    avg = (1 - alpha) * state["avg"] + alpha * g
    var = sq - avg**2 if centered else sq
    scaled = g / (np.sqrt(var) + eps)
    buf = momentum * state["buf"] + scaled
    return theta - lr * (buf if momentum > 0 else scaled), {"sq": sq, "avg": avg, "buf": buf}


def rmsprop_eps_under_root(theta, grad, state, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                           centered=False):
    g = grad + weight_decay * theta
    sq = alpha * state["sq"] + (1 - alpha) * g * g
    avg = alpha * state["avg"] + (1 - alpha) * g
    var = sq - avg**2 if centered else sq
    scaled = g / np.sqrt(var + eps)
    buf = momentum * state["buf"] + scaled
    return theta - lr * (buf if momentum > 0 else scaled), {"sq": sq, "avg": avg, "buf": buf}


def adadelta_init(theta):
    return {"Eg": np.zeros_like(theta), "Ex": np.zeros_like(theta)}


def adadelta_paper(theta, grad, state, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    g = grad + weight_decay * theta
    Eg = rho * state["Eg"] + (1 - rho) * g**2
    dx = -np.sqrt(state["Ex"] + eps) / np.sqrt(Eg + eps) * g
    Ex = rho * state["Ex"] + (1 - rho) * dx**2
    return theta + dx, {"Eg": Eg, "Ex": Ex}


def adadelta_rms_plus_eps(theta, grad, state, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    g = grad + weight_decay * theta
    Eg = rho * state["Eg"] + (1 - rho) * g**2
    dx = (np.sqrt(state["Ex"]) + eps) / (np.sqrt(Eg) + eps) * g
    Ex = rho * state["Ex"] + (1 - rho) * dx**2
    return theta - lr * dx, {"Eg": Eg, "Ex": Ex}


def adamax_init(theta):
    return {"m": np.zeros_like(theta), "u": np.zeros_like(theta), "t": 0}


def adamax_without_correction(theta, grad, state, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    g = grad + weight_decay * theta
    m = betas[0] * state["m"] + (1 - betas[0]) * g
    u = np.maximum(betas[1] * state["u"], np.abs(g) + eps)
    return theta - lr * m / u, {"m": m, "u": u, "t": state["t"] + 1}


def nadam_init(theta):
    return {"m": np.zeros_like(theta), "v": np.zeros_like(theta), "t": 0}


def nadam_from_the_blog(theta, grad, state, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                        momentum_decay=4e-3, decoupled_weight_decay=False):
    b1, b2 = betas
    t = state["t"] + 1
    if decoupled_weight_decay:
        theta, g = theta * (1 - lr * weight_decay), grad
    else:
        g = grad + weight_decay * theta
    m = b1 * state["m"] + (1 - b1) * g
    v = b2 * state["v"] + (1 - b2) * g * g
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    return theta - lr / (np.sqrt(v_hat) + eps) * (b1 * m_hat + (1 - b1) * g / (1 - b1**t)), {"m": m, "v": v, "t": t}


def lion_init(theta):
    return {"m": np.zeros_like(theta)}


def lion_sign_of_updated_momentum(theta, grad, state, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
    m = betas[1] * state["m"] + (1 - betas[1]) * grad
    return theta - lr * (np.sign(m) + weight_decay * theta), {"m": m}


def adam_forgetting_the_root(theta, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    b1, b2 = betas
    t = state["t"] + 1
    g = grad + weight_decay * theta
    first = b1 * state["m"] + (1 - b1) * g
    second = b2 * state["v"] + (1 - b2) * g**2
    return theta - lr * (first / (1 - b1**t)) / (second / (1 - b2**t) + eps), {"m": first, "v": second, "t": t}


def adam_counter_never_stored(theta, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    b1, b2 = betas
    t = state["t"] + 1
    g = grad + weight_decay * theta
    m = b1 * state["m"] + (1 - b1) * g
    v = b2 * state["v"] + (1 - b2) * g**2
    new_theta = theta - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return new_theta, {"m": m, "v": v, "t": state["t"]}  # the counter is never stored


def rmsprop_dividing_by_the_mean_square(theta, grad, state, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                                        momentum=0.0, centered=False):
    g = grad + weight_decay * theta
    avg = alpha * state["avg"] + (1 - alpha) * g * g
    new_state = {"avg": avg}
    denominator = avg
    if centered:
        new_state["mean"] = alpha * state.get("mean", np.zeros_like(theta)) + (1 - alpha) * g
        denominator = avg - new_state["mean"] ** 2
    step = g / (denominator + eps)
    if momentum > 0:
        new_state["buf"] = momentum * state.get("buf", np.zeros_like(theta)) + step
        step = new_state["buf"]
    return theta - lr * step, new_state


def rmsprop_tf_init(theta):
    return {"ms": np.zeros_like(theta), "mg": np.zeros_like(theta), "mom": np.zeros_like(theta)}


def rmsprop_tf_style(theta, grad, state, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                     centered=False):
    # eps under the root, as TensorFlow's formula writes it, and the centered flag never read
    g = grad + weight_decay * theta
    ms = alpha * state["ms"] + (1 - alpha) * np.square(g)
    mg = alpha * state["mg"] + (1 - alpha) * g  # kept, but never subtracted
    scaled = g / np.sqrt(ms + eps)
    mom = momentum * state["mom"] + scaled
    return theta - lr * (mom if momentum else scaled), {"ms": ms, "mg": mg, "mom": mom}


def adam_tuple_init(theta):
    return (1, np.zeros_like(theta), np.zeros_like(theta))  # (step, m, v): "the first step is step 1"


def adam_loop_preincremented(theta, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    step, m_old, v_old = state
    step += 1  # incremented before use, from a counter that already started at 1
    beta1, beta2 = betas
    flat_theta, flat_grad = theta.reshape(-1), grad.reshape(-1)
    flat_m, flat_v = m_old.reshape(-1), v_old.reshape(-1)
    new_theta, m, v = np.empty_like(flat_theta), np.empty_like(flat_theta), np.empty_like(flat_theta)
    for i in range(flat_theta.size):
        g = flat_grad[i] + weight_decay * flat_theta[i]
        m[i] = beta1 * flat_m[i] + (1 - beta1) * g
        v[i] = beta2 * flat_v[i] + (1 - beta2) * g * g
        m_hat = m[i] / (1 - beta1**step)
        v_hat = v[i] / (1 - beta2**step)
        new_theta[i] = flat_theta[i] - lr * m_hat / (math.sqrt(v_hat) + eps)
    return new_theta.reshape(theta.shape), (step, m.reshape(theta.shape), v.reshape(theta.shape))


def adamax_init_from_one(theta):
    return {"step": 1, "exp_avg": np.zeros_like(theta), "exp_inf": np.zeros_like(theta)}


def adamax_counter_ahead(theta, grad, state, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    step = state["step"] + 1
    b1, b2 = betas
    g = grad + weight_decay * theta
    exp_avg = b1 * state["exp_avg"] + (1 - b1) * g
    exp_inf = np.maximum(b2 * state["exp_inf"], np.abs(g) + eps)
    clr = lr / (1 - b1**step)
    return theta - clr * exp_avg / exp_inf, {"step": step, "exp_avg": exp_avg, "exp_inf": exp_inf}


def nadam_init_from_one(theta):
    return {"k": 1, "m": np.zeros_like(theta), "v": np.zeros_like(theta), "mu_product": 1.0}


def nadam_counter_ahead(theta, grad, state, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                        momentum_decay=4e-3, decoupled_weight_decay=False):
    k = state["k"] + 1
    beta1, beta2 = betas
    if decoupled_weight_decay:
        theta, g = theta * (1 - lr * weight_decay), grad
    else:
        g = grad + weight_decay * theta
    mu = beta1 * (1 - 0.5 * 0.96 ** (k * momentum_decay))
    mu_next = beta1 * (1 - 0.5 * 0.96 ** ((k + 1) * momentum_decay))
    mu_product = state["mu_product"] * mu
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    denom = np.sqrt(v / (1 - beta2**k)) + eps
    theta = theta - lr * (1 - mu) / (1 - mu_product) * g / denom
    theta = theta - lr * mu_next / (1 - mu_product * mu_next) * m / denom
    return theta, {"k": k, "m": m, "v": v, "mu_product": mu_product}


@pytest.mark.parametrize(
    ("step", "init", "against", "mistake"),
    [
        (adam_without_bias_correction, zeros_init, "optim.adam", "adam_no_bias_correction"),
        (adam_forgetting_the_root, zeros_init, "optim.adam", "adam_no_sqrt"),
        (adam_counter_never_stored, zeros_init, "optim.adam", "adam_step_count_never_incremented"),
        (rmsprop_dividing_by_the_mean_square, rmsprop_init, "optim.rmsprop", "rmsprop_no_sqrt"),
        (adam_eps_under_root, zeros_init, "optim.adam", "adam_eps_inside_sqrt"),
        (adam_counter_used_before_increment, zeros_init, "optim.adam", "adam_step_count_from_zero"),
        (adam_correct, init_counting_from_one, "optim.adam", "adam_step_count_off_by_one"),
        (adam_with_decoupled_decay, zeros_init, "optim.adam", "adam_decoupled_weight_decay"),
        (adamw_as_l2, zeros_init, "optim.adamw", "adamw_l2_penalty"),
        (adamw_decay_last, zeros_init, "optim.adamw", "adamw_decay_after_update"),
        (sgd_decay_subtracted, sgd_init, "optim.sgd", "sgd_weight_decay_sign"),
        (momentum_as_average, velocity_init, "optim.momentum", "momentum_moving_average"),
        (momentum_buffer_from_zero, velocity_init, "optim.momentum", "momentum_dampening_on_first_step"),
        (nesterov_from_the_slide, velocity_init, "optim.nesterov", "nesterov_plain_momentum"),
        (adagrad_running_average, adagrad_init, "optim.adagrad", "adagrad_moving_average"),
        (adagrad_eps_under_root, adagrad_init, "optim.adagrad", "adagrad_eps_inside_sqrt"),
        (rmsprop_swapped_alpha, rmsprop_init, "optim.rmsprop", "rmsprop_alpha_swapped"),
        (rmsprop_eps_under_root, rmsprop_init, "optim.rmsprop", "rmsprop_eps_inside_sqrt"),
        (adadelta_paper, adadelta_init, "optim.adadelta", "adadelta_no_lr"),
        (adadelta_rms_plus_eps, adadelta_init, "optim.adadelta", "adadelta_eps_outside_sqrt"),
        (adamax_without_correction, adamax_init, "optim.adamax", "adamax_no_bias_correction"),
        (nadam_from_the_blog, nadam_init, "optim.nadam", "nadam_simplified"),
        (lion_sign_of_updated_momentum, lion_init, "optim.lion", "lion_sign_of_momentum"),
        (rmsprop_tf_style, rmsprop_tf_init, "optim.rmsprop", "rmsprop_eps_inside_sqrt_centered_ignored"),
        (adam_loop_preincremented, adam_tuple_init, "optim.adam", "adam_step_count_off_by_one"),
        (adamax_counter_ahead, adamax_init_from_one, "optim.adamax", "adamax_step_count_off_by_one"),
        (nadam_counter_ahead, nadam_init_from_one, "optim.nadam", "nadam_step_count_off_by_one"),
    ],
)
@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_mistakes_written_by_students_are_diagnosed(step, init, against, mistake, hidden):
    assert_rejected([step, init], against, mistake, hidden=hidden)


def test_feedback_names_the_first_wrong_step():
    message = assert_rejected([adam_eps_under_root, zeros_init], "optim.adam", "adam_eps_inside_sqrt")
    assert TRAJECTORY in message
    assert "first wrong value at index (1," in message  # wrong from the first step on


# ---------------------------------------------------------------------------
# contract failures
# ---------------------------------------------------------------------------


def returns_theta_only(theta, grad, state, **hp):
    return adam_correct(theta, grad, state, **hp)[0]


def returns_nothing(theta, grad, state, **hp):
    adam_correct(theta, grad, state, **hp)


def returns_three_values(theta, grad, state, **hp):
    return (*adam_correct(theta, grad, state, **hp), 0)


def returns_a_column(theta, grad, state, **hp):
    new_theta, new_state = adam_correct(theta, grad, state, **hp)
    return new_theta.reshape(-1, 1), new_state


def returns_nan(theta, grad, state, **hp):
    new_theta, new_state = adam_correct(theta, grad, state, **hp)
    return new_theta * np.nan, new_state


def raises_key_error(theta, grad, state, **hp):
    return theta - state["momentum"], state


def updates_theta_in_place(theta, grad, state, **hp):
    new_theta, new_state = adam_correct(theta, grad, state, **hp)
    theta -= theta - new_theta
    return theta, new_state


def updates_state_in_place(theta, grad, state, **hp):
    new_theta, new_state = adam_correct(theta, grad, state, **hp)
    state["m"][...] = new_state["m"]
    return new_theta, {**new_state, "m": state["m"]}


def returns_a_list(theta, grad, state, **hp):
    new_theta, new_state = adam_correct(theta, grad, state, **hp)
    return new_theta.tolist(), new_state


@pytest.mark.parametrize(
    ("step", "match"),
    [
        (returns_theta_only, "adam_step must return 2 values (new_theta, new_state); at step 1 it returned a "
                             "single array"),
        (returns_nothing, "adam_step returned None at step 1"),
        (returns_three_values, "it returned a tuple of 3 values"),
        (returns_a_column, "adam_step must return new_theta of theta's shape (7,); at step 1, new_theta has shape "
                           "(7, 1)"),
        (returns_nan, "contains nan at index (1, 0) where the reference is finite"),
        (raises_key_error, "adam_step raised KeyError: 'momentum'"),
        (updates_theta_in_place, "adam_step modified its input theta in place"),
        (updates_state_in_place, "adam_step modified its input state['m'] in place"),
        (returns_a_list, "new_theta as a numpy array of shape (7,); at step 1, new_theta is a list"),
    ],
)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_contract_failures_give_clear_feedback(step, match):
    assert_rejected([step, zeros_init], "optim.adam", match=match)


def test_a_failing_init_is_reported():
    def broken_init(theta):
        return {"m": np.zeros_like(theta), "v": np.zeros_like(theta), "t": 0} / 2

    assert_rejected([adam_correct, broken_init], "optim.adam", match="adam_init raised TypeError")


# ---------------------------------------------------------------------------
# correct implementations written differently: never rejected
# ---------------------------------------------------------------------------


def sgd_with_a_loop(theta, grad, state, lr=1e-3, weight_decay=0.0):
    new_theta = np.empty_like(theta)
    for index in np.ndindex(theta.shape):
        new_theta[index] = theta[index] - lr * (grad[index] + weight_decay * theta[index])
    return new_theta, state


def momentum_sutskever(theta, grad, state, lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0):
    # v <- mu v - lr g: torch's v times -lr, the same iterates while lr is constant
    g = grad + weight_decay * theta
    v = -lr * g if state["v"] is None else momentum * state["v"] - lr * (1 - dampening) * g
    return theta + v, {"v": v}


def nesterov_bengio(theta, grad, state, lr=1e-3, momentum=0.9, weight_decay=0.0):
    # Bengio et al. (2013): theta <- theta - mu v_old + (1 + mu) v_new with v <- mu v - lr g
    g = grad + weight_decay * theta
    v_old = np.zeros_like(theta) if state["v"] is None else state["v"]
    v_new = momentum * v_old - lr * g
    return theta - momentum * v_old + (1 + momentum) * v_new, {"v": v_new}


def empty_velocity(theta):
    return {"v": None}


def adagrad_tuple_state(theta, grad, state, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                        initial_accumulator_value=0.0, eps=1e-10):
    t, total = state
    g = grad + weight_decay * theta
    total = (total if t else initial_accumulator_value) + g * g
    return theta - lr / (1 + t * lr_decay) * g / (np.sqrt(total) + eps), (t + 1, total)


def adagrad_tuple_init(theta):
    return 0, np.zeros_like(theta)


def rmsprop_with_loops(theta, grad, state, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                       centered=False):
    sq, avg, buf = (state[key].copy() for key in ("sq", "avg", "buf"))
    new_theta = theta.copy()
    for i in np.ndindex(theta.shape):
        g = grad[i] + weight_decay * theta[i]
        sq[i] = alpha * sq[i] + (1 - alpha) * g * g
        avg[i] = alpha * avg[i] + (1 - alpha) * g
        rms = math.sqrt(sq[i] - avg[i] ** 2 if centered else sq[i]) + eps
        buf[i] = momentum * buf[i] + g / rms
        new_theta[i] -= lr * (buf[i] if momentum > 0 else g / rms)
    return new_theta, {"sq": sq, "avg": avg, "buf": buf}


def adadelta_literal(theta, grad, state, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    g = grad + weight_decay * theta
    Eg = rho * state["Eg"] + (1 - rho) * g**2
    dx = np.sqrt(state["Ex"] + eps) / np.sqrt(Eg + eps) * g
    Ex = rho * state["Ex"] + (1 - rho) * dx**2
    return theta - lr * dx, {"Eg": Eg, "Ex": Ex}


def adam_paper_efficient(theta, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    # Kingma & Ba's "efficient" ordering, keeping float32: eps is scaled too, so this is exactly Adam
    b1, b2 = betas
    t = state["t"] + 1
    g = grad + weight_decay * theta
    m = b1 * state["m"] + (1 - b1) * g
    v = b2 * state["v"] + (1 - b2) * g * g
    root_correction = math.sqrt(1 - b2**t)
    step_size = lr * root_correction / (1 - b1**t)
    return theta - step_size * m / (np.sqrt(v) + eps * root_correction), {"m": m, "v": v, "t": t}


def adamw_list_state(theta, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    t, m, v = state
    t += 1
    m = betas[0] * m + (1 - betas[0]) * grad
    v = betas[1] * v + (1 - betas[1]) * grad**2
    update = (m / (1 - betas[0] ** t)) / (np.sqrt(v / (1 - betas[1] ** t)) + eps)
    return theta - lr * weight_decay * theta - lr * update, [t, m, v]


def adamw_list_init(theta):
    return [0, np.zeros_like(theta), np.zeros_like(theta)]


def adamax_literal(theta, grad, state, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    t = state["t"] + 1
    g = grad + weight_decay * theta
    m = betas[0] * state["m"] + (1 - betas[0]) * g
    u = np.maximum(betas[1] * state["u"], np.abs(g) + eps)
    return theta - lr / (1 - betas[0] ** t) * m / u, {"m": m, "u": u, "t": t}


def nadam_torch_docs(theta, grad, state, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                     momentum_decay=4e-3, decoupled_weight_decay=False):
    b1, b2 = betas
    t = state["t"] + 1
    if decoupled_weight_decay:
        theta, g = theta * (1 - lr * weight_decay), grad
    else:
        g = grad + weight_decay * theta
    mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    product = state.get("product", 1.0) * mu
    m = b1 * state["m"] + (1 - b1) * g
    v = b2 * state["v"] + (1 - b2) * g * g
    m_bar = mu_next * m / (1 - product * mu_next) + (1 - mu) * g / (1 - product)
    new_theta = theta - lr * m_bar / (np.sqrt(v / (1 - b2**t)) + eps)
    return new_theta, {"m": m, "v": v, "t": t, "product": product}


def lion_literal(theta, grad, state, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
    update = np.sign(betas[0] * state["m"] + (1 - betas[0]) * grad)
    new_theta = theta - lr * update - lr * weight_decay * theta
    return new_theta, {"m": betas[1] * state["m"] + (1 - betas[1]) * grad}


@pytest.mark.parametrize(
    ("step", "init", "against"),
    [
        (sgd_with_a_loop, sgd_init, "optim.sgd"),
        (momentum_sutskever, empty_velocity, "optim.momentum"),
        (nesterov_bengio, empty_velocity, "optim.nesterov"),
        (adagrad_tuple_state, adagrad_tuple_init, "optim.adagrad"),
        (rmsprop_with_loops, rmsprop_init, "optim.rmsprop"),
        (adadelta_literal, adadelta_init, "optim.adadelta"),
        (adam_correct, zeros_init, "optim.adam"),
        (adam_paper_efficient, zeros_init, "optim.adam"),
        (adamw_list_state, adamw_list_init, "optim.adamw"),
        (adamax_literal, adamax_init, "optim.adamax"),
        (nadam_torch_docs, nadam_init, "optim.nadam"),
        (lion_literal, lion_init, "optim.lion"),
    ],
)
def test_correct_alternatives_are_accepted(step, init, against):
    assert_accepted([step, init], against)



def adam_promoting_to_float64(theta, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    t = state["t"] + 1
    g = grad + weight_decay * theta
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    step_size = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)  # np.sqrt of a number: a numpy float64
    return theta - step_size * m / (np.sqrt(v) + eps * np.sqrt(1 - beta2**t)), {"t": t, "m": m, "v": v}


def adam_keeping_float32(theta, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    t = state["t"] + 1
    g = grad + weight_decay * theta
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    step_size = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)  # a Python float: float32 stays float32
    return theta - step_size * m / (np.sqrt(v) + eps * math.sqrt(1 - beta2**t)), {"t": t, "m": m, "v": v}


def float32_state(theta):
    return {"t": 0, "m": np.zeros_like(theta), "v": np.zeros_like(theta)}


def test_the_float32_contract_is_checked_in_the_visible_checks():
    message = assert_rejected([adam_promoting_to_float64, float32_state], "optim.adam", match="keep theta's dtype")
    assert "float32" in message and "math.sqrt" in message
    assert_accepted([adam_keeping_float32, float32_state], "optim.adam")
