"""Activation functions and their derivatives, elementwise on numpy arrays.

Every activation ``f`` comes as a pair ``f(x, ...)`` / ``f_grad(x, ...)``: the
value and the derivative ``df/dx`` evaluated elementwise (the diagonal of the
Jacobian).  A backward pass multiplies the upstream gradient by ``f_grad(x)``.
``ACTIVATIONS`` maps each parameter-free-by-default name to its pair; layers
and the MLP look activations up there so nothing is written twice.

Conventions follow ``torch.nn.functional`` and ``torch.autograd``, including
the value of the derivative at the kink ``x = 0`` (see each Notes section).
All functions are written so that no intermediate overflows: they are quiet
(no RuntimeWarning) and finite for every finite input of moderate size
(``|x| <= 1e4`` is tested; GELU's ``x**3`` is fine up to ``|x| ~ 1e100``).

Sources: Georgia Tech CS 4644/7643 'Optimization' (properties: min/max,
saturation, gradients, cost); Univ. of Macau 'Modern Techniques' (vanishing
gradients through sigmoid, ReLU, dead neurons, leaky ReLU and friends).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from dlcourse._checks import as_float_array, check_choice, check_range

__all__ = [
    "sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "relu", "relu_grad",
    "leaky_relu", "leaky_relu_grad", "prelu", "prelu_grad", "prelu_grad_a",
    "elu", "elu_grad", "gelu", "gelu_grad", "selu", "selu_grad",
    "silu", "silu_grad", "mish", "mish_grad", "softplus", "softplus_grad",
    "ACTIVATIONS",
]

# Klambauer et al. (2017); the same digits as torch.nn.functional.selu.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
# tanh approximation of GELU (Hendrycks & Gimpel 2016, sec. 2).
_GELU_TANH_BETA = math.sqrt(2.0 / math.pi)
_GELU_TANH_KAPPA = 0.044715
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _erf(x: np.ndarray) -> np.ndarray:
    # numpy has no erf; scipy.special.erf (scipy comes with scikit-learn) is
    # vectorized and accurate to a few ulp.  Imported lazily: scipy.special takes ~0.2 s.
    from scipy.special import erf

    return erf(x)


def _sigmoid_and_complement(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return sigma(x) and 1 - sigma(x) = sigma(-x), without overflow or cancellation.

    With z = exp(-|x|) <= 1 both are z/(1+z) or 1/(1+z), chosen by the sign of x,
    so exp never overflows and 1 - sigma(x) keeps full relative precision.
    """
    z = np.exp(-np.abs(x))
    big, small = 1 / (1 + z), z / (1 + z)
    positive = x >= 0
    return np.where(positive, big, small), np.where(positive, small, big)


