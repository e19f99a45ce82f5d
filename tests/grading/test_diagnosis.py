"""General diagnoses (dlcourse.grading._diagnosis): names for mistakes nobody catalogued.

Each implementation is written the way a student writes it, not built from the catalogue's pieces,
and the test asserts the diagnosis id (not the sentence).
"""

import math

import numpy as np
import pytest

from dlcourse.grading import GradingError, check


def diagnosis_of(*functions, against, hidden=False):
    with pytest.raises(GradingError) as info:
        check(*functions, against=against, hidden=hidden, quiet=True)
    return info.value.mistake, str(info.value)


# ---------------------------------------------------------------- hyperparameters


def adam_init(theta):
    return {"m": np.zeros_like(theta), "v": np.zeros_like(theta), "t": 0}


def adam_step_eps_fixed(theta, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    t = state["t"] + 1
    g = grad + weight_decay * theta
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + 1e-8), {"m": m, "v": v, "t": t}  # eps written in


def test_a_hard_coded_hyperparameter_is_named():
    mistake, message = diagnosis_of(adam_step_eps_fixed, adam_init, against="optim.adam")
    assert mistake == "ignored:eps"
    assert "Likely cause: Changing eps" in message


def sgd_step_lr_fixed(theta, grad, state, lr=0.001, weight_decay=0.0):
    return theta - 0.001 * (grad + weight_decay * theta), state


def test_an_ignored_learning_rate_is_named():
    assert diagnosis_of(sgd_step_lr_fixed, lambda theta: None, against="optim.sgd")[0] == "ignored:lr"


def momentum_init(theta):
    return [None]


def momentum_step_default_off(theta, grad, state, lr=0.001, momentum=0.0, dampening=0.0, weight_decay=0.0):
    g = grad + weight_decay * theta
    velocity = g if state[0] is None else momentum * state[0] + (1 - dampening) * g
    return theta - lr * velocity, [velocity]


def test_a_wrong_default_is_named():
    mistake, message = diagnosis_of(momentum_step_default_off, momentum_init, against="optim.momentum")
    assert mistake == "wrong_default:momentum"
    assert "momentum=0.9" in message


# ---------------------------------------------------------------- possibly, and other references


def adagrad_init(theta):
    return {"avg": np.zeros_like(theta)}


def adagrad_step_as_average(theta, grad, state, lr=0.01, lr_decay=0.0, weight_decay=0.0,
                            initial_accumulator_value=0.0, eps=1e-10):
    avg = 0.99 * state["avg"] + 0.01 * grad**2  # a moving average, and the options left out
    return theta - lr * grad / (np.sqrt(avg) + eps), {"avg": avg}


def test_a_mistake_explaining_the_failing_trial_only_is_said_as_possibly():
    mistake, message = diagnosis_of(adagrad_step_as_average, adagrad_init, against="optim.adagrad")
    assert mistake == "possibly:adagrad_moving_average_0.99"
    assert "\nPossibly: " in message and "Likely cause" not in message
    assert "Also: Changing" in message  # the ignored options are reported too


def rmsprop_init(theta):
    return (np.zeros_like(theta),)


def rmsprop_step_as_adagrad(theta, grad, state, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                            centered=False):
    g = grad + weight_decay * theta
    total = state[0] + g * g  # a running sum: Adagrad
    return theta - lr * g / (np.sqrt(total) + eps), (total,)


def test_another_reference_is_named():
    mistake, message = diagnosis_of(rmsprop_step_as_adagrad, rmsprop_init, against="optim.rmsprop")
    assert mistake == "same_as:optim.adagrad"
    assert "Likely cause: This is Adagrad's update" in message


def he_normal_as_xavier(shape, rng, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    fan_out, fan_in = shape
    return rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=shape)


def test_the_other_initializer_is_named():
    assert diagnosis_of(he_normal_as_xavier, against="init.he_normal")[0] == "same_as:init.xavier_normal"


# ---------------------------------------------------------------- structure of the values


def tanh_grad_flipped(x):
    return np.tanh(x) ** 2 - 1


