"""The variance of Adam's adaptive learning rate early in training, and RAdam's rectification of it.

Adam divides by ``sqrt(v_hat_t)``, an average of squared gradients.  At step
t that average holds only a few samples, so the adaptive learning rate
``psi_t = 1 / sqrt(v_hat_t)`` varies a lot from one run (or one weight) to
another: at t = 1 it is ``1 / |g_1|``, unbounded for gradients near zero.
``adaptive_lr_samples`` draws ``psi_t`` for many independent runs;
``sma_length`` and ``rectification`` are RAdam's ``rho_t`` and ``r_t`` for
every t at once (the same equations as ``dlcourse.optim.radam_step``).

Source: Liu et al. (2020), "On the variance of the adaptive learning rate and
beyond", section 3 (gradients drawn from a normal distribution, the variance
of ``psi`` over t) and section 4 (``rho_t``, ``r_t``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlcourse._checks import check_int, check_range, check_rng

__all__ = ["adaptive_lr_samples", "rectification", "sma_length"]


def adaptive_lr_samples(
    steps: int, *, beta2: float = 0.999, runs: int = 2000, mean: float = 0.0, rng: np.random.Generator
) -> np.ndarray:
    """Adam's adaptive learning rate ``psi_t = 1 / sqrt(v_hat_t)`` in ``runs`` independent runs of ``steps`` steps.

    Equations (t = 1, ..., steps; every run independent; ``v_0 = 0``)::

        g_t     ~ N(mean, 1)
        v_t     = beta2 * v_{t-1} + (1 - beta2) * g_t^2
        v_hat_t = v_t / (1 - beta2^t)
        psi_t   = 1 / sqrt(v_hat_t)

    Args:
        steps: ``>= 1``.
        beta2: Adam's ``betas[1]``, in ``[0, 1)`` (default 0.999).
        runs: ``>= 1``, the number of independent runs (or of weights, each
            with its own gradient noise).
        mean: the mean of the gradients (their standard deviation is 1), so
            ``psi_t`` tends to about ``1 / sqrt(1 + mean^2)``.
        rng: ``numpy.random.Generator``; the gradients are drawn one step at a
            time, ``rng.normal(mean, 1, size=runs)``.

    Returns:
        array (steps, runs): row ``t - 1`` holds ``psi_t`` of every run.

    Source:
        Liu et al. (2020), section 3 and its Figure 1 (the same simulation,
        with ``psi`` as Adam's adaptive learning rate without eps).

    Example:
        >>> psi = adaptive_lr_samples(1000, runs=4, rng=np.random.default_rng(0))
        >>> psi[0].round(2)  # t = 1: v_hat_1 = g_1^2, so psi_1 = 1 / |g_1|
        array([7.95, 7.57, 1.56, 9.53])
        >>> psi[-1].round(2)  # t = 1000: an average of many squares, close to 1 / std(g) = 1
        array([1.02, 1.02, 0.98, 0.98])
    """
    steps, runs = check_int(steps, "steps", 1), check_int(runs, "runs", 1)
    beta2 = check_range(beta2, "beta2", 0.0, 1.0, high_inclusive=False)
    mean = check_range(mean, "mean")
    rng = check_rng(rng)
    v = np.zeros(runs)
    psi = np.empty((steps, runs))
    for t in range(1, steps + 1):
        g = rng.normal(mean, 1.0, size=runs)
        v = beta2 * v + (1 - beta2) * g**2
        v_hat = v / (1 - beta2**t)
        psi[t - 1] = 1 / np.sqrt(v_hat)
    return psi


def sma_length(t: Any, beta2: float = 0.999) -> np.ndarray:
    """RAdam's ``rho_t``: the length of the simple moving average that approximates Adam's ``v_t``.

    Equations::

        rho_inf = 2 / (1 - beta2) - 1
        rho_t   = rho_inf - 2 * t * beta2^t / (1 - beta2^t)

    Args:
        t: step numbers ``>= 1`` (an int or an integer array).
        beta2: in ``[0, 1)``.

    Returns:
        float64 array of ``t``'s shape: ``rho_1 = 1``, about t while t is small
        compared with ``1 / (1 - beta2)``, and ``rho_inf`` in the limit.

    Source:
        Liu et al. (2020), section 4.1 (the exponential average and a simple
        one of ``rho_t`` samples have the same centre of mass).

    Example:
        >>> sma_length(np.array([1, 2, 5, 100, 10_000])).round(1).tolist()
        [1.0, 2.0, 5.0, 98.3, 1998.1]
    """
    t = _steps(t)
    beta2 = check_range(beta2, "beta2", 0.0, 1.0, high_inclusive=False)
    rho_inf = 2 / (1 - beta2) - 1
    return rho_inf - 2 * t * beta2**t / (1 - beta2**t)


def rectification(t: Any, beta2: float = 0.999) -> np.ndarray:
    """RAdam's factor ``r_t`` on Adam's step, ``nan`` where RAdam takes a plain momentum step instead (``rho_t <= 5``).

    Equations (``rho_t`` from ``sma_length``)::

        r_t = sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))   if rho_t > 5

    ``r_t`` is the ratio of the standard deviations of ``psi`` at ``rho_inf``
    and at ``rho_t`` under the paper's first-order approximation
    ``Var[psi] ~ rho / (2 (rho - 2) (rho - 4) sigma^2)``, so ``r_t * psi_t``
    has about the variance that ``psi`` has late in training.

    Args:
        t: step numbers ``>= 1`` (an int or an integer array).
        beta2: in ``[0, 1)``.

    Returns:
        float64 array of ``t``'s shape, in ``(0, 1)`` where defined.

    Source:
        Liu et al. (2020), section 4.2 and Algorithm 2; torch.optim.RAdam
        (which switches at ``rho_t > 5`` where the paper writes 4).

    Example:
        >>> rectification(np.array([5, 6, 100, 10_000])).round(3)
        array([  nan, 0.026, 0.215, 1.   ])
    """
    rho = sma_length(t, beta2)
    rho_inf = 2 / (1 - beta2) - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
    return np.where(rho > 5, r, np.nan)


def _steps(t: Any) -> np.ndarray:
    steps = np.asarray(t)
    if steps.dtype == bool or not np.issubdtype(steps.dtype, np.integer):
        raise TypeError(f"t must be an int or an integer array of steps >= 1, got {steps.dtype} {t!r}")
    if steps.size and steps.min() < 1:
        raise ValueError(f"t must be >= 1 (steps count from 1), got minimum {int(steps.min())}")
    return steps.astype(np.float64)