def _as_dtype_of(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    # np.where with Python-number branches yields float64; keep float32 in -> float32 out.
    return values.astype(x.dtype, copy=False)


# ---------------------------------------------------------------- sigmoid, tanh
def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic sigmoid, sigma(x) = 1 / (1 + exp(-x)), range (0, 1).

    Evaluated as 1/(1+z) for x >= 0 and z/(1+z) for x < 0 with z = exp(-|x|),
    so exp never overflows (``1/(1+np.exp(-x))`` warns for x < -709).

    Source: Georgia Tech 'Optimization' (min 0, max 1, always positive,
    saturates at both ends); Macau 'Modern Techniques' (standard until ~2012).
    """
    x = as_float_array(x, "x")
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, z) / (1 + z)


def sigmoid_grad(x: np.ndarray) -> np.ndarray:
    """Derivative of the sigmoid: sigma'(x) = sigma(x) (1 - sigma(x)), range (0, 1/4].

    At most 1/4 (at x = 0), so a product of many sigma' vanishes with depth.

    Notes:
        Computed as sigma(x) sigma(-x) = z / (1+z)^2 with z = exp(-|x|), exact
        in the tails.  torch evaluates y (1 - y) from y = sigma(x), which
        rounds to 0 for x > ~37; the two differ by less than 1e-16 absolutely.
    """
    x = as_float_array(x, "x")
    z = np.exp(-np.abs(x))
    return z / ((1 + z) * (1 + z))


def tanh(x: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent, tanh(x) = (e^x - e^-x) / (e^x + e^-x) = 2 sigma(2x) - 1, range (-1, 1).

    Source: Georgia Tech 'Optimization' (zero-centred, saturates at both ends).
    """
    return np.tanh(as_float_array(x, "x"))


def tanh_grad(x: np.ndarray) -> np.ndarray:
    """Derivative of tanh: tanh'(x) = 1 - tanh(x)^2, range (0, 1]."""
    t = np.tanh(as_float_array(x, "x"))
    return 1 - t * t


# ------------------------------------------------------------ rectifier family
def relu(x: np.ndarray) -> np.ndarray:
    """Rectified linear unit, relu(x) = max(0, x), range [0, inf).

    Source: Georgia Tech 'Optimization'; Macau 'Modern Techniques' (gradient
    1 for x > 0 does not vanish; 0 for x < 0 gives dead neurons).
    """
    return np.maximum(as_float_array(x, "x"), 0)


def relu_grad(x: np.ndarray) -> np.ndarray:
    """Derivative of ReLU: 1 for x > 0, 0 for x <= 0.

    Notes:
        At the kink x = 0 torch.autograd uses 0 (a valid subgradient); the
        Macau slides write 1 for x >= 0.  We follow torch.
    """
    x = as_float_array(x, "x")
    return _as_dtype_of(x > 0, x)


def leaky_relu(x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    """Leaky ReLU, f(x) = x for x > 0 and negative_slope * x otherwise.

    Range (-inf, inf) for negative_slope > 0.  The small slope lets "dead"
    units get gradient and recover.

    Args:
        x: input array.
        negative_slope: slope for x <= 0 (any real; default 0.01 as torch).

    Source: Maas, Hannun & Ng (2013), "Rectifier nonlinearities improve neural
    network acoustic models"; Macau 'Modern Techniques'.

    Notes:
        The Macau slides use max(0.1 x, x), i.e. negative_slope = 0.1; torch's
        default is 0.01.  max(a x, x) equals this only for 0 <= a <= 1.
    """
    x = as_float_array(x, "x")
    negative_slope = check_range(negative_slope, "negative_slope")
    return np.where(x > 0, x, negative_slope * x)


def leaky_relu_grad(x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    """Derivative of leaky ReLU: 1 for x > 0, negative_slope for x <= 0.

    Notes:
        At x = 0 torch.autograd returns negative_slope (its kernel tests x > 0).
    """
    x = as_float_array(x, "x")
    negative_slope = check_range(negative_slope, "negative_slope")
    return _as_dtype_of(np.where(x > 0, 1.0, negative_slope), x)


def _prelu_slope(x: np.ndarray, a: np.ndarray | float) -> np.ndarray:
    """Validate the PReLU slope and reshape it to broadcast against x (channel axis 1)."""
    a = as_float_array(a, "a")
    if a.size == 1 and a.ndim <= 1:
        return a.reshape(())
    if a.ndim == 1 and x.ndim >= 2 and a.shape[0] == x.shape[1]:
        return a.reshape((a.shape[0],) + (1,) * (x.ndim - 2))
    channels = x.shape[1] if x.ndim >= 2 else 1
    raise ValueError(
        f"a must be a scalar, shape (1,), or shape (C,) = ({channels},) with one slope per "
        f"channel on axis 1 of x; got a with shape {a.shape} for x with shape {x.shape}. "
        f"Pass a single slope or one slope per channel x.shape[1]"
    )


def prelu(x: np.ndarray, a: np.ndarray | float) -> np.ndarray:
    """Parametric ReLU, f(x) = x for x > 0 and a * x otherwise, with a learnable slope a.

    Args:
        x: input of shape (N, C, ...) or any shape if a is a single slope.
        a: the slope, a scalar / shape (1,) array (one slope shared by all
           units), or shape (C,) with one slope per channel, broadcast along
           axis 1 of x (torch.nn.PReLU semantics; if x.ndim < 2 there is no
           channel axis and a must be a single slope).

    Source: He, Zhang, Ren & Sun (2015), "Delving deep into rectifiers";
    Georgia Tech 'Optimization' (learnable parameter, no saturation, no dead units).
    """
    x = as_float_array(x, "x")
    return np.where(x > 0, x, _prelu_slope(x, a) * x)


def prelu_grad(x: np.ndarray, a: np.ndarray | float) -> np.ndarray:
    """Derivative of PReLU w.r.t. x: 1 for x > 0, a (of x's channel) for x <= 0.

    Notes:
        At x = 0 torch.autograd returns a (its kernel tests x > 0).
    """
    x = as_float_array(x, "x")
    slope = _prelu_slope(x, a)
    return np.where(x > 0, 1, slope).astype(np.result_type(x, slope), copy=False)


def prelu_grad_a(x: np.ndarray, a: np.ndarray | float) -> np.ndarray:
    """Elementwise derivative of PReLU w.r.t. its slope: d f(x_i) / d a_c(i) = 0 if x_i > 0 else x_i.

    Returns an array of x's shape: entry i is the partial derivative of output
    i w.r.t. the slope of i's channel c(i).  The gradient of a loss w.r.t. a is
    therefore ``(dout * prelu_grad_a(x, a))`` summed over every axis except
    the channel axis 1 (or over all axes for a single slope); see
    ``dlcourse.layers.prelu_backward``.  ``a`` is only validated.
    """
    x = as_float_array(x, "x")
    _prelu_slope(x, a)
    return np.where(x > 0, 0, x)


# ------------------------------------------------------------ exponential units
def elu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Exponential linear unit, f(x) = x for x > 0 and alpha (e^x - 1) for x <= 0.

    Range (-alpha, inf): saturates smoothly to -alpha, pushing mean
    activations towards zero.

    Args:
        x: input array.
        alpha: saturation value for x -> -inf (any real; default 1.0 as torch).

    Source: Clevert, Unterthiner & Hochreiter (2015), "Fast and accurate deep
    network learning by exponential linear units (ELUs)".

    Notes:
        Uses expm1 (as torch) for accuracy near 0, and evaluates it on
        min(x, 0) so the unused branch cannot overflow for large positive x.
    """
    x = as_float_array(x, "x")
    alpha = check_range(alpha, "alpha")
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def elu_grad(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Derivative of ELU: 1 for x > 0, alpha e^x for x <= 0.

    Notes:
        At x = 0 torch.autograd returns alpha (the left derivative); for
        alpha = 1 both one-sided derivatives are 1.
    """
    x = as_float_array(x, "x")
    alpha = check_range(alpha, "alpha")
    return _as_dtype_of(np.where(x > 0, 1, alpha * np.exp(np.minimum(x, 0))), x)


def selu(x: np.ndarray) -> np.ndarray:
    """Scaled ELU, f(x) = scale * elu(x, alpha), alpha ~ 1.6733, scale ~ 1.0507.

    Range (-scale*alpha, inf) ~ (-1.7581, inf).  With these constants and
    weights of variance 1/fan_in, activations converge to mean 0, variance 1.

    Source: Klambauer, Unterthiner, Mayr & Hochreiter (2017), "Self-normalizing
    neural networks".
    """
    return SELU_SCALE * elu(x, SELU_ALPHA)


def selu_grad(x: np.ndarray) -> np.ndarray:
    """Derivative of SELU: scale for x > 0, scale * alpha * e^x for x <= 0.

    Notes:
        At x = 0 torch.autograd returns scale * alpha ~ 1.7581 (left derivative).
    """
    return SELU_SCALE * elu_grad(x, SELU_ALPHA)


# ---------------------------------------------------------------- smooth units
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
        Uses scipy.special.erf.  The formula is torch's: for x < ~ -8,
        1 + erf(x/sqrt 2) rounds to 0, so f(x) = -0.0 instead of a value below
        1e-14 in magnitude (as torch).
    """
    x = as_float_array(x, "x")
    check_choice(approximate, "approximate", ("none", "tanh"))
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(_GELU_TANH_BETA * (x + _GELU_TANH_KAPPA * x * x * x)))
    return x * 0.5 * (1 + _erf(x * _INV_SQRT_2))


def gelu_grad(x: np.ndarray, approximate: str = "none") -> np.ndarray:
    """Derivative of GELU.

    Exact:  f'(x) = Phi(x) + x phi(x), phi(x) = exp(-x^2/2) / sqrt(2 pi).
    tanh:   with u = sqrt(2/pi)(x + 0.044715 x^3), t = tanh(u):
            f'(x) = 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2).
    """
    x = as_float_array(x, "x")
    check_choice(approximate, "approximate", ("none", "tanh"))
    if approximate == "tanh":
        t = np.tanh(_GELU_TANH_BETA * (x + _GELU_TANH_KAPPA * x * x * x))
        du_dx = _GELU_TANH_BETA * (1 + 3 * _GELU_TANH_KAPPA * x * x)
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du_dx
    cdf = 0.5 * (1 + _erf(x * _INV_SQRT_2))
    pdf = np.exp(-0.5 * x * x) * _INV_SQRT_2PI
    return cdf + x * pdf


def silu(x: np.ndarray) -> np.ndarray:
    """SiLU / swish, f(x) = x sigma(x), range ~ [-0.278, inf).

    Source: Elfwing, Uchibe & Doya (2017), "Sigmoid-weighted linear units";
    Ramachandran, Zoph & Le (2017), "Searching for activation functions"
    (swish x sigma(beta x); beta = 1 is SiLU, torch.nn.functional.silu).
    """
    x = as_float_array(x, "x")
    return x * _sigmoid_and_complement(x)[0]


def silu_grad(x: np.ndarray) -> np.ndarray:
    """Derivative of SiLU: f'(x) = sigma(x) (1 + x (1 - sigma(x)))."""
    x = as_float_array(x, "x")
    s, one_minus_s = _sigmoid_and_complement(x)
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
    """
    x = as_float_array(x, "x")
    beta = check_range(beta, "beta", 0, None, low_inclusive=False)
    threshold = check_range(threshold, "threshold")
    scaled = beta * x
    return np.where(scaled > threshold, x, np.logaddexp(0, scaled) / beta)


def softplus_grad(x: np.ndarray, beta: float = 1.0, threshold: float = 20.0) -> np.ndarray:
    """Derivative of softplus: sigma(beta x), and 1 where beta * x > threshold (as torch)."""
    x = as_float_array(x, "x")
    beta = check_range(beta, "beta", 0, None, low_inclusive=False)
    threshold = check_range(threshold, "threshold")
    scaled = beta * x
    return _as_dtype_of(np.where(scaled > threshold, 1, _sigmoid_and_complement(scaled)[0]), x)


def mish(x: np.ndarray) -> np.ndarray:
    """Mish, f(x) = x tanh(softplus(x)) = x tanh(log(1 + e^x)), range ~ [-0.309, inf).

    Source: Misra (2019), "Mish: a self regularized non-monotonic activation function".

    Notes:
        softplus is evaluated as logaddexp(0, x), which never overflows and
        agrees with torch's log1p(exp(x)) to rounding wherever that is finite.
    """
    x = as_float_array(x, "x")
    return x * np.tanh(np.logaddexp(0, x))


def mish_grad(x: np.ndarray) -> np.ndarray:
    """Derivative of Mish: f'(x) = t + x sigma(x) (1 - t^2), t = tanh(softplus(x))."""
    x = as_float_array(x, "x")
    t = np.tanh(np.logaddexp(0, x))
    return t + x * _sigmoid_and_complement(x)[0] * (1 - t * t)


# One table so layers and the MLP never re-list activations.  PReLU is not
# here: its slope a is a learnable parameter, not a hyperparameter with a
# default, so it needs its own layer (dlcourse.layers.prelu_forward).
ACTIVATIONS: dict[str, tuple[Callable[..., np.ndarray], Callable[..., np.ndarray]]] = {
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
    "elu": (elu, elu_grad),
    "gelu": (gelu, gelu_grad),
    "selu": (selu, selu_grad),
    "silu": (silu, silu_grad),
    "mish": (mish, mish_grad),
    "softplus": (softplus, softplus_grad),
}
