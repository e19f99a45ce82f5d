"""Student implementations of the activation functions and their derivatives (problem set 2, parts 1-3)."""

import math

import numpy as np
from scipy.special import erf

from corpus import Correct, Wrong

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


# ---------------------------------------------------------------- activations.relu


def relu_leaky_by_habit(x):
    # max(0.01x, x) so units never die
    return np.where(x > 0, x, 0.01 * x)


def relu_in_place(x):
    # set the negatives to zero
    x[x < 0] = 0
    return x


def relu_half_sum(x):
    # (x + |x|) / 2 is x for positive x and 0 for negative x
    return (x + np.abs(x)) / 2


# ---------------------------------------------------------------- activations.relu_grad


def relu_grad_ge_float(x):
    # derivative is 1 on the right side (including 0), 0 on the left
    return (x >= 0).astype(float)


def relu_grad_where_floats(x):
    return np.where(x > 0, 1.0, 0.0)


def relu_grad_is_relu(x):
    # d/dx max(0, x)
    grad = np.maximum(0, x)
    return grad


def relu_grad_bool_mult(x):
    # (x > 0) is a bool array; multiplying by ones of x's dtype keeps float32
    return (x > 0) * np.ones_like(x)


# ---------------------------------------------------------------- activations.sigmoid


def sigmoid_plus_exponent(x):
    # clip so that exp cannot overflow
    x_clipped = np.clip(x, -500, 500)
    return 1 / (1 + np.exp(x_clipped))


def sigmoid_logaddexp(x):
    # sigma(x) = exp(-log(1 + exp(-x))), and logaddexp never overflows
    return np.exp(-np.logaddexp(0, -x))


def sigmoid_two_branches_loop(x):
    out = np.empty_like(x)
    flat_x = x.reshape(-1)
    flat_out = out.reshape(-1)
    for i in range(flat_x.size):
        v = flat_x[i]
        if v >= 0:
            flat_out[i] = 1.0 / (1.0 + math.exp(-v))
        else:
            e = math.exp(v)
            flat_out[i] = e / (1.0 + e)
    return out


# ---------------------------------------------------------------- activations.sigmoid_grad


def sigmoid_grad_of_input(x):
    # s(1 - s)
    return x * (1 - x)


def sigmoid_grad_only_s(x):
    s = np.exp(-np.logaddexp(0, -x))
    return s


def sigmoid_grad_ones_float64(x):
    s = np.exp(-np.logaddexp(0, -x))
    return s * (np.ones(x.shape) - s)


def sigmoid_grad_via_exp(x):
    # s(1-s) = e^{-|x|} / (1 + e^{-|x|})^2, symmetric in x
    z = np.exp(-np.abs(x))
    return z / (1 + z) ** 2


# ---------------------------------------------------------------- activations.tanh


def tanh_textbook(x):
    # definition from the table
    return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))


def tanh_from_sigmoid(x):
    # tanh(x) = 2 sigmoid(2x) - 1, sigmoid written stably
    s = np.exp(-np.logaddexp(0, -2 * x))
    return 2 * s - 1


# ---------------------------------------------------------------- activations.tanh_grad


def tanh_grad_plus(x):
    t = np.tanh(x)
    return 1 + t**2


def tanh_grad_of_input(x):
    return 1 - x**2


def tanh_grad_sech(x):
    # d tanh = sech^2 = 1 / cosh^2 ; cosh overflows -> 1/inf = 0 which is right anyway
    with np.errstate(over="ignore"):
        return 1 / np.cosh(x) ** 2


# ---------------------------------------------------------------- activations.leaky_relu


def leaky_relu_fixed_slope(x, negative_slope=0.01):
    return np.maximum(0.01 * x, x)


def leaky_relu_slides_default(x, negative_slope=0.1):
    # max(0.1x, x) from the slides
    return np.where(x > 0, x, negative_slope * x)


def leaky_relu_two_parts(x, negative_slope=0.01):
    positive = np.maximum(x, 0)
    negative = np.minimum(x, 0)
    return positive + negative_slope * negative


def leaky_relu_scaled_copy(x, negative_slope=0.01):
    out = x.copy()
    out[out <= 0] *= negative_slope
    return out


# ---------------------------------------------------------------- activations.leaky_relu_grad


