"""Smooth activations: GELU, SiLU (swish), softplus and Mish.

Smooth everywhere (no kink at 0), close to ReLU for large |x|, and slightly
non-monotonic below 0 (except softplus).

Source: Hendrycks & Gimpel (2016); Elfwing, Uchibe & Doya (2017);
Ramachandran, Zoph & Le (2017); Misra (2019); Georgia Tech CS 4644/7643
'Optimization' (GELU is common in Transformers).
"""

from __future__ import annotations

import math

import numpy as np

from dlcourse._checks import as_float_array, check_choice, check_range
from dlcourse.activations._common import as_dtype_of, sigmoid_and_complement

__all__ = ["gelu", "gelu_grad", "mish", "mish_grad", "silu", "silu_grad", "softplus", "softplus_grad"]

# tanh approximation of GELU (Hendrycks & Gimpel 2016, sec. 2): sqrt(2/pi) and 0.044715.
_GELU_TANH_BETA = math.sqrt(2.0 / math.pi)
_GELU_TANH_KAPPA = 0.044715


def _erf(x: np.ndarray) -> np.ndarray:
    # numpy has no erf; scipy.special.erf (scipy comes with scikit-learn) is
    # vectorized and accurate to a few ulp.  Imported lazily: scipy.special takes ~0.2 s.
    from scipy.special import erf

    return erf(x)


def gelu(x: np.ndarray, approximate: str = "none") -> np.ndarray:
    """Gaussian error linear unit, f(x) = x Phi(x) with Phi the standard normal CDF.

    Exact (approximate="none"):  f(x) = 0.5 x (1 + erf(x / sqrt 2)).
    approximate="tanh":          f(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
    Range ~ [-0.17, inf).

    Args:
        x: input array.
        approximate: "none" (exact, default) or "tanh" (as torch.nn.functional.gelu).

    Source: Hendrycks & Gimpel (2016), "Gaussian error linear units (GELUs)";
    Georgia Tech 'Optimization' (common in Transformers).

    Notes:
        Uses scipy.special.erf.  For x < ~ -8, 1 + erf(x/sqrt 2) rounds to 0,
        so f(x) = -0.0 instead of a value below 1e-14 in magnitude (as torch).

    Example:
        >>> gelu(np.array([-1.0, 0.0, 1.0])).round(4)
        array([-0.1587,  0.    ,  0.8413])
        >>> gelu(np.array([-1.0, 0.0, 1.0]), approximate="tanh").round(4)
        array([-0.1588,  0.    ,  0.8412])
    """
    x = as_float_array(x, "x")
    check_choice(approximate, "approximate", ("none", "tanh"))
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(_GELU_TANH_BETA * (x + _GELU_TANH_KAPPA * x**3)))
    return 0.5 * x * (1 + _erf(x / math.sqrt(2.0)))


def gelu_grad(x: np.ndarray, approximate: str = "none") -> np.ndarray:
    """Derivative of GELU.

    Exact:  f'(x) = Phi(x) + x phi(x), phi(x) = exp(-x^2/2) / sqrt(2 pi).
    tanh:   with u = sqrt(2/pi)(x + 0.044715 x^3), t = tanh(u):
            f'(x) = 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2).

    Example:
        >>> gelu_grad(np.array([-1.0, 0.0, 1.0])).round(4)
        array([-0.0833,  0.5   ,  1.0833])
    """
    x = as_float_array(x, "x")
    check_choice(approximate, "approximate", ("none", "tanh"))
    if approximate == "tanh":
        t = np.tanh(_GELU_TANH_BETA * (x + _GELU_TANH_KAPPA * x**3))
        du_dx = _GELU_TANH_BETA * (1 + 3 * _GELU_TANH_KAPPA * x**2)
        return 0.5 * (1 + t) + 0.5 * x * (1 - t**2) * du_dx
    cdf = 0.5 * (1 + _erf(x / math.sqrt(2.0)))
    pdf = np.exp(-(x**2) / 2) / math.sqrt(2.0 * math.pi)
    return cdf + x * pdf


