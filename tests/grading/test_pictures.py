"""A failed check's picture: which targets have one, what it holds, that it never costs a passing check,
never hides the feedback, survives pickling, and draws as a small PNG."""

from __future__ import annotations

import dataclasses
import pickle
import struct

import numpy as np
import pytest

from dlcourse.grading import GradingError, check, get_target, targets
from dlcourse.grading._core import run_check
from dlcourse.grading._figures import DPI, SIZE, png
from dlcourse.grading._picture import EXPECTED, OBTAINED, Picture


def failure(*functions, against: str, trusted: bool = False) -> GradingError:
    with pytest.raises(GradingError) as info:
        if trusted:
            run_check(dataclasses.replace(get_target(against), forbidden=("torch",)), list(functions))
        else:
            check(*functions, against=against, quiet=True)
    return info.value


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


# ------------------------------------------------------------- students' wrong functions


def adam_init(theta):
    return {"m": np.zeros_like(theta), "v": np.zeros_like(theta), "t": 0}


def adam_without_bias_correction(theta, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    grad = grad + weight_decay * theta
    m = betas[0] * state["m"] + (1 - betas[0]) * grad
    v = betas[1] * state["v"] + (1 - betas[1]) * grad * grad
    return theta - lr * m / (np.sqrt(v) + eps), {"m": m, "v": v, "t": state["t"] + 1}


def linear_decay_lr(step, lr, final_lr, tau):
    alpha = step / tau  # never held at final_lr
    return (1 - alpha) * lr + alpha * final_lr


def relu(x):
    return np.abs(x)


def prelu(x, a):
    return np.where(x > 0, x, 0.25 * x)  # one fixed slope


def relu_forward(x):
    return np.maximum(x, 0.0), x


def relu_backward(dout, x):
    return dout * (x >= 0)


def he_normal(shape, rng, mode="fan_in"):
    return rng.normal(0.0, np.sqrt(1.0 / shape[0]), size=shape)  # no gain


def xavier_uniform(shape, rng, gain=1.0):
    return rng.normal(0.0, gain * np.sqrt(2.0 / sum(shape)), size=shape)  # normal instead


def he_normal_unseeded(shape, rng, mode="fan_in"):
    return np.random.default_rng().normal(0.0, np.sqrt(2.0 / shape[0]), size=shape)


def dropout_forward(x, p=0.5, training=True, rng=None):
    if not training:
        return x, None
    mask = rng.random(x.shape) < 1 - p
    return x * mask, mask  # not rescaled


def dropout_forward_scaled_in_eval(x, p=0.5, training=True, rng=None):
    if not training:
        return x / (1 - p), None
    mask = rng.random(x.shape) < 1 - p
    return x * mask / (1 - p), mask


def dropout_forward_right(x, p=0.5, training=True, rng=None):
    if not training:
        return x, None
    mask = (rng.random(x.shape) < 1 - p) / (1 - p)
    return x * mask, mask


def dropout_backward_unmasked(dout, cache):
    return dout.copy()


# ------------------------------------------------------------- what each picture holds


def test_an_optimizer_shows_the_first_wrong_entry_of_theta_step_by_step():
    error = failure(adam_without_bias_correction, adam_init, against="optim.adam")
    picture = error.picture
    assert error.mistake == "adam_no_bias_correction" and picture.kind == "trajectory"
    assert picture.xlabel == "step" and "after each step of adam_step" in picture.title
    assert len(picture.x) == len(picture.expected) == len(picture.obtained) == 21  # theta_0 .. theta_20
    step = picture.marks[0]
    assert step >= 1 and picture.expected[step] != picture.obtained[step]
    np.testing.assert_array_equal(picture.expected[:step], picture.obtained[:step])


def test_a_schedule_shows_the_rate_at_the_trials_steps():
    picture = failure(linear_decay_lr, against="schedules.linear_decay").picture
    assert picture.kind == "trajectory" and picture.ylabel == "learning rate"
    wrong = picture.x[np.flatnonzero(~np.isclose(picture.expected, picture.obtained))[0]]
    assert picture.marks == (wrong,) and wrong > 0  # the first step past tau, named by its step number
    assert list(picture.x) == sorted(picture.x)


def test_an_activation_shows_both_curves_over_the_failing_trials_inputs():
    error = failure(relu, against="activations.relu")
    picture = error.picture
    assert picture.kind == "function" and picture.ylabel == "relu(x)"
    assert np.all(np.diff(picture.x) >= 0)  # sorted inputs
    np.testing.assert_array_equal(picture.obtained, np.abs(picture.x))
    np.testing.assert_array_equal(picture.wrong, picture.x < 0)
    assert picture.marks[0] < 0
    # the reference's curve on a grid over the inputs' range and 0
    assert picture.curve_x[0] <= min(picture.x.min(), 0) and picture.curve_x[-1] >= max(picture.x.max(), 0)
    np.testing.assert_array_equal(picture.curve_y, np.maximum(picture.curve_x, 0))


def test_prelu_with_a_slope_per_channel_shows_the_failing_channel_only():
    picture = failure(prelu, against="activations.prelu").picture
    assert picture.kind == "function"
    negative = picture.x < 0
    slope = picture.expected[negative] / picture.x[negative]
    assert negative.any() and np.allclose(slope, slope[0])  # one channel: one slope


def test_an_activation_layer_shows_its_local_derivative():
    picture = failure(relu_forward, relu_backward, against="layers.relu_backward").picture
    assert picture.kind == "function" and picture.ylabel == "dx / dout"
    assert picture.marks == (0.0,)  # the kink: torch takes the derivative at 0 as 0
    assert set(np.unique(picture.expected)) <= {0.0, 1.0} and set(np.unique(picture.curve_y)) == {0.0, 1.0}


def test_an_initializer_shows_a_histogram_of_the_weights_against_the_law():
    picture = failure(he_normal, against="init.he_normal").picture
    assert picture.kind == "density" and picture.xlabel == "weight"
    assert np.sum(picture.obtained * np.diff(picture.edges)) == pytest.approx(1.0)  # a density
    std = np.sqrt(2.0 / 400)  # the first trial: a (400, 500) matrix, mode fan_in
    assert picture.expected.max() == pytest.approx(1 / (std * np.sqrt(2 * np.pi)), rel=1e-3)
    assert picture.expected_label.startswith(EXPECTED) and f"std {std:.3g}" in picture.expected_label
    assert picture.obtained_label.startswith(f"{OBTAINED}: std ")
    assert float(picture.obtained_label.rsplit(" ", 1)[1]) == pytest.approx(np.sqrt(1 / 400), rel=0.02)


def test_a_uniform_initializer_drawing_normals_has_a_picture_although_a_flag_failed():
    error = failure(xavier_uniform, against="init.xavier_uniform")
    assert error.mistake == "xu_normal_instead"
    assert error.picture.kind == "density" and "U(-" in error.picture.expected_label


def test_no_picture_when_only_a_fact_about_the_rng_fails():
    error = failure(he_normal_unseeded, against="init.he_normal")
    assert "the same seed give the same weights" in str(error) and error.picture is None


def test_dropout_shows_out_over_x_against_its_two_values():
    picture = failure(dropout_forward, against="layers.dropout_forward").picture
    assert picture.kind == "masses" and picture.xlabel == "out / x" and "training, p = 0.2" in picture.title
    assert dict(zip(picture.x, picture.expected, strict=True)) == pytest.approx({0.0: 0.2, 1.25: 0.8})
    assert picture.obtained.sum() == pytest.approx(1.0)
    kept = np.digitize(1.0, picture.edges) - 1  # the student's kept units are at out / x = 1
    assert picture.obtained[kept] == pytest.approx(0.8, abs=0.01)


def test_dropout_failing_in_evaluation_shows_evaluation():
    picture = failure(dropout_forward_scaled_in_eval, against="layers.dropout_forward").picture
    assert "training=False" in picture.title and dict(zip(picture.x, picture.expected, strict=True)) == {1.0: 1.0}


def test_dropout_backward_shows_dx_over_dout():
    picture = failure(dropout_forward_right, dropout_backward_unmasked, against="layers.dropout_backward").picture
    assert picture.kind == "masses" and picture.xlabel == "dx / dout"


def test_contract_problems_and_other_targets_have_no_picture():
    assert failure(lambda x: None, against="activations.relu").picture is None
    assert failure(lambda x: x[..., None], against="activations.relu").picture is None  # a shape
    assert get_target("schedules.clip_grad_value").picture is None
    assert get_target("layers.linear_backward").picture is None


def test_the_targets_with_a_picture():
    pictured = {name for name in targets() if get_target(name).picture is not None}
    kinds = ("optim.", "init.", "activations.")
    assert {name for name in targets() if name.startswith(kinds)} <= pictured
    assert pictured - {name for name in pictured if name.startswith(kinds)} == {
        "schedules.linear_decay", "schedules.warmup_cosine", "schedules.step_decay",
        "layers.dropout_forward", "layers.dropout_backward", "layers.relu_backward", "layers.sigmoid_backward",
        "layers.tanh_backward", "layers.leaky_relu_backward"}


# ------------------------------------------------------------- the engine's side


def counting(target):
    calls = []

    def picture(trial, problem, student):
        calls.append(trial.label)
        return target.picture(trial, problem, student)

    return dataclasses.replace(target, picture=picture), calls


def test_a_picture_is_built_once_at_the_failure_and_never_on_passing_trials():
    target, calls = counting(get_target("activations.relu"))
    run_check(target, [lambda x: np.maximum(x, 0.0)])
    assert calls == []
    with pytest.raises(GradingError):
        run_check(target, [relu])
    assert len(calls) == 1


def test_a_failing_picture_never_hides_the_feedback():
    def broken(trial, problem, student):
        raise RuntimeError("a bug in a picture")

    target = dataclasses.replace(get_target("activations.relu"), picture=broken)
    with pytest.raises(GradingError) as info:
        run_check(target, [relu])
    assert info.value.picture is None and info.value.mistake == "relu_abs"
    assert "Likely cause" in str(info.value)


def test_the_picture_survives_pickling():
    error = failure(relu, against="activations.relu")
    restored = pickle.loads(pickle.dumps(error))
    assert (str(restored), restored.mistake) == (str(error), error.mistake)
    np.testing.assert_array_equal(restored.picture.obtained, error.picture.obtained)
    assert restored.picture.title == error.picture.title


def test_a_picture_checks_its_fields():
    with pytest.raises(ValueError, match="kind"):
        Picture("pie", "t", "x", "y", x=np.zeros(2), expected=np.zeros(2), obtained=np.zeros(2))
    with pytest.raises(ValueError, match="one more edge"):
        Picture("density", "t", "x", "y", x=np.zeros(2), expected=np.zeros(2), obtained=np.zeros(3),
                edges=np.zeros(3))


# ------------------------------------------------------------- every catalogued mistake, drawn

PICTURED = sorted(name for name in targets() if get_target(name).picture is not None)
NAN_ONLY = {"activations.tanh"}  # its one mistake overflows to nan: a contract problem, no picture


@pytest.mark.parametrize("name", PICTURED)
def test_every_catalogued_mistake_gets_a_picture_that_draws(name):
    """Builders are called without the engine's safety net here, so a bug in one shows; each picture draws."""
    target = get_target(name)
    raised = []

    def unguarded(trial, problem, student):
        try:
            return target.picture(trial, problem, student)
        except Exception as error:
            raised.append(repr(error))
            raise

    trusted = dataclasses.replace(target, forbidden=("torch",), picture=unguarded)
    drawn = 0
    for mistake in target.mistakes:
        try:  # some mistakes show on hidden trials only (an overflow for |x| > 700)
            run_check(trusted, list(mistake.impl))
            run_check(trusted, list(mistake.impl), hidden=True)
        except GradingError as error:
            picture = error.picture
        else:
            pytest.fail(f"{mistake.name} passed")
        assert not raised, f"{mistake.name}: {raised}"
        if picture is not None:
            assert png_size(png(picture)) == (round(SIZE[0] * DPI), round(SIZE[1] * DPI))
            drawn += 1
    assert drawn or name in NAN_ONLY, f"no catalogued mistake of {name} has a picture"