def leaky_relu_grad_ge(x, negative_slope=0.01):
    g = np.ones_like(x)
    g[x < 0] = negative_slope
    return g


def leaky_relu_grad_relu_copy(x, negative_slope=0.01):
    # copied from relu_grad
    return (x > 0).astype(x.dtype)


# ---------------------------------------------------------------- activations.prelu / prelu_grad / prelu_grad_a


def prelu_flipped_compare(x, a):
    a = np.asarray(a)
    if a.ndim == 1 and a.size > 1 and x.ndim > 2:
        a = a.reshape((-1,) + (1,) * (x.ndim - 2))
    return np.where(x < 0, x, a * x)


def prelu_no_channel_reshape(x, a):
    # broadcasting takes care of the channels
    return np.where(x > 0, x, a * x)


def prelu_moveaxis(x, a):
    # put the channel axis last so that a (C,) broadcasts, then put it back
    a = np.asarray(a, dtype=x.dtype)
    if x.ndim < 2 or a.size == 1:
        return np.where(x > 0, x, a.reshape(()) * x)
    xc = np.moveaxis(x, 1, -1)
    out = np.where(xc > 0, xc, a * xc)
    return np.moveaxis(out, -1, 1)


def prelu_grad_like_relu(x, a):
    return (x > 0).astype(x.dtype)


def prelu_grad_a_returns_slope(x, a):
    a = np.asarray(a)
    if a.ndim == 1 and a.size > 1 and x.ndim > 2:
        a = a.reshape((-1,) + (1,) * (x.ndim - 2))
    return np.where(x > 0, 0, a) * np.ones_like(x)


def prelu_grad_a_min(x, a):
    # x where x <= 0, else 0: that is min(x, 0)
    return np.minimum(x, 0)


# ---------------------------------------------------------------- activations.elu / elu_grad


def elu_forgot_minus_one(x, alpha=1.0):
    neg = np.minimum(x, 0)
    return np.where(x > 0, x, alpha * np.exp(neg))


def elu_no_alpha(x, alpha=1.0):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def elu_masked_copy(x, alpha=1.0):
    out = x.copy()
    negative = x <= 0
    out[negative] = alpha * np.expm1(x[negative])
    return out


def elu_grad_forgot_alpha(x, alpha=1.0):
    return np.where(x > 0, 1, np.exp(np.minimum(x, 0)))


def elu_grad_like_relu(x, alpha=1.0):
    g = np.zeros_like(x)
    g[x > 0] = 1
    return g


# ---------------------------------------------------------------- activations.selu / selu_grad


def selu_is_plain_elu(x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def selu_forgot_scale(x):
    return np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0)))


def selu_rounded_constants(x):
    # constants from the lecture slide
    lam, alp = 1.05, 1.67
    return lam * np.where(x > 0, x, alp * np.expm1(np.minimum(x, 0)))


def selu_numpy_constants(x):
    scale = np.float64(SELU_SCALE)
    alpha = np.float64(SELU_ALPHA)
    return scale * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def selu_grad_no_scale(x):
    return np.where(x > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(x, 0))).astype(x.dtype)


def selu_grad_split(x):
    left = SELU_SCALE * SELU_ALPHA * np.exp(np.minimum(x, 0))
    right = np.full_like(x, SELU_SCALE)
    return np.where(x > 0, right, left)


# ---------------------------------------------------------------- activations.gelu / gelu_grad


def gelu_always_tanh(x, approximate="none"):
    # the version from the BERT code
    u = math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)
    return 0.5 * x * (1 + np.tanh(u))


def gelu_sigmoid_1702(x, approximate="none"):
    if approximate == "tanh":
        u = math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)
        return 0.5 * x * (1 + np.tanh(u))
    # x * Phi(x) ~ x * sigmoid(1.702 x)
    return x * np.exp(-np.logaddexp(0, -1.702 * x))


def gelu_np_sqrt(x, approximate="none"):
    if approximate == "tanh":
        inner = np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)
        return 0.5 * x * (1 + np.tanh(inner))
    return 0.5 * x * (1 + erf(x / np.sqrt(2)))


def gelu_math_consts(x, approximate="none"):
    if approximate == "none":
        phi_cdf = 0.5 * (1.0 + erf(x / math.sqrt(2.0)))
        return x * phi_cdf
    c = math.sqrt(2.0 / math.pi)
    return 0.5 * x * (1.0 + np.tanh(c * (x + 0.044715 * x * x * x)))


