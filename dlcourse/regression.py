"""Least squares with an L2 (ridge) or L1 (lasso) penalty, on Legendre features of noisy sin(pi x) samples.

The lecture's penalties-vs-fit experiment: a polynomial of high degree fitted
to a few noisy points overfits; ``fit_ridge`` (closed form) shrinks every
weight, ``fit_lasso`` (proximal gradient, FISTA) sets some exactly to 0.
Both fit every strength at once and leave the intercept unpenalized.

Sources: VU Amsterdam DLVU lecture 4 'Tools of the trade' (L1/L2, priors);
Tibshirani 1996 (lasso); Beck & Teboulle 2009 (FISTA).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.polynomial import legendre

from dlcourse._checks import as_float_array, check_int, check_range

__all__ = ["fit_lasso", "fit_ridge", "legendre_features", "polynomial_data"]


@lru_cache(maxsize=4)
def polynomial_data(n_train: int = 15, n_val: int = 200, noise: float = 0.3, seed: int = 0):
    """Noisy samples of sin(pi x) on [-1, 1]: ``(x_train, y_train, x_val, y_val)`` (read-only, cached).

        x ~ U(-1, 1),   y = sin(pi x) + noise * N(0, 1)   (train first, then validation, from default_rng(seed))

    Example:
        >>> x_train, y_train, x_val, y_val = polynomial_data()
        >>> x_train.shape, x_val.shape, x_train[:3].round(3)
        ((15,), (200,), array([ 0.274, -0.46 , -0.918]))
    """
    rng = np.random.default_rng(seed)
    x_train, x_val = rng.uniform(-1, 1, n_train), rng.uniform(-1, 1, n_val)
    arrays = (x_train, np.sin(np.pi * x_train) + noise * rng.standard_normal(n_train),
              x_val, np.sin(np.pi * x_val) + noise * rng.standard_normal(n_val))
    for a in arrays:
        a.flags.writeable = False
    return arrays


def legendre_features(x: np.ndarray, degree: int) -> np.ndarray:
    """Columns P_1(x), ..., P_degree(x): Legendre polynomials, orthogonal on [-1, 1] (no constant column).

    Example:
        >>> legendre_features(np.array([-1.0, 0.0, 0.5, 1.0]), 2)     # P_1 = x, P_2 = (3 x^2 - 1) / 2
        array([[-1.   ,  1.   ],
               [ 0.   , -0.5  ],
               [ 0.5  , -0.125],
               [ 1.   ,  1.   ]])
    """
    x = as_float_array(x, "x")
    degree = check_int(degree, "degree", 1)
    return legendre.legvander(x, degree)[:, 1:]


def _centered(features: np.ndarray, y: np.ndarray):
    """The intercept is not penalized: fit the slopes on centered data, then b = mean(y) - mean(features) w."""
    features, y = as_float_array(features, "features"), as_float_array(y, "y")
    if features.ndim != 2 or y.shape != features.shape[:1]:
        raise ValueError(f"features must be (n, p) and y (n,), got {features.shape} and {y.shape}")
    mean_f, mean_y = features.mean(axis=0), y.mean()
    return features - mean_f, y - mean_y, mean_f, mean_y


def fit_ridge(features: np.ndarray, y: np.ndarray, strengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """L2-penalized least squares (ridge) for every strength at once, in closed form.

        minimize over (w, b):   1/n sum_i (y_i - b - f_i . w)^2  +  lambda / 2 ||w||_2^2
        w = (Fc^T Fc / n + lambda / 2 I)^(-1) Fc^T yc / n,   b = mean(y) - mean(f) . w

    (Fc, yc centered), computed from one eigendecomposition of Fc^T Fc / n.

    Args:
        features: (n, p); y: (n,); strengths: lambdas, each >= 0 (0: the
            least-squares solution, minimum norm if it is not unique).

    Returns:
        ``(W, b)``: W of shape (p, S), b of shape (S,) for the S strengths.

    Notes:
        The penalty is the course's (docs/notation.md): lambda / 2 ||w||^2,
        whose gradient lambda w is what ``weight_decay=lambda`` adds in torch.
        The DLVU slides write lambda ||w||^2 (their lambda is half of this
        one); scikit-learn's ``Ridge(alpha)`` minimizes the sums
        ||y - F w - b||^2 + alpha ||w||^2, the same problem with alpha = n lambda / 2.

    Example:
        >>> x_train, y_train, _, _ = polynomial_data()
        >>> W, b = fit_ridge(legendre_features(x_train, 3), y_train, np.array([0.0, 1.0]))
        >>> W.round(3), b.round(3)                       # lambda = 1 shrinks every weight
        (array([[ 0.839,  0.336],
               [ 0.076, -0.058],
               [-0.275,  0.041]]), array([0.258, 0.411]))
    """
    fc, yc, mean_f, mean_y = _centered(features, y)
    strengths = np.atleast_1d(as_float_array(strengths, "strengths"))
    if (strengths < 0).any():
        raise ValueError(f"strengths must be >= 0, got {strengths.min()}")
    n = len(yc)
    eigenvalues, vectors = np.linalg.eigh(fc.T @ fc / n)
    eigenvalues = np.clip(eigenvalues, 0, None)
    projected = vectors.T @ (fc.T @ yc / n)
    denominator = eigenvalues[:, None] + strengths[None, :] / 2
    # lambda = 0 on a singular direction: leave it at 0 (the minimum-norm solution)
    scale = np.divide(1.0, denominator, out=np.zeros_like(denominator), where=denominator > 1e-12 * eigenvalues.max())
    W = vectors @ (scale * projected[:, None])
    return W, mean_y - mean_f @ W


def fit_lasso(
    features: np.ndarray, y: np.ndarray, strengths: np.ndarray, max_iter: int = 5000, tol: float = 1e-12
) -> tuple[np.ndarray, np.ndarray]:
    """L1-penalized least squares (lasso) for every strength at once, by FISTA.

        minimize over (w, b):   1/n sum_i (y_i - b - f_i . w)^2  +  lambda ||w||_1

    Proximal gradient with Nesterov acceleration: a gradient step on the
    mean squared error, then the proximal map of the L1 term, soft
    thresholding, which sets every |w_j| <= lr * lambda to exactly 0:

        w <- S(v - lr * 2 (G v - r), lr * lambda),   S(u, t) = sign(u) max(|u| - t, 0)

    with G = Fc^T Fc / n, r = Fc^T yc / n, lr = 1 / (2 ||G||) and v the
    momentum point.  Stops when no weight moves by more than ``tol`` (times
    the largest weight).

    Args:
        features: (n, p); y: (n,); strengths: lambdas, each >= 0.
        max_iter: iteration limit (>= 1).
        tol: relative stopping tolerance (> 0).

    Returns:
        ``(W, b)``: W of shape (p, S), b of shape (S,).

    Notes:
        scikit-learn's ``Lasso(alpha)`` minimizes 1/(2n) ||y - Fw - b||^2 +
        alpha ||w||_1, the same problem with alpha = lambda / 2.  Plain
        (sub)gradient descent on the L1 term oscillates around 0 instead of
        reaching it; the exact zeros come from the proximal step.

    Example:
        >>> x_train, y_train, _, _ = polynomial_data()
        >>> W, b = fit_lasso(legendre_features(x_train, 3), y_train, np.array([0.0, 0.1]))
        >>> W.round(3) + 0.0, b.round(3)                 # lambda = 0.1 sets two weights exactly to 0
        (array([[ 0.839,  0.619],
               [ 0.076,  0.   ],
               [-0.275,  0.   ]]), array([0.258, 0.37 ]))
    """
    fc, yc, mean_f, mean_y = _centered(features, y)
    strengths = np.atleast_1d(as_float_array(strengths, "strengths"))
    if (strengths < 0).any():
        raise ValueError(f"strengths must be >= 0, got {strengths.min()}")
    max_iter, tol = check_int(max_iter, "max_iter", 1), check_range(tol, "tol", 0.0, None, low_inclusive=False)
    n = len(yc)
    gram, correlation = fc.T @ fc / n, (fc.T @ yc / n)[:, None]
    lr = 1.0 / (2.0 * np.linalg.eigvalsh(gram)[-1])
    threshold = lr * strengths[None, :]
    # warm start at the ridge solution of the same strength: for small lambda both are close to least squares,
    # exactly where the ill-conditioned directions would make a cold start crawl
    W = fit_ridge(features, y, strengths)[0]
    V, t = W, 1.0
    for _ in range(max_iter):
        U = V - lr * 2.0 * (gram @ V - correlation)
        W_new = np.sign(U) * np.maximum(np.abs(U) - threshold, 0.0)
        t_new = (1.0 + np.sqrt(1.0 + 4.0 * t * t)) / 2.0
        V = W_new + ((t - 1.0) / t_new) * (W_new - W)
        change = np.abs(W_new - W).max()
        W, t = W_new, t_new
        if change <= tol * max(np.abs(W).max(), 1e-300):
            break
    return W, mean_y - mean_f @ W
