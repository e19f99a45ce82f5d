"""dlcourse.regression: ridge against torch least squares, lasso against scikit-learn and its optimality
conditions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import Lasso, Ridge

from dlcourse.regression import fit_lasso, fit_ridge, legendre_features, polynomial_data

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
        # 1/n ||yc - Fc w||^2 + lam / 2 ||w||^2 = 1/n ||[yc; 0] - [Fc; sqrt(n lam / 2) I] w||^2
        A = torch.from_numpy(np.vstack([fc, np.sqrt(n * lam / 2) * np.eye(degree)]))
        rhs = torch.from_numpy(np.concatenate([yc, np.zeros(degree)]))[:, None]
        w = torch.linalg.lstsq(A, rhs, driver="gelsd").solution[:, 0].numpy()
        np.testing.assert_allclose(W[:, j], w, rtol=RIDGE_RTOL, atol=1e-12)
        assert b[j] == pytest.approx(y.mean() - features.mean(0) @ w, rel=1e-8)


@pytest.mark.parametrize("lam", [1e-3, 0.1, 2.0])
def test_ridge_is_scikit_learns_with_alpha_n_lambda_over_2(lam):
    # the course's penalty lambda / 2 ||w||^2 on the MEAN squared error; scikit-learn: sums, alpha ||w||^2
    features, y = problem(9)
    W, b = fit_ridge(features, y, np.array([lam]))
    model = Ridge(alpha=len(y) * lam / 2).fit(features, y)
    np.testing.assert_allclose(W[:, 0], model.coef_, rtol=RIDGE_RTOL, atol=1e-12)
    assert b[0] == pytest.approx(model.intercept_, rel=1e-8)


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
    strengths = 10.0 ** np.arange(-8.0, 1.01, 0.25)  # the regularization widget's grid
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