def gelu_grad_cdf_only(x, approximate="none"):
    if approximate == "tanh":
        c = math.sqrt(2 / math.pi)
        t = np.tanh(c * (x + 0.044715 * x**3))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t**2) * c * (1 + 3 * 0.044715 * x**2)
    return 0.5 * (1 + erf(x / math.sqrt(2)))


def gelu_grad_product_rule(x, approximate="none"):
    if approximate == "tanh":
        k = math.sqrt(2 / math.pi)
        u = k * (x + 0.044715 * x**3)
        du = k * (1 + 3 * 0.044715 * x**2)
        th = np.tanh(u)
        return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * du
    cdf = 0.5 * (1 + erf(x / math.sqrt(2)))
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return cdf + x * pdf


# ---------------------------------------------------------------- activations.silu / silu_grad


def silu_just_sigmoid(x):
    return np.exp(-np.logaddexp(0, -x))


def silu_two_branch(x):
    z = np.exp(-np.abs(x))
    sig = np.where(x >= 0, 1 / (1 + z), z / (1 + z))
    return x * sig


def silu_grad_sigmoid_only(x):
    sig = np.exp(-np.logaddexp(0, -x))
    return sig


def silu_grad_second_term(x):
    sig = np.exp(-np.logaddexp(0, -x))
    return x * sig * (1 - sig)


def silu_grad_expanded(x):
    sig = np.exp(-np.logaddexp(0, -x))
    return sig + x * sig * (1 - sig)


# ---------------------------------------------------------------- activations.mish / mish_grad


def mish_tanh_x(x):
    return x * np.tanh(x)


def mish_logaddexp(x):
    sp = np.logaddexp(0, x)
    return x * np.tanh(sp)


def mish_grad_first_term(x):
    return np.tanh(np.logaddexp(0, x))


# ---------------------------------------------------------------- activations.softplus / softplus_grad


def softplus_naive(x, beta=1.0, threshold=20.0):
    return np.log(1 + np.exp(beta * x)) / beta


def softplus_no_beta(x, beta=1.0, threshold=20.0):
    return np.logaddexp(0, x)


def softplus_stable_threshold(x, beta=1.0, threshold=20.0):
    bx = beta * x
    # log(1 + e^t) = max(t, 0) + log1p(e^{-|t|})
    soft = (np.maximum(bx, 0) + np.log1p(np.exp(-np.abs(bx)))) / beta
    return np.where(bx > threshold, x, soft)


def softplus_grad_exp_ratio(x, beta=1.0, threshold=20.0):
    e = np.exp(beta * x)
    return e / (1 + e)


def softplus_grad_no_beta(x, beta=1.0, threshold=20.0):
    return np.where(x > threshold, 1.0, np.exp(-np.logaddexp(0, -x))).astype(x.dtype)