def silu(x: np.ndarray) -> np.ndarray:
    """SiLU / swish, f(x) = x sigma(x), range ~ [-0.278, inf).

    Source: Elfwing, Uchibe & Doya (2017), "Sigmoid-weighted linear units";
    Ramachandran, Zoph & Le (2017), "Searching for activation functions"
    (swish x sigma(beta x); beta = 1 is SiLU, torch.nn.functional.silu).

    Example:
        >>> silu(np.array([-1.0, 0.0, 1.0])).round(4)
        array([-0.2689,  0.    ,  0.7311])
    """
    x = as_float_array(x, "x")
    s, _ = sigmoid_and_complement(x)
    return x * s


def silu_grad(x: np.ndarray) -> np.ndarray:
    """Derivative of SiLU: f'(x) = sigma(x) (1 + x (1 - sigma(x))).

    Example:
        >>> silu_grad(np.array([-1.0, 0.0, 1.0])).round(4)
        array([0.0723, 0.5   , 0.9277])
    """
    x = as_float_array(x, "x")
    s, one_minus_s = sigmoid_and_complement(x)
    return s * (1 + x * one_minus_s)


def softplus(x: np.ndarray, beta: float = 1.0, threshold: float = 20.0) -> np.ndarray:
    """Softplus, f(x) = log(1 + exp(beta x)) / beta, a smooth ReLU; range (0, inf).

    As torch, the function reverts to the identity where beta * x > threshold
    (there log(1 + e^{bx})/b differs from x by less than e^{-threshold}/b).

    Args:
        x: input array.
        beta: sharpness, > 0 (default 1.0).
        threshold: linear above beta * x > threshold (default 20.0).

    Notes:
        log(1 + e^t) is evaluated as logaddexp(0, t), which never overflows:
        identical to torch's log1p(exp(t)) wherever torch is finite (torch
        returns inf for thresholds above ~709).

    Example:
        >>> softplus(np.array([-1.0, 0.0, 30.0])).round(4)
        array([ 0.3133,  0.6931, 30.    ])
    """
    x = as_float_array(x, "x")
    beta = check_range(beta, "beta", 0, None, low_inclusive=False)
    threshold = check_range(threshold, "threshold")
    return np.where(beta * x > threshold, x, np.logaddexp(0, beta * x) / beta)


def softplus_grad(x: np.ndarray, beta: float = 1.0, threshold: float = 20.0) -> np.ndarray:
    """Derivative of softplus: sigma(beta x), and 1 where beta * x > threshold (as torch).

    Example:
        >>> softplus_grad(np.array([-1.0, 0.0, 30.0])).round(4)
        array([0.2689, 0.5   , 1.    ])
    """
    x = as_float_array(x, "x")
    beta = check_range(beta, "beta", 0, None, low_inclusive=False)
    threshold = check_range(threshold, "threshold")
    s, _ = sigmoid_and_complement(beta * x)
    return as_dtype_of(np.where(beta * x > threshold, 1, s), x)


def mish(x: np.ndarray) -> np.ndarray:
    """Mish, f(x) = x tanh(softplus(x)) = x tanh(log(1 + e^x)), range ~ [-0.309, inf).

    Source: Misra (2019), "Mish: a self regularized non-monotonic activation function".

    Notes:
        softplus is evaluated as logaddexp(0, x), which never overflows and
        agrees with torch's log1p(exp(x)) to rounding wherever that is finite.

    Example:
        >>> mish(np.array([-1.0, 0.0, 1.0])).round(4)
        array([-0.3034,  0.    ,  0.8651])
    """
    x = as_float_array(x, "x")
    return x * np.tanh(np.logaddexp(0, x))


def mish_grad(x: np.ndarray) -> np.ndarray:
    """Derivative of Mish: f'(x) = t + x sigma(x) (1 - t^2), t = tanh(softplus(x)).

    Example:
        >>> mish_grad(np.array([-1.0, 0.0, 1.0])).round(4)
        array([0.0592, 0.6   , 1.049 ])
    """
    x = as_float_array(x, "x")
    t = np.tanh(np.logaddexp(0, x))
    s, _ = sigmoid_and_complement(x)
    return t + x * s * (1 - t**2)