def sigmoid_grad_doubled(x):
    s = 1 / (1 + np.exp(-x))
    return 2 * s * (1 - s)


def test_a_flipped_sign_is_named():
    assert diagnosis_of(tanh_grad_flipped, against="activations.tanh_grad")[0] == "sign_flipped"


def test_a_constant_factor_is_named_with_its_value():
    mistake, message = diagnosis_of(sigmoid_grad_doubled, against="activations.sigmoid_grad")
    assert mistake == "constant_factor"
    assert "is 2 times the expected one" in message


def linear_forward(x, W, b):
    return x @ W + b, (x, W)


def linear_backward_keepdims(dout, cache):
    x, W = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0, keepdims=True)


def linear_backward_transposed(dout, cache):
    x, W = cache
    return W @ dout.T, x.T @ dout, dout.sum(axis=0)  # dx as (fan_in, N)


def test_an_extra_axis_from_keepdims_is_named():
    mistake, message = diagnosis_of(linear_forward, linear_backward_keepdims, against="layers.linear_backward")
    assert mistake == "keepdims"
    assert "keepdims" in message.splitlines()[-1] and "values of db" in message


def test_a_transposed_result_is_named():
    assert diagnosis_of(linear_forward, linear_backward_transposed, against="layers.linear_backward")[0] == "transposed"


def nesterov_init(theta):
    return {"buf": np.zeros_like(theta), "first": True}


def nesterov_step_buffer_lost(theta, grad, state, lr=0.001, momentum=0.9, weight_decay=0.0):
    g = grad + weight_decay * theta
    buf = g if state["first"] else momentum * state["buf"] + g
    # the new buffer is computed but the old state is handed back
    return theta - lr * (g + momentum * buf), state | {"first": False}


def test_first_step_right_then_wrong_points_at_the_state():
    mistake, message = diagnosis_of(nesterov_step_buffer_lost, nesterov_init, against="optim.nesterov")
    assert mistake == "first_step_only"
    assert "\nLook at: The first step agrees" in message


def test_an_input_modified_in_place_is_named():
    def sgd_step_in_place(theta, grad, state, lr=0.001, weight_decay=0.0):
        theta -= lr * (grad + weight_decay * theta)
        return theta, state

    assert diagnosis_of(sgd_step_in_place, lambda theta: None, against="optim.sgd")[0] == "modifies_input"


def test_nothing_is_claimed_when_no_diagnosis_explains_the_values():
    mistake, message = diagnosis_of(lambda x: np.maximum(x, 0.0) + 1e-3 * x**2, against="activations.relu")
    assert mistake is None
    assert "Likely cause" not in message and "Possibly" not in message


# ---------------------------------------------------------------- two mistakes, part of the output, dtype


def adam_step_macau(theta, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    g = grad + weight_decay * theta
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    return theta - lr * m / np.sqrt(v + eps), {"m": m, "v": v, "t": state["t"] + 1}  # no correction, eps inside


def test_two_catalogued_mistakes_at_once_are_both_named():
    mistake, message = diagnosis_of(adam_step_macau, adam_init, against="optim.adam")
    assert set(mistake.split("+")) == {"adam_no_bias_correction", "adam_eps_inside_sqrt"}
    assert "Two mistakes at once. 1) " in message and " 2) " in message


def bce_loss_one_term(prob, target):
    loss = -np.mean(target * np.log(prob))  # the (1 - t) log(1 - p) term is missing; the gradient is right
    return float(loss), (prob - target) / (prob * (1 - prob)) / prob.size


def test_a_mistake_in_one_of_the_outputs_is_said_as_possibly():
    mistake, message = diagnosis_of(bce_loss_one_term, against="layers.bce_loss")
    assert mistake == "possibly:bce_positive_term_only"
    assert "\nPossibly: " in message


def relu_grad_float64(x):
    return np.where(x > 0, 1.0, 0.0)  # right values, but Python floats in np.where make a float64 array


def test_float32_in_float64_out_is_named_not_mistaken_for_a_value_mistake():
    mistake, message = diagnosis_of(relu_grad_float64, against="activations.relu_grad")
    assert mistake == "float64_out"
    assert "should be float32, like the input" in message
