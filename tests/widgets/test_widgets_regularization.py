"""The regularization widgets' compute functions: ridge against torch least squares, lasso against scikit-learn
and its optimality conditions, dropout and double descent against their analytic properties."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import Lasso

from dlcourse.widgets.regularization import (
    FEATURE_COUNTS,
    STRENGTHS,
    double_descent_curve,
    dropout_masks,
    fit_lasso,
    fit_ridge,
    legendre_features,
    polynomial_data,
    regularization_path,
)

# ridge: a closed form through an eigendecomposition vs torch's QR least squares, float64, well
# conditioned (strength >= 1e-4 on Legendre features): rtol 1e-8
RIDGE_RTOL = 1e-8
# lasso: two iterative solvers stopped at their own tolerances; they agree to about 1e-7
LASSO_ATOL = 1e-6


def problem(degree=9, n=15, seed=0):
    x_train, y_train, _, _ = polynomial_data(n_train=n, seed=seed)
    return legendre_features(x_train, degree), np.array(y_train)


def test_legendre_features_are_the_legendre_polynomials():
    x = np.linspace(-1, 1, 7)
    features = legendre_features(x, 3)
    np.testing.assert_allclose(features, np.column_stack([x, (3 * x**2 - 1) / 2, (5 * x**3 - 3 * x) / 2]),
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("degree, n", [(1, 3), (5, 15), (9, 15), (14, 15)])
def test_ridge_matches_torch_least_squares_on_the_augmented_system(degree, n):
    features, y = problem(degree, n)
    strengths = np.array([1e-4, 1e-2, 1.0])
    W, b = fit_ridge(features, y, strengths)
    fc, yc = features - features.mean(0), y - y.mean()
    for j, lam in enumerate(strengths):
        # 1/n ||yc - Fc w||^2 + lam ||w||^2 = 1/n ||[yc; 0] - [Fc; sqrt(n lam) I] w||^2
        A = torch.from_numpy(np.vstack([fc, np.sqrt(n * lam) * np.eye(degree)]))
        rhs = torch.from_numpy(np.concatenate([yc, np.zeros(degree)]))[:, None]
        w = torch.linalg.lstsq(A, rhs, driver="gelsd").solution[:, 0].numpy()
        np.testing.assert_allclose(W[:, j], w, rtol=RIDGE_RTOL, atol=1e-12)
        assert b[j] == pytest.approx(y.mean() - features.mean(0) @ w, rel=1e-8)


def test_ridge_without_penalty_is_the_minimum_norm_least_squares_solution():
    features, y = problem(degree=14, n=8)  # more weights than points: many interpolants
    W, b = fit_ridge(features, y, np.array([0.0]))
    fc, yc = features - features.mean(0), y - y.mean()
    expected = torch.linalg.pinv(torch.from_numpy(fc)) @ torch.from_numpy(yc)
    np.testing.assert_allclose(W[:, 0], expected.numpy(), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(features @ W[:, 0] + b[0], y, atol=1e-8)  # it interpolates


@pytest.mark.parametrize("degree", [3, 9, 14])
def test_lasso_matches_scikit_learn(degree):
    features, y = problem(degree)
    strengths = np.array([1e-3, 1e-2, 1e-1])
    W, b = fit_lasso(features, y, strengths, max_iter=100_000)
    for j, lam in enumerate(strengths):
        # scikit-learn minimizes 1/(2n) ||y - Fw - b||^2 + alpha ||w||_1: alpha = lambda / 2
        model = Lasso(alpha=lam / 2, tol=1e-14, max_iter=1_000_000).fit(features, y)
        np.testing.assert_allclose(W[:, j], model.coef_, atol=LASSO_ATOL)
        assert b[j] == pytest.approx(model.intercept_, abs=LASSO_ATOL)


@pytest.mark.parametrize("degree", [6, 12, 15])
def test_lasso_solution_satisfies_the_optimality_conditions(degree):
    features, y = problem(degree)
    strengths = STRENGTHS
    W, _ = fit_lasso(features, y, strengths, max_iter=100_000)
    fc, yc = features - features.mean(0), y - y.mean()
    gradient = 2 * fc.T @ (fc @ W - yc[:, None]) / len(y)  # of the mean squared error
    nonzero = W != 0
    # zero subgradient: gradient = -lambda sign(w) where w != 0, |gradient| <= lambda where w = 0
    lam = np.broadcast_to(strengths, W.shape)
    # FISTA's residual after 1e5 iterations: at most ~5e-7 for the near-singular degree-15 fit at lambda ~ 1e-7
    kkt_atol = 1e-6
    np.testing.assert_allclose(gradient[nonzero], -lam[nonzero] * np.sign(W[nonzero]), rtol=0, atol=kkt_atol)
    assert (np.abs(gradient[~nonzero]) <= lam[~nonzero] + kkt_atol).all()


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


@pytest.mark.parametrize("fit", [fit_ridge, fit_lasso])
def test_fits_reject_bad_input_and_do_not_modify_it(fit):
    features, y = problem(4)
    before = features.copy(), y.copy()
    fit(features, y, np.array([0.1]))
    np.testing.assert_array_equal(features, before[0])
    np.testing.assert_array_equal(y, before[1])
    with pytest.raises(ValueError, match="strengths"):
        fit(features, y, np.array([-1.0]))
    with pytest.raises(ValueError, match="features"):
        fit(features, y[:-1], np.array([0.1]))
    with pytest.raises(TypeError, match="features"):
        fit(features.astype(int), y, np.array([0.1]))


# -------------------------------------------------------------- dropout


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


# ------------------------------------------------------- double descent


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
