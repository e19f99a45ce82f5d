"""The regularization widgets' compute functions: the regularization path, dropout and double descent against
their analytic properties."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.widgets.regularization import (
    FEATURE_COUNTS,
    STRENGTHS,
    _regularization_view,
    describe_double_descent,
    describe_dropout,
    describe_regularization,
    double_descent_curve,
    dropout_masks,
    regularization_path,
)


def test_l1_gives_exact_zeros_and_l2_does_not():
    l1, l2 = regularization_path(12, "L1"), regularization_path(12, "L2")
    column = int(np.argmin(np.abs(STRENGTHS - 1e-2)))
    assert (l1["W"][:, column] == 0).sum() >= 6
    assert (l2["W"][:, column] != 0).all()
    # the largest strength kills every L1 weight (lambda above max |gradient at 0|)
    assert (l1["W"][:, -1] == 0).all()


@pytest.mark.parametrize("penalty", ["L1", "L2"])
def test_training_error_grows_with_the_strength(penalty):
    path = regularization_path(10, penalty)
    assert (np.diff(path["train_mse"]) >= -1e-9).all()
    assert path["val_mse"].min() < path["val_mse"][0]  # some regularization helps a degree-10 fit


@pytest.mark.parametrize("p", [0.0, 0.2, 0.5, 0.9])
def test_dropout_keeps_the_expected_activation(p):
    data = dropout_masks(p, seed=1, n_masks=4000)
    x = data["x"]
    assert set(np.unique(data["multipliers"])) <= {0.0, 1 / (1 - p)}
    np.testing.assert_allclose(data["outputs"], data["multipliers"] * x)
    kept = (data["multipliers"] > 0).mean()
    n = data["multipliers"].size
    assert abs(kept - (1 - p)) <= 5 * np.sqrt(p * (1 - p) / n) + 1e-12
    # each output is x / (1 - p) with probability 1 - p, else 0: mean x, std x sqrt(p / (1 - p))
    standard_error = x * np.sqrt(p / (1 - p) / 4000)
    assert (np.abs(data["average"] - x) <= 5 * standard_error + 1e-12).all()
    np.testing.assert_allclose(data["running_total"][-1], data["totals"].mean())


def test_dropout_masks_reject_p_of_one():
    with pytest.raises(ValueError, match="p"):
        dropout_masks(1.0, 0, 10)


def test_double_descent_peaks_at_the_interpolation_threshold():
    for n_train in (20, 40):
        curve = double_descent_curve(noise=0.2, n_train=n_train)
        p = curve["feature_counts"]
        assert p[np.argmax(curve["test_mse"])] == n_train
        # below the threshold least squares does not interpolate; from it on it does
        assert (curve["train_mse"][p < n_train] > 1e-6).all()
        assert (curve["train_mse"][p >= n_train] < 1e-12).all()
        # the second descent: many features beat the best small model
        assert curve["test_mse"][-1] < curve["test_mse"][p < n_train].min()


def test_ridge_removes_the_peak():
    plain, ridge = double_descent_curve(noise=0.2, ridge=0.0), double_descent_curve(noise=0.2, ridge=1e-2)
    assert ridge["test_mse"].max() < 0.2 * plain["test_mse"].max()
    assert ridge["weight_norm"].max() < plain["weight_norm"].max()


def test_without_noise_and_penalty_the_curve_is_deterministic_and_finite():
    curve = double_descent_curve(noise=0.0, seeds=2)
    assert np.isfinite(curve["test_mse"]).all() and len(curve["test_mse"]) == len(FEATURE_COUNTS)
    np.testing.assert_array_equal(curve["test_mse"], double_descent_curve(noise=0.0, seeds=2)["test_mse"])


@pytest.mark.parametrize("kwargs, match", [({"noise": -1.0}, "noise"), ({"ridge": -1.0}, "ridge"),
                                           ({"n_train": 1}, "n_train")])
def test_double_descent_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        double_descent_curve(**kwargs)


def test_the_texts_state_the_errors_and_the_draws():
    view = _regularization_view(12, "L1", 1e-2)
    text = describe_regularization(view, 12, "L1", 1e-2)
    index = view["index"]
    assert f"validation {view['val_mse'][index]:.3g}" in text and "L1 penalty, lambda = 1e-02" in text
    masks = dropout_masks(0.5, 0, 10)
    assert f"running mean after 10 draws {masks['running_total'][-1]:.3g}" in describe_dropout(masks, 0.5, 0, 10)
    curve = double_descent_curve(0.2, 0.0, 40)
    text = describe_double_descent(curve, 0.2, 0.0, 40)
    assert f"highest {curve['test_mse'].max():.3g} at p = 40" in text
