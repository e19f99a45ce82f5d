"""Weight initialization: constant, plain random, Glorot/Xavier, He/Kaiming, LeCun.

SHAPE CONVENTION -- READ THIS FIRST
    Our layers compute ``x @ W + b`` with ``W`` of shape ``(fan_in, fan_out)``,
    so here ``fan_in = shape[0]`` and ``fan_out = shape[1]``.  torch's
    ``nn.Linear`` stores ``weight`` as ``(out_features, in_features)`` and
    computes ``x @ weight.T``; torch.nn.init therefore reads fan_in from
    ``size(1)``.  Our ``W`` is torch's ``weight.T``: initialize a torch tensor
    of the *transposed* shape to get the same distribution.

Why the scale matters (the variance argument of Glorot & Bengio 2010):
for y = sum_{i=1}^{n} w_i x_i with independent zero-mean w and x,
    Var[y] = n Var[w] Var[x].
Keeping Var[y] = Var[x] in the forward pass needs Var[w] = 1/fan_in; keeping
the backward gradients' variance needs Var[w] = 1/fan_out.  Glorot's
compromise is Var[w] = 2 / (fan_in + fan_out).  A ReLU zeroes half of its
input, halving the second moment, so He et al. (2015) double it:
Var[w] = 2 / fan_in.  In general std = gain / sqrt(fan) with a per-activation
``calculate_gain``.  U(-b, b) has std b / sqrt(3), so a uniform init with a
given std uses the bound b = sqrt(3) * std; for Glorot that is
b = gain * sqrt(6 / (fan_in + fan_out)).

Every random initializer takes ``rng: numpy.random.Generator`` and draws only
from it (no global state), and returns float64.

Sources: Georgia Tech CS 4644/7643 'Optimization'; Univ. of Macau 'Modern
Techniques'; VU Amsterdam DLVU lecture 4 'Tools of the trade'; J. Adamczyk,
Deep learning lecture notes.

Notes (corrections to the sources):
    * The Glorot uniform bound is sqrt(6) / sqrt(n_in + n_out); the Georgia
      Tech slide writes sqrt(6) / (n_in + n_out) (square root missing).
    * Glorot & Bengio (2010) derived their rule for symmetric activations
      around 0 (tanh, softsign, linear); the Macau slide calls it "designed for
      ReLU".  The ReLU rule is He et al. (2015).
    * The "simpler Xavier" N(0, 1) * sqrt(1 / n_in) of the Georgia Tech slide
      is LeCun's rule (LeCun et al. 1998, "Efficient BackProp"): ``lecun_normal``.
    * torch's nn.Linear does NOT use Glorot (as the Macau slide claims): it
      uses kaiming_uniform_ with a = sqrt(5), i.e. U(-1/sqrt(fan_in),
      1/sqrt(fan_in)); see ``torch_linear_default``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dlcourse._checks import check_choice, check_range, check_rng, check_shape2d

__all__ = [
    "calculate_gain",
    "constant",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "normal",
    "torch_linear_default",
    "uniform",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]

_LINEAR_NAMES = (
    "linear", "conv1d", "conv2d", "conv3d",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
)
_GAIN_NAMES = (*_LINEAR_NAMES, "sigmoid", "tanh", "relu", "leaky_relu", "selu")
_FAN_MODES = ("fan_in", "fan_out")


def _check_shape(shape: Any) -> tuple[int, ...]:
    if (
        not isinstance(shape, (tuple, list))
        or len(shape) == 0
        or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in shape)
    ):
        raise ValueError(f"shape must be a non-empty tuple of positive integers, got {shape!r}")
    return tuple(int(s) for s in shape)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """Recommended std multiplier for weights followed by ``nonlinearity`` (as torch.nn.init).

    ======================================  =========================================
    nonlinearity                            gain
    ======================================  =========================================
    linear, conv{1,2,3}d, conv_transpose*   1
    sigmoid                                 1
    tanh                                    5/3
    relu                                    sqrt(2)
    leaky_relu                              sqrt(2 / (1 + negative_slope^2)), slope = param (default 0.01)
    selu                                    3/4  (empirical; torch suggests "linear" for SNNs)
    ======================================  =========================================

    Args:
        nonlinearity: one of the names above (torch.nn.functional names).
        param: the negative slope for "leaky_relu" (ignored otherwise).

    Returns:
        The gain as a float.

    Source: He et al. (2015) for the rectifier gains; torch.nn.init.calculate_gain.

    Example:
        >>> round(calculate_gain("relu"), 4), round(calculate_gain("tanh"), 4)
        (1.4142, 1.6667)
        >>> round(calculate_gain("leaky_relu", 0.2), 4)      # sqrt(2 / (1 + 0.2^2))
        1.3868
    """
    check_choice(nonlinearity, "nonlinearity", _GAIN_NAMES)
    if nonlinearity in _LINEAR_NAMES or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        negative_slope = 0.01 if param is None else check_range(param, "param")
        return math.sqrt(2.0 / (1 + negative_slope**2))
    return 3.0 / 4  # selu


def zeros(shape: tuple[int, ...], rng: np.random.Generator | None = None) -> np.ndarray:
    """All-zero init.  Fine for biases; for weights every unit gets the same
    (zero) gradient, so hidden units never differ (symmetry is never broken).

    ``rng`` is accepted (and ignored) so every initializer has the signature
    ``(shape, rng)``.  Source: Macau 'Modern Techniques'; Georgia Tech 'Optimization'.

    Example:
        >>> zeros((2, 3))
        array([[0., 0., 0.],
               [0., 0., 0.]])
    """
    shape = _check_shape(shape)
    if rng is not None:
        check_rng(rng)
    return np.zeros(shape)


def constant(shape: tuple[int, ...], value: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """Constant init, every entry = value.  Same symmetry problem as ``zeros``:
    all units of a layer compute the same function and receive the same update.

    Example:
        >>> constant((2, 2), 0.5)
        array([[0.5, 0.5],
               [0.5, 0.5]])
    """
    shape = _check_shape(shape)
    value = check_range(value, "value")
    if rng is not None:
        check_rng(rng)
    return np.full(shape, value)


def normal(shape: tuple[int, ...], rng: np.random.Generator, mean: float = 0.0, std: float = 1.0) -> np.ndarray:
    """Samples from N(mean, std^2) (torch.nn.init.normal_(tensor, mean=0, std=1)).

    Georgia Tech 'Optimization': "small normally distributed random numbers",
    e.g. std = 0.01 -- activations then shrink layer by layer in deep nets.

    Args:
        shape: any shape of positive ints.
        rng: numpy Generator to draw from.
        mean: mean (default 0.0).
        std: standard deviation >= 0 (default 1.0).

    Example:
        >>> W = normal((256, 100), np.random.default_rng(0), std=0.01)
        >>> W.shape, round(float(W.std()), 3)
        ((256, 100), 0.01)
    """
    shape = _check_shape(shape)
    rng = check_rng(rng)
    mean = check_range(mean, "mean")
    std = check_range(std, "std", 0, None)
    return rng.normal(mean, std, size=shape)


def uniform(shape: tuple[int, ...], rng: np.random.Generator, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """Samples from U(low, high) (torch.nn.init.uniform_(tensor, a=0, b=1)); requires low <= high.

    Example:
        >>> W = uniform((256, 100), np.random.default_rng(0), low=-1.0, high=1.0)
        >>> bool(W.min() >= -1.0 and W.max() < 1.0), round(float(W.var()), 2)   # variance (b - a)^2 / 12
        (True, 0.33)
    """
    shape = _check_shape(shape)
    rng = check_rng(rng)
    low = check_range(low, "low")
    high = check_range(high, "high", low, None)
    return rng.uniform(low, high, size=shape)


def _uniform_with_std(shape: tuple[int, int], rng: np.random.Generator, std: float) -> np.ndarray:
    bound = math.sqrt(3.0) * std  # U(-b, b) has variance b^2 / 3
    return rng.uniform(-bound, bound, size=shape)


def _glorot_std(shape: Any, gain: float) -> float:
    fan_in, fan_out = check_shape2d(shape)
    gain = check_range(gain, "gain", 0, None)
    return gain * math.sqrt(2.0 / (fan_in + fan_out))


def _he_std(shape: Any, a: float, mode: str, nonlinearity: str) -> float:
    fan_in, fan_out = check_shape2d(shape)
    check_choice(mode, "mode", _FAN_MODES)
    gain = calculate_gain(nonlinearity, a)
    return gain / math.sqrt(fan_in if mode == "fan_in" else fan_out)


def xavier_uniform(shape: tuple[int, int], rng: np.random.Generator, gain: float = 1.0) -> np.ndarray:
    """Glorot/Xavier uniform: U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)).

    Var[w] = 2 / (fan_in + fan_out) (times gain^2) compromises between the
    forward (1/fan_in) and backward (1/fan_out) conditions; b = sqrt(3) * std.

    Args:
        shape: (fan_in, fan_out) -- our W, i.e. torch's weight TRANSPOSED.
        rng: numpy Generator to draw from.
        gain: std multiplier >= 0, e.g. calculate_gain("tanh") (default 1.0).

    Source: Glorot & Bengio (2010), "Understanding the difficulty of training
    deep feedforward neural networks", eq. 16; torch.nn.init.xavier_uniform_.

    Notes:
        The bound is sqrt(6)/sqrt(n_in + n_out), not sqrt(6)/(n_in + n_out)
        as on the Georgia Tech slide.  Derived for tanh/linear units, not ReLU.

    Example:
        >>> W = xavier_uniform((300, 100), np.random.default_rng(0))
        >>> bound = np.sqrt(6 / (300 + 100))
        >>> bool(np.abs(W).max() <= bound), round(float(W.var() * (300 + 100) / 2), 1)   # Var[w] (n_in + n_out) / 2
        (True, 1.0)
    """
    std = _glorot_std(shape, gain)
    return _uniform_with_std(shape, check_rng(rng), std)


def xavier_normal(shape: tuple[int, int], rng: np.random.Generator, gain: float = 1.0) -> np.ndarray:
    """Glorot/Xavier normal: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)).

    Args as ``xavier_uniform``.  Source: Glorot & Bengio (2010); torch.nn.init.xavier_normal_.

    Example:
        >>> W = xavier_normal((300, 100), np.random.default_rng(0))
        >>> round(float(W.std() / np.sqrt(2 / (300 + 100))), 1)
        1.0
    """
    std = _glorot_std(shape, gain)
    return check_rng(rng).normal(0.0, std, size=shape)


def he_uniform(
    shape: tuple[int, int],
    rng: np.random.Generator,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
) -> np.ndarray:
    """He/Kaiming uniform: U(-b, b), b = sqrt(3) * gain / sqrt(fan_mode).

    A ReLU passes on half of the second moment, so Var[w] = 2 / fan_in keeps
    Var[y] constant through depth: gain = sqrt(2) (sqrt(2/(1+a^2)) for leaky ReLU).

    Args:
        shape: (fan_in, fan_out) -- our W, i.e. torch's weight TRANSPOSED.
        rng: numpy Generator to draw from.
        a: negative slope of the leaky ReLU after this layer (used only with
           nonlinearity="leaky_relu"; default 0.0).
        mode: "fan_in" (preserve forward variance, default) or "fan_out"
              (preserve backward variance).
        nonlinearity: a ``calculate_gain`` name; He et al. is meant for "relu"
              and "leaky_relu" (default "leaky_relu" as torch: with a = 0 its
              gain is sqrt(2), the same as "relu").

    Source: He, Zhang, Ren & Sun (2015), "Delving deep into rectifiers", eq. 10;
    Georgia Tech 'Optimization' ("Xavier2": N(0,1) * sqrt(1 / (n_j / 2)));
    torch.nn.init.kaiming_uniform_.

    Example:
        >>> W = he_uniform((500, 100), np.random.default_rng(0), nonlinearity="relu")
        >>> bool(np.abs(W).max() <= np.sqrt(3) * np.sqrt(2 / 500)), round(float(W.std() * np.sqrt(500)), 1)
        (True, 1.4)
    """
    std = _he_std(shape, a, mode, nonlinearity)
    return _uniform_with_std(shape, check_rng(rng), std)


def he_normal(
    shape: tuple[int, int],
    rng: np.random.Generator,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
) -> np.ndarray:
    """He/Kaiming normal: N(0, std^2), std = gain / sqrt(fan_mode); gain sqrt(2) for ReLU.

    Args as ``he_uniform``.  Source: He et al. (2015); torch.nn.init.kaiming_normal_.

    Example:
        >>> W = he_normal((500, 100), np.random.default_rng(0), nonlinearity="relu")
        >>> round(float(W.std() * np.sqrt(500)), 1)                  # std = sqrt(2 / fan_in)
        1.4
        >>> W = he_normal((500, 100), np.random.default_rng(0), mode="fan_out", nonlinearity="relu")
        >>> round(float(W.std() * np.sqrt(100)), 1)                  # std = sqrt(2 / fan_out)
        1.4
    """
    std = _he_std(shape, a, mode, nonlinearity)
    return check_rng(rng).normal(0.0, std, size=shape)


def lecun_normal(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """LeCun normal: N(0, 1/fan_in), i.e. N(0, 1) * sqrt(1 / fan_in).

    The forward-only variance condition Var[w] = 1/fan_in; the init SELU
    networks need.  Equals torch.nn.init.kaiming_normal_(w, nonlinearity="linear").

    Source: LeCun, Bottou, Orr & Mueller (1998), "Efficient BackProp";
    Georgia Tech 'Optimization' (shown there as the "simpler Xavier").

    Notes:
        Plain normal, not truncated (jax.nn.initializers.lecun_normal truncates).

    Example:
        >>> W = lecun_normal((400, 100), np.random.default_rng(0))
        >>> round(float(W.std() * np.sqrt(400)), 1)                  # std = 1 / sqrt(fan_in)
        1.0
    """
    fan_in, _ = check_shape2d(shape)
    return check_rng(rng).normal(0.0, 1.0 / math.sqrt(fan_in), size=shape)


def torch_linear_default(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """What torch.nn.Linear does to its weight: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    nn.Linear.reset_parameters calls kaiming_uniform_(weight, a=sqrt(5)):
    gain = sqrt(2 / (1 + 5)) = sqrt(1/3), so b = sqrt(3) * gain / sqrt(fan_in)
    = 1 / sqrt(fan_in).  Its bias is drawn from the same U(-1/sqrt(fan_in),
    1/sqrt(fan_in)) (use ``uniform((fan_out,), rng, -b, b)``).

    Source: torch.nn.Linear.reset_parameters.

    Notes:
        Not Glorot, despite the Macau slide; Var[w] = 1/(3 fan_in) is a third
        of LeCun's, so deep stacks of default nn.Linear shrink their signal.

    Example:
        >>> W = torch_linear_default((400, 100), np.random.default_rng(0))
        >>> bool(np.abs(W).max() <= 1 / np.sqrt(400)), round(float(W.var() * 3 * 400), 1)   # Var[w] = 1 / (3 fan_in)
        (True, 1.0)
    """
    return he_uniform(shape, rng, a=math.sqrt(5.0))