WRONG = [
    # relu
    Wrong("activations.relu", (relu_leaky_by_habit,), frozenset({"same_as:activations.leaky_relu"}),
          "wrote leaky ReLU with slope 0.01 instead of ReLU"),
    Wrong("activations.relu", (relu_in_place,), frozenset({"modifies_input"}),
          "zeroes the negatives of the caller's array in place"),
    # relu_grad
    Wrong("activations.relu_grad", (relu_grad_ge_float,), frozenset({"relu_grad_at_zero", "float64_out"}),
          "x >= 0 (derivative 1 at the kink) and astype(float) turns float32 into float64"),
    Wrong("activations.relu_grad", (relu_grad_where_floats,), frozenset({"float64_out"}),
          "np.where(x > 0, 1.0, 0.0) is float64 whatever x's dtype"),
    Wrong("activations.relu_grad", (relu_grad_is_relu,), frozenset({"relu_grad_returns_relu"}),
          "returned max(0, x) as the derivative"),
    # sigmoid / sigmoid_grad
    Wrong("activations.sigmoid", (sigmoid_plus_exponent,), frozenset({"sigmoid_sign"}),
          "1 / (1 + exp(x)): the minus sign in the exponent is missing"),
    Wrong("activations.sigmoid_grad", (sigmoid_grad_of_input,), frozenset({"sigmoid_grad_of_x"}),
          "x * (1 - x) instead of s * (1 - s)"),
    Wrong("activations.sigmoid_grad", (sigmoid_grad_only_s,), frozenset({"sigmoid_grad_missing_factor"}),
          "returned sigmoid(x) alone"),
    Wrong("activations.sigmoid_grad", (sigmoid_grad_ones_float64,), frozenset({"float64_out"}),
          "np.ones(x.shape) is float64, so float32 in gives float64 out"),
    # tanh / tanh_grad
    Wrong("activations.tanh", (tanh_textbook,), frozenset({"tanh_overflow"}),
          "quotient of exponentials: inf / inf = nan for |x| > 710"),
    Wrong("activations.tanh_grad", (tanh_grad_plus,), frozenset({"tanh_grad_sign"}), "1 + tanh(x)**2"),
    Wrong("activations.tanh_grad", (tanh_grad_of_input,), frozenset({"tanh_grad_of_x"}), "1 - x**2"),
    # leaky_relu / leaky_relu_grad
    Wrong("activations.leaky_relu", (leaky_relu_fixed_slope,),
          frozenset({"leaky_ignores_slope", "ignored:negative_slope"}), "hard-coded 0.01, argument unused"),
    Wrong("activations.leaky_relu", (leaky_relu_slides_default,),
          frozenset({"leaky_slope_0_1", "wrong_default:negative_slope"}),
          "default negative_slope 0.1 from the slides"),
    Wrong("activations.leaky_relu_grad", (leaky_relu_grad_ge,), frozenset({"leaky_grad_at_zero"}),
          "derivative 1 at x = 0 (only x < 0 gets the slope)"),
    Wrong("activations.leaky_relu_grad", (leaky_relu_grad_relu_copy,),
          frozenset({"leaky_grad_negative_zero", "ignored:negative_slope", "same_as:activations.relu_grad"}),
          "copied relu_grad: 0 on the negative side"),
    # prelu
    Wrong("activations.prelu", (prelu_flipped_compare,), frozenset({"prelu_slope_on_positive"}),
          "x < 0 instead of x > 0: scales the positive side"),
    Wrong("activations.prelu", (prelu_no_channel_reshape,), frozenset(),
          "a of shape (C,) broadcast against the last axis of an (N, C, L) input, not axis 1"),
    Wrong("activations.prelu_grad", (prelu_grad_like_relu,), frozenset({"prelu_grad_negative_zero"}),
          "0 on the negative side instead of the slope"),
    Wrong("activations.prelu_grad_a", (prelu_grad_a_returns_slope,), frozenset({"prelu_grad_a_is_a"}),
          "d(a x)/da written as a"),
    # elu / elu_grad
    Wrong("activations.elu", (elu_forgot_minus_one,), frozenset({"elu_no_minus_one"}), "alpha * exp(x), no - 1"),
    Wrong("activations.elu", (elu_no_alpha,), frozenset({"elu_ignores_alpha", "ignored:alpha"}),
          "expm1 without alpha"),
    Wrong("activations.elu_grad", (elu_grad_forgot_alpha,), frozenset({"elu_grad_no_alpha", "ignored:alpha"}),
          "exp(x) on the negative side, alpha left out"),
    Wrong("activations.elu_grad", (elu_grad_like_relu,), frozenset({"elu_grad_negative_zero", "ignored:alpha",
                                                                    "same_as:activations.relu_grad"}),
          "derivative 0 for x <= 0"),
    # selu / selu_grad
    Wrong("activations.selu", (selu_is_plain_elu,), frozenset({"selu_is_elu", "same_as:activations.elu"}),
          "plain ELU, no SELU constants"),
    Wrong("activations.selu", (selu_forgot_scale,), frozenset({"selu_no_scale"}), "alpha used, scale forgotten"),
    Wrong("activations.selu", (selu_rounded_constants,), frozenset(), "constants rounded to 1.05 and 1.67"),
    Wrong("activations.selu", (selu_numpy_constants,), frozenset({"float64_out"}),
          "np.float64 constants turn float32 input into float64 output"),
    Wrong("activations.selu_grad", (selu_grad_no_scale,), frozenset({"selu_grad_no_scale"}),
          "ELU's derivative with SELU's alpha, no scale"),
    # gelu / gelu_grad
    Wrong("activations.gelu", (gelu_always_tanh,), frozenset({"gelu_tanh_for_exact", "ignored:approximate"}),
          "always the tanh approximation, approximate ignored"),
    Wrong("activations.gelu", (gelu_sigmoid_1702,), frozenset({"gelu_sigmoid_approx"}),
          "x * sigmoid(1.702 x) for the exact GELU"),
    Wrong("activations.gelu", (gelu_np_sqrt,), frozenset({"float64_out"}),
          "np.sqrt(2) is a float64 scalar: float32 in gives float64 out"),
    Wrong("activations.gelu_grad", (gelu_grad_cdf_only,), frozenset({"gelu_grad_missing_pdf"}),
          "exact derivative without the x * phi(x) term"),
    # silu / silu_grad
    Wrong("activations.silu", (silu_just_sigmoid,), frozenset({"silu_is_sigmoid", "same_as:activations.sigmoid"}),
          "sigmoid(x) without the factor x"),
    Wrong("activations.silu_grad", (silu_grad_sigmoid_only,),
          frozenset({"silu_grad_no_product_rule", "same_as:activations.sigmoid"}), "returned s(x) alone"),
    Wrong("activations.silu_grad", (silu_grad_second_term,), frozenset({"silu_grad_only_second_term"}),
          "x s (1 - s) without the s term"),
    # mish / mish_grad
    Wrong("activations.mish", (mish_tanh_x,), frozenset({"mish_tanh_of_x"}), "x * tanh(x)"),
    Wrong("activations.mish_grad", (mish_grad_first_term,), frozenset({"mish_grad_no_product_rule"}),
          "only tanh(softplus(x))"),
    # softplus / softplus_grad
    Wrong("activations.softplus", (softplus_naive,), frozenset({"softplus_overflow"}),
          "log(1 + exp(beta x)) overflows to inf"),
    Wrong("activations.softplus", (softplus_no_beta,), frozenset({"softplus_ignores_beta", "ignored:beta"}),
          "beta unused"),
    Wrong("activations.softplus_grad", (softplus_grad_exp_ratio,), frozenset({"softplus_grad_naive"}),
          "exp / (1 + exp) gives inf / inf = nan"),
    Wrong("activations.softplus_grad", (softplus_grad_no_beta,),
          frozenset({"softplus_grad_ignores_beta", "ignored:beta"}), "sigmoid(x) instead of sigmoid(beta x)"),
]

