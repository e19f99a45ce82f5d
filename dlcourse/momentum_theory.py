"""Heavy-ball momentum on a quadratic: a 2 x 2 iteration matrix per eigen-direction, its eigenvalues, the rate.

On a quadratic f(theta) = 1/2 (theta - theta*)^T H (theta - theta*) the gradient is
H (theta - theta*), and in the eigenvectors of H every coordinate evolves on its own.
Along an eigenvector with eigenvalue (curvature) lambda, let x be the coordinate of
theta - theta* and v that of the velocity.  torch's heavy ball

    v_t = mu v_{t-1} + g_t,   theta_t = theta_{t-1} - eta v_t,   g_t = H (theta_{t-1} - theta*)

is then a linear map of the pair (x, v):

    [x_t]   [1 - eta lambda   -eta mu] [x_{t-1}]
    [v_t] = [    lambda          mu  ] [v_{t-1}]          (the iteration matrix R)

R has trace 1 + mu - eta lambda and determinant mu, so its eigenvalues are the roots of

    z^2 - (1 + mu - eta lambda) z + mu = 0,   z = (b +- sqrt(b^2 - 4 mu)) / 2,   b = 1 + mu - eta lambda.

After t steps (x_t, v_t) = R^t (x_0, 0): the error along this direction shrinks like
rho^t, where rho = max |z| is the spectral radius of R.  Consequences:

* complex eigenvalues, (1 - sqrt(mu))^2 < eta lambda < (1 + sqrt(mu))^2: |z| = sqrt(mu),
  whatever the curvature (the iterates spiral in at the rate sqrt(mu));
* stable (rho < 1) exactly when 0 < eta lambda < 2 (1 + mu), for 0 <= mu < 1;
* with curvatures between lambda_min and lambda_max the slowest direction sets the rate,
  and the best choice puts lambda_min and lambda_max on the two edges of the complex band:

      eta = 4 / (sqrt(lambda_max) + sqrt(lambda_min))^2,
      mu  = ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2,   rate sqrt(mu) = (sqrt(kappa) - 1) / (sqrt(kappa) + 1)

  with kappa = lambda_max / lambda_min, against (kappa - 1) / (kappa + 1) for the best
  gradient descent (eta = 2 / (lambda_min + lambda_max), mu = 0): about 1 - 2 / sqrt(kappa)
  instead of 1 - 2 / kappa per step.

Conventions: symbols of docs/notation.md (eta the learning rate, mu the momentum, lambda a
curvature, kappa the condition number).  Goh's "Why Momentum Really Works" (Distill, 2017)
writes alpha for the learning rate and beta for the momentum and orders the state as
(velocity, position); d2l.ai section 12.6 writes eta and beta.  The moving-average form of
momentum (``dlcourse.optim.ema_momentum_step``) is this one with eta = (1 - beta) eta', and
Sutskever's form rescales v by -eta: both have the same eigenvalues.

Sources: Polyak, "Some methods of speeding up the convergence of iteration methods" (1964);
Goh, "Why Momentum Really Works", Distill (2017); Zhang et al., "Dive into Deep Learning",
section 12.6 (Momentum); VU Amsterdam DLVU lecture 4 (momentum's "potential quadratic speedup").
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from dlcourse._checks import as_float_array, check_int, check_range

__all__ = [
    "TunedRate",
    "contraction_per_step",
    "iteration_eigenvalues",
    "iteration_matrix",
    "largest_stable_lr",
    "optimal_gradient_descent",
    "optimal_heavy_ball",
    "spectral_radius",
]


class TunedRate(NamedTuple):
    """The best hyperparameters for curvatures in [lambda_min, lambda_max] and the rate they reach.

    Example:
        >>> TunedRate(lr=0.5, momentum=0.0, rate=0.8).rate
        0.8
    """

    lr: float
    momentum: float
    rate: float  # the error shrinks by this factor per step (asymptotically)


def _checked(lr: Any, momentum: Any, curvature: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """lr > 0, 0 <= momentum <= 1, curvature > 0, as float arrays that broadcast together."""
    lr, momentum, curvature = (as_float_array(value, name) for value, name in
                               ((lr, "lr"), (momentum, "momentum"), (curvature, "curvature")))
    for value, name, ok, expected in ((lr, "lr", lr > 0, "> 0"),
                                      (momentum, "momentum", (momentum >= 0) & (momentum <= 1), "in [0, 1]"),
                                      (curvature, "curvature", curvature > 0, "> 0")):
        if not (np.all(ok) and np.all(np.isfinite(value))):
            raise ValueError(f"{name} must be finite and {expected}, got {value!r}")
    try:
        np.broadcast_shapes(lr.shape, momentum.shape, curvature.shape)
    except ValueError as exc:
        raise ValueError(f"lr, momentum and curvature must broadcast together, got shapes "
                         f"{lr.shape}, {momentum.shape}, {curvature.shape}") from exc
    return lr, momentum, curvature


def iteration_matrix(lr: Any, momentum: Any, curvature: Any) -> np.ndarray:
    """The matrix R that maps (x_{t-1}, v_{t-1}) to (x_t, v_t) along one eigen-direction.

        R = [[1 - eta lambda, -eta mu],
             [lambda,          mu    ]]

    Args:
        lr: eta > 0; momentum: mu in [0, 1]; curvature: lambda > 0 (an eigenvalue of the
            Hessian).  Numbers or float arrays that broadcast together.

    Returns:
        Shape (..., 2, 2): one matrix per broadcast element.

    Example:
        >>> iteration_matrix(lr=0.5, momentum=0.9, curvature=2.0)
        array([[ 0.  , -0.45],
               [ 2.  ,  0.9 ]])
    """
    eta, mu, lam = _checked(lr, momentum, curvature)
    eta, mu, lam = np.broadcast_arrays(eta, mu, lam)
    return np.stack([np.stack([1 - eta * lam, -eta * mu], axis=-1),
                     np.stack([lam, mu], axis=-1)], axis=-2)


def iteration_eigenvalues(lr: Any, momentum: Any, curvature: Any) -> np.ndarray:
    """The two eigenvalues of ``iteration_matrix``: the roots of z^2 - b z + mu, b = 1 + mu - eta lambda.

        b = 1 + mu - eta lambda,   z = (b + sqrt(b^2 - 4 mu)) / 2  and  (b - sqrt(b^2 - 4 mu)) / 2

    (a complex square root: for b^2 < 4 mu the pair is complex conjugate with |z| = sqrt(mu)).

    Args:
        as ``iteration_matrix``.

    Returns:
        Complex array of shape (..., 2) (the broadcast shape of the arguments, then the two roots, + first).

    Example:
        >>> iteration_eigenvalues(lr=0.5, momentum=0.25, curvature=2.0)   # b = 0.25: complex, |z| = 0.5
        array([0.125+0.48412292j, 0.125-0.48412292j])
    """
    eta, mu, lam = _checked(lr, momentum, curvature)
    b = 1 + mu - eta * lam
    root = np.sqrt(b**2 - 4 * mu + 0j)
    return np.stack(np.broadcast_arrays((b + root) / 2, (b - root) / 2), axis=-1)


def spectral_radius(lr: Any, momentum: Any, curvature: Any) -> np.ndarray | float:
    """rho = max |z| over the two eigenvalues: the factor by which the error along this direction shrinks per step.

        rho = max(|z_1|, |z_2|)     (< 1: converges; > 1: diverges)

    For several curvatures (a quadratic in several dimensions) the rate of the whole error
    is the largest rho over them: ``spectral_radius(lr, mu, lambdas).max()``.

    Args:
        as ``iteration_matrix``; arrays give the radius of each broadcast element (the map
        of the (eta lambda, mu) plane uses lr=1 and a grid of curvatures and momenta).

    Returns:
        A float for scalar arguments, else an array of the broadcast shape.

    Example:
        >>> round(spectral_radius(lr=0.1, momentum=0.0, curvature=2.0), 12)   # gradient descent: |1 - eta lambda|
        0.8
        >>> spectral_radius(lr=1.0, momentum=0.81, curvature=1.0)             # complex pair: sqrt(mu)
        0.9
    """
    radius = np.abs(iteration_eigenvalues(lr, momentum, curvature)).max(axis=-1)
    return float(radius) if radius.ndim == 0 else radius


def largest_stable_lr(momentum: float, lambda_max: float) -> float:
    """The learning rate at which heavy ball stops converging: eta = 2 (1 + mu) / lambda_max.

        rho < 1  <=>  0 < eta lambda < 2 (1 + mu)     (for 0 <= mu < 1; at mu = 0 gradient descent's 2 / lambda)

    (Jury's test for z^2 - b z + mu: |mu| < 1 and |b| < 1 + mu.)

    Example:
        >>> largest_stable_lr(momentum=0.5, lambda_max=2.0)
        1.5
    """
    mu = check_range(momentum, "momentum", 0.0, 1.0, high_inclusive=False)
    lambda_max = check_range(lambda_max, "lambda_max", 0.0, low_inclusive=False)
    return 2 * (1 + mu) / lambda_max


def _check_spectrum(lambda_min: Any, lambda_max: Any) -> tuple[float, float]:
    lambda_min = check_range(lambda_min, "lambda_min", 0.0, low_inclusive=False)
    lambda_max = check_range(lambda_max, "lambda_max", 0.0, low_inclusive=False)
    if lambda_max < lambda_min:
        raise ValueError(f"lambda_max must be >= lambda_min, got lambda_min={lambda_min!r}, lambda_max={lambda_max!r}")
    return lambda_min, lambda_max


def optimal_heavy_ball(lambda_min: float, lambda_max: float) -> TunedRate:
    """The heavy ball's best eta and mu for curvatures in [lambda_min, lambda_max], and its rate.

        eta  = 4 / (sqrt(lambda_max) + sqrt(lambda_min))^2
        mu   = ((sqrt(lambda_max) - sqrt(lambda_min)) / (sqrt(lambda_max) + sqrt(lambda_min)))^2
        rate = sqrt(mu) = (sqrt(kappa) - 1) / (sqrt(kappa) + 1),   kappa = lambda_max / lambda_min

    These put eta lambda_min = (1 - sqrt(mu))^2 and eta lambda_max = (1 + sqrt(mu))^2 on the
    edges of the complex band, so every curvature in between contracts at sqrt(mu) (Polyak
    1964; Goh 2017).  At the two edges the eigenvalue is double and the error behaves like
    t rho^t: the rate is reached only asymptotically.

    Example:
        >>> tuned = optimal_heavy_ball(1.0, 100.0)   # kappa = 100: rate 9/11 instead of gradient descent's 99/101
        >>> round(tuned.lr, 6), round(tuned.momentum, 6), round(tuned.rate, 6)
        (0.033058, 0.669421, 0.818182)
    """
    lambda_min, lambda_max = _check_spectrum(lambda_min, lambda_max)
    lr = 4 / (np.sqrt(lambda_max) + np.sqrt(lambda_min)) ** 2
    momentum = ((np.sqrt(lambda_max) - np.sqrt(lambda_min)) / (np.sqrt(lambda_max) + np.sqrt(lambda_min))) ** 2
    return TunedRate(float(lr), float(momentum), float(np.sqrt(momentum)))


def optimal_gradient_descent(lambda_min: float, lambda_max: float) -> TunedRate:
    """Gradient descent's best eta for curvatures in [lambda_min, lambda_max] (momentum 0), and its rate.

        eta  = 2 / (lambda_min + lambda_max)
        rate = (lambda_max - lambda_min) / (lambda_max + lambda_min) = (kappa - 1) / (kappa + 1)

    (the factors |1 - eta lambda_min| and |1 - eta lambda_max| are then equal).

    Example:
        >>> tuned = optimal_gradient_descent(1.0, 100.0)
        >>> round(tuned.lr, 6), tuned.momentum, round(tuned.rate, 6)
        (0.019802, 0.0, 0.980198)
    """
    lambda_min, lambda_max = _check_spectrum(lambda_min, lambda_max)
    return TunedRate(2 / (lambda_min + lambda_max), 0.0, (lambda_max - lambda_min) / (lambda_max + lambda_min))


def contraction_per_step(errors: Any, start: int = 0) -> float:
    """The measured rate of a run: the geometric mean factor by which ``errors`` shrink per step after ``start``.

        rate = (e_T / e_start)^(1 / (T - start)),   T = len(errors) - 1

    Args:
        errors: distances to the minimum |theta_t - theta*| (or any positive error), t = 0..T.
        start: the first step counted, 0 <= start < T (skip the transient of the first steps).

    Example:
        >>> contraction_per_step([8.0, 4.0, 2.0, 1.0])
        0.5
    """
    errors = as_float_array(errors, "errors")
    if errors.ndim != 1 or len(errors) < 2 or not np.all(errors > 0):
        raise ValueError(f"errors must be a 1-D array of at least 2 positive numbers, got shape {errors.shape} "
                         f"with smallest value {errors.min() if errors.size else None!r}")
    start = check_int(start, "start", 0)
    if start >= len(errors) - 1:
        raise ValueError(f"start must be < len(errors) - 1 = {len(errors) - 1}, got {start}")
    return float((errors[-1] / errors[start]) ** (1 / (len(errors) - 1 - start)))