CORRECT = [
    Correct("activations.relu", (relu_half_sum,), "(x + |x|) / 2"),
    Correct("activations.relu_grad", (relu_grad_bool_mult,), "bool mask times ones_like"),
    Correct("activations.sigmoid", (sigmoid_logaddexp,), "exp(-logaddexp(0, -x))"),
    Correct("activations.sigmoid", (sigmoid_two_branches_loop,), "loop over entries, two stable branches"),
    Correct("activations.sigmoid_grad", (sigmoid_grad_via_exp,), "e^{-|x|} / (1 + e^{-|x|})^2"),
    Correct("activations.tanh", (tanh_from_sigmoid,), "2 sigmoid(2x) - 1 with a stable sigmoid"),
    Correct("activations.tanh_grad", (tanh_grad_sech,), "1 / cosh(x)^2"),
    Correct("activations.leaky_relu", (leaky_relu_two_parts,), "max(x, 0) + slope * min(x, 0)"),
    Correct("activations.leaky_relu", (leaky_relu_scaled_copy,), "in-place on its own copy"),
    Correct("activations.prelu", (prelu_moveaxis,), "channel axis moved last, then back"),
    Correct("activations.prelu_grad_a", (prelu_grad_a_min,), "min(x, 0)"),
    Correct("activations.elu", (elu_masked_copy,), "copy, then overwrite the negative entries"),
    Correct("activations.selu_grad", (selu_grad_split,), "two arrays and np.where"),
    Correct("activations.gelu", (gelu_math_consts,), "math.sqrt constants, both forms"),
    Correct("activations.gelu_grad", (gelu_grad_product_rule,), "product rule written out"),
    Correct("activations.silu", (silu_two_branch,), "x times a two-branch stable sigmoid"),
    Correct("activations.silu_grad", (silu_grad_expanded,), "s + x s (1 - s)"),
    Correct("activations.mish", (mish_logaddexp,), "x tanh(logaddexp(0, x))"),
    Correct("activations.softplus", (softplus_stable_threshold,),
            "max(t, 0) + log1p(e^-|t|), identity above the threshold"),
]
