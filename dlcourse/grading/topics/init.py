"""Checks for the Glorot/Xavier and He/Kaiming initializers (``init.xavier_*``, ``init.he_*``).

What the student writes (the exercise's signatures, a subset of the reference's
keyword arguments; ``shape = (fan_in, fan_out)``, the transpose of torch's
``weight``):

    xavier_uniform(shape, rng, gain=1.0)    U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out))
    xavier_normal(shape, rng, gain=1.0)     N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))
    he_uniform(shape, rng, mode="fan_in")   U(-b, b), b = sqrt(3) * sqrt(2) / sqrt(fan)
    he_normal(shape, rng, mode="fan_in")    N(0, std^2), std = sqrt(2) / sqrt(fan)

with fan = fan_in or fan_out by ``mode`` and the ReLU gain sqrt(2) (the
reference's defaults ``a=0, nonlinearity="leaky_relu"`` give the same gain).
Trials pass only ``gain`` or ``mode``, by name.

Draws are random, so observables are statistics of one draw of >= 50,000
weights (and 300 on the hidden edge shapes (1, 300) and (300, 1)):

    std, fraction of |w| within one std (normal 0.6827, uniform 1/sqrt(3) =
    0.5774: tells the two apart whatever the scale), mean / std, and for a
    uniform target whether every |w| <= the bound and the 99th percentile of
    |w| (0.99 b), plus three exact facts about the rng: the same seed gives
    the same weights, other seeds other weights, and the generator passed in
    advanced (its state is read after the call; a sandbox proxy must send the
    generator's new state back).

Tolerance.  Each statistic is *snapped*: within ``rtol`` of its theoretical
value it is reported as exactly that value, so the reference and a correct
student both report the theory and feedback shows the exact expected value;
outside, the raw value is reported and fails against the theory.  The mean
(theory 0) is snapped within 6 standard errors, 6 std / sqrt(n) (a correct
draw falls outside with probability 2e-9).
``rtol = max(0.02, 7 / sqrt(n))``: the relative standard error of a sample
std is 0.71 / sqrt(n) (normal; 0.45 / sqrt(n) uniform) and of the
within-one-std fraction at most 0.86 / sqrt(n) (uniform), so a correct draw
is >= 8 standard errors inside (false rejection ~1e-15 in the normal
approximation; none in 1440 checks of correct code over 60 seeds), while the smallest
catalogued error on the visible trials is 6 % (Xavier with fan_in only on
(400, 500)); diagnosis compares a mistake's raw statistics with the
student's at the same rtol, which absorbs draws made in another order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dlcourse import init as I
from dlcourse.grading._core import Caller, Target, Trial
from dlcourse.grading._picture import Picture
from dlcourse.grading._report import GradingError, Mismatch, Tolerance
from dlcourse.grading.topics._common import one_role_target
from dlcourse.grading.topics._pictures import density_picture, described_kwargs

_WITHIN_ONE_STD = {"normal": math.erf(1 / math.sqrt(2)), "uniform": 1 / math.sqrt(3)}
_QUANTILE = 0.99
_BOUND = "every |weight| <= the bound sqrt(3) * std"  # a flag, so a failure of it is a contract problem
# a generator nobody seeds: what numpy's global functions (np.random.normal) amount to
_UNSEEDED = np.random.default_rng()


def _rtol(n: int) -> float:
    return max(0.02, 7 / math.sqrt(n))


def _snap(value: float, theory: float, window: float) -> float:
    """``theory`` when ``value`` is within ``window`` of it (sampling noise), else ``value``."""
    return theory if abs(value - theory) <= window else value


def _expect_weights(result: Any, role: str, shape: tuple[int, int]) -> np.ndarray:
    """The returned weights, or a GradingError naming the contract they break."""
    if not isinstance(result, np.ndarray):
        kind = "None (is a return statement missing?)" if result is None else f"a {type(result).__name__}"
        raise GradingError(f"{role} must return one numpy array of shape {shape}; it returned {kind}.")
    if result.shape != shape:
        if result.shape == shape[::-1]:
            raise GradingError(f"{role}(shape={shape}, rng) returned an array of shape {result.shape}, which is "
                               f"(fan_out, fan_in); it must have shape {shape} = (fan_in, fan_out): here W is the "
                               f"transpose of torch's weight, so draw with size=shape.")
        raise GradingError(f"{role}(shape={shape}, rng) returned an array of shape {result.shape}; "
                           f"it must have shape {shape}.")
    if not np.issubdtype(result.dtype, np.floating):
        raise GradingError(f"{role} returned an array of dtype {result.dtype}; weights must be floating point.")
    if not np.isfinite(result).all():
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(result))[0])
        raise GradingError(f"{role} returned {result[index]} at index {index}: look for a square root of a "
                           f"negative number or a division by zero in the scale.")
    return result


def _statistics(w: np.ndarray, distribution: str, std: float, rtol: float) -> dict[str, Any]:
    """Snapped statistics of the draw; ``std`` is the std the target asks for."""
    w = w.astype(np.float64, copy=False)
    sample_std, mean, magnitude = float(w.std()), float(w.mean()), np.abs(w)
    fraction = float(np.mean(magnitude <= sample_std))
    theory = _WITHIN_ONE_STD[distribution]
    stats = {
        f"std of the weights (should be {std:.6g})": _snap(sample_std, std, rtol * std),
        "mean of the weights / their std (should be 0)":
            0.0 if abs(mean) <= 6 * sample_std / math.sqrt(w.size) else mean / (sample_std or 1.0),
        f"fraction of weights within one std of 0 ({distribution}: {theory:.4f})": _snap(fraction, theory,
                                                                                          rtol * theory),
    }
    if distribution == "uniform":
        bound = math.sqrt(3.0) * std
        quantile = float(np.quantile(magnitude, _QUANTILE))
        stats[f"{_BOUND} = {bound:.6g}"] = bool(magnitude.max() <= bound * (1 + 1e-12))
        stats[f"99th percentile of |weight| (should be 0.99 * bound = {_QUANTILE * bound:.6g})"] = _snap(
            quantile, _QUANTILE * bound, rtol * _QUANTILE * bound)
    return stats


def _observe(role: str, distribution: str, target_std: Callable[[tuple[int, int], dict[str, Any]], float]):
    def observe(call: Any, trial: Trial) -> dict[str, Any]:
        shape, seed = trial.args[0][1], trial.extra["seed"]

        def draw(rng: np.random.Generator) -> np.ndarray:
            return _expect_weights(call(role, [("shape", shape), ("rng", rng)], trial.kwargs), role, shape)

        rng = np.random.default_rng(seed)
        w = draw(rng)
        advanced = rng.bit_generator.state != np.random.default_rng(seed).bit_generator.state
        same = np.array_equal(w, draw(np.random.default_rng(seed)))
        other = not np.array_equal(w, draw(np.random.default_rng(seed + 1)))
        stats = _statistics(w, distribution, target_std(shape, trial.kwargs), _rtol(w.size))
        stats.update({
            "two generators with the same seed give the same weights": bool(same),
            "generators with different seeds give different weights": bool(other),
            "the weights are drawn from rng (its state advanced)": bool(advanced),
        })
        return stats

    return observe


def _picture(role: str, distribution: str, target_std: Callable[[tuple[int, int], dict[str, Any]], float]):
    """A failure's picture: a histogram of the student's weights against the law they should follow.

    The observables are statistics, so the weights are drawn once more, from
    the failing trial's seed, when (and only when) the trial has failed.  No
    picture when only a fact about the rng failed: the histogram would look right.
    """

    def picture(trial: Trial, problem: Mismatch | str, student: Caller) -> Picture | None:
        if isinstance(problem, str) and not problem.startswith(_BOUND):
            return None
        shape, seed = trial.args[0][1], trial.extra["seed"]
        weights = _expect_weights(student(role, [("shape", shape), ("rng", np.random.default_rng(seed))],
                                          trial.kwargs), role, shape)
        return density_picture(f"the weights of {role}({shape}, rng{described_kwargs(trial.kwargs)})", "weight",
                               weights, distribution, target_std(shape, trial.kwargs))

    return picture


# (label, shape, parameter set index): visible trials, then the hidden extras; a rectangular
# shape is essential, since fan_in == fan_out hides every fan mix-up
_VISIBLE = [("a (400, 500) weight matrix", (400, 500), 0), ("a tall (1000, 50) matrix", (1000, 50), 1),
            ("a tall (1000, 50) matrix", (1000, 50), 0)]
_HIDDEN = [("a wide (50, 1000) matrix", (50, 1000), 1), ("a (784, 256) matrix", (784, 256), 0),
           ("a single input (1, 300)", (1, 300), 0), ("a single output (300, 1)", (300, 1), 1),
           ("a single input (1, 300)", (1, 300), 1)]


def _trials(param_sets: list[dict[str, Any]]) -> Callable[[np.random.Generator, bool], list[Trial]]:
    def trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
        built = []
        for label, shape, which in _VISIBLE + (_HIDDEN if hidden else []):
            seed = int(rng.integers(2**31))
            params = dict(param_sets[which])
            built.append(Trial(f"{label}, rng = np.random.default_rng({seed})", [("shape", shape)], params,
                               extra={"seed": seed}, tolerance=Tolerance(rtol=_rtol(math.prod(shape)),
                                                                           atol_scale=1e-12)))
        return built

    return trials


# ---------------------------------------------------------------------------
# the catalogue: an initializer is "draw from rng with a spread computed from
# the fans"; each wrong variant swaps one of those pieces
# ---------------------------------------------------------------------------


def _normal(generator: np.random.Generator, std: float, shape: tuple[int, int]) -> np.ndarray:
    return generator.normal(0.0, std, size=shape)


def _uniform(generator: np.random.Generator, bound: float, shape: tuple[int, int]) -> np.ndarray:
    return generator.uniform(-bound, bound, size=shape)


def _uniform_from_zero(generator: np.random.Generator, bound: float, shape: tuple[int, int]) -> np.ndarray:
    return generator.uniform(0.0, bound, size=shape)


def _given(rng: np.random.Generator) -> np.random.Generator:
    return rng


def _unseeded(rng: np.random.Generator) -> np.random.Generator:
    return _UNSEEDED


def _seeded_inside(rng: np.random.Generator) -> np.random.Generator:
    return np.random.default_rng(0)


def _variant(draw: Callable[..., np.ndarray], spread: Callable[..., float],
             source: Callable[[np.random.Generator], np.random.Generator] = _given) -> Callable[..., np.ndarray]:
    """An initializer: ``draw(source(rng), spread(fan_in, fan_out, **kwargs), shape)``.

    ``draw`` is ``_normal`` (spread = std), ``_uniform`` (spread = bound b,
    U(-b, b)) or ``_uniform_from_zero`` (U(0, b)); ``source`` is where the
    numbers come from: ``_given`` (the rng argument, correct), ``_unseeded``
    (numpy's global functions) or ``_seeded_inside``.
    """

    def init(shape, rng, **kwargs):
        return draw(source(rng), spread(*shape, **kwargs), shape)

    return init


def _both_fans(fan_in: int, fan_out: int) -> int:
    return fan_in + fan_out


def _glorot(scale: float = 2.0, fan: Callable[[int, int], int] = _both_fans, power: float = 0.5,
            gain_used: Callable[[float], float] = lambda gain: gain) -> Callable[..., float]:
    """Spread ``gain * (scale / fan) ** power`` with ``fan = fan_in + fan_out``, or the pieces given."""

    def spread(fan_in, fan_out, gain=1.0):
        return gain_used(gain) * (scale / fan(fan_in, fan_out)) ** power

    return spread


def _fan_by_mode(fan_in: int, fan_out: int, mode: str) -> int:
    return fan_out if mode == "fan_out" else fan_in


def _he(scale: float = 2.0, power: float = 0.5,
        fan: Callable[[int, int, str], int] = _fan_by_mode) -> Callable[..., float]:
    """Spread ``(scale / fan) ** power`` with the fan chosen by ``mode``, or the pieces given."""

    def spread(fan_in, fan_out, mode="fan_in"):
        return (scale / fan(fan_in, fan_out, mode)) ** power

    return spread


def _xavier_std(shape: tuple[int, int], kwargs: dict[str, Any]) -> float:
    """The std a Xavier draw must have: gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = shape
    return kwargs.get("gain", 1.0) * math.sqrt(2.0 / (fan_in + fan_out))


def _he_std(shape: tuple[int, int], kwargs: dict[str, Any]) -> float:
    """The std a He draw must have: the ReLU gain sqrt(2) over sqrt(fan), fan by mode."""
    return math.sqrt(2.0) / math.sqrt(_fan_by_mode(*shape, kwargs.get("mode", "fan_in")))


def _init_target(name: str, reference: Callable[..., np.ndarray], distribution: str,
                 param_sets: list[dict[str, Any]], target_std: Callable[[tuple[int, int], dict[str, Any]], float],
                 mistakes: Sequence[tuple[str, str, Callable[..., np.ndarray]]]) -> Target:
    """The check ``name`` (``"init.<reference's name>"``): ``distribution`` is "normal" or "uniform"."""
    role = reference.__name__
    if name != f"init.{role}":
        raise ValueError(f"the check of {role} must be called 'init.{role}', not {name!r}")
    return one_role_target(
        name, role, reference, _trials(param_sets), _observe(role, distribution, target_std), mistakes,
        # per-trial tolerances (sampling error, see the module docstring); this is the large-sample one
        tolerance=Tolerance(rtol=0.02, atol_scale=1e-12),
        what="weight matrices (statistics of the draws)",
        picture=_picture(role, distribution, target_std),
    )


_UNSEEDED_MESSAGE = ("Your weights do not come from the rng argument (numpy's global np.random functions or another "
                     "generator), so the same rng does not give the same weights: draw with rng.{draw}(...).")
_FIXED_MESSAGE = ("You draw from a generator seeded inside the function, so every rng gives the same weights: "
                  "draw from the rng argument, rng.{draw}(...).")
_FAN_SWAP = ("You swapped the fans: here W has shape (fan_in, fan_out), so fan_in = shape[0] and fan_out = shape[1] "
             "(torch reads fan_in from size(1) because its weight is the transpose).")
_MODE = "Use mode: the std is sqrt(2 / fan_in) for mode='fan_in' and sqrt(2 / fan_out) for mode='fan_out'."
_XAVIER_GAIN = "Multiply by gain: std = gain * sqrt(2 / (fan_in + fan_out))."


def _fan_in_only(fan_in: int, fan_out: int) -> int:
    return fan_in


def _no_gain(gain: float) -> float:
    return 1.0


def _fans_swapped(fan_in: int, fan_out: int, mode: str) -> int:
    return fan_out if mode == "fan_in" else fan_in


def _mode_ignored(fan_in: int, fan_out: int, mode: str) -> int:
    return fan_in


TARGETS: tuple[Target, ...] = (
    _init_target("init.xavier_uniform", I.xavier_uniform, "uniform", [{}, {"gain": 5 / 3}], _xavier_std, (
        ("xu_bound_n_not_sqrt", "The bound is gain * sqrt(6 / (fan_in + fan_out)) (a square root of the ratio), "
         "not sqrt(6) / (fan_in + fan_out).",
         _variant(_uniform, lambda fan_in, fan_out, gain=1.0: gain * math.sqrt(6.0) / (fan_in + fan_out))),
        ("xu_bound_is_std", "U(-b, b) has std b / sqrt(3): the bound is b = sqrt(3) * std = gain * sqrt(6 / "
         "(fan_in + fan_out)), not the std sqrt(2 / (fan_in + fan_out)).", _variant(_uniform, _glorot())),
        ("xu_normal_instead", "xavier_uniform draws from a uniform distribution, rng.uniform(-b, b, size=shape), "
         "not from a normal one.", _variant(_normal, _glorot())),
        ("xu_normal_with_bound", "xavier_uniform draws from a uniform distribution, rng.uniform(-b, b, "
         "size=shape) with b = gain * sqrt(6 / (fan_in + fan_out)); you drew from a normal one with b as its std.",
         _variant(_normal, _glorot(6.0))),
        ("xu_ignores_gain", _XAVIER_GAIN, _variant(_uniform, _glorot(6.0, gain_used=_no_gain))),
        ("xu_fan_in_only", "Xavier averages both fans: b = gain * sqrt(6 / (fan_in + fan_out)), not "
         "sqrt(3 / fan_in).", _variant(_uniform, _glorot(3.0, fan=_fan_in_only))),
        ("xu_not_centred", "Draw from U(-b, b), centred on 0: rng.uniform(-b, b, size=shape), not U(0, b).",
         _variant(_uniform_from_zero, _glorot(6.0))),
        ("xu_not_from_rng", _UNSEEDED_MESSAGE.format(draw="uniform"), _variant(_uniform, _glorot(6.0), _unseeded)),
        ("xu_fixed_seed", _FIXED_MESSAGE.format(draw="uniform"), _variant(_uniform, _glorot(6.0), _seeded_inside)),
    )),
    _init_target("init.xavier_normal", I.xavier_normal, "normal", [{}, {"gain": 5 / 3}], _xavier_std, (
        ("xn_uniform_bound_as_std", "The std is gain * sqrt(2 / (fan_in + fan_out)); sqrt(6 / (fan_in + "
         "fan_out)) is the bound of the uniform version.", _variant(_normal, _glorot(6.0))),
        ("xn_variance_as_std", "2 / (fan_in + fan_out) is the variance: the std is its square root, "
         "gain * sqrt(2 / (fan_in + fan_out)).", _variant(_normal, _glorot(power=1.0))),
        ("xn_uniform_instead", "xavier_normal draws from a normal distribution, rng.normal(0.0, std, size=shape), "
         "not from a uniform one.", _variant(_uniform, _glorot(6.0))),
        ("xn_ignores_gain", _XAVIER_GAIN, _variant(_normal, _glorot(gain_used=_no_gain))),
        ("xn_fan_in_only", "Xavier averages both fans: std = gain * sqrt(2 / (fan_in + fan_out)), not "
         "sqrt(1 / fan_in).", _variant(_normal, _glorot(1.0, fan=_fan_in_only))),
        ("xn_not_from_rng", _UNSEEDED_MESSAGE.format(draw="normal"), _variant(_normal, _glorot(), _unseeded)),
        ("xn_fixed_seed", _FIXED_MESSAGE.format(draw="normal"), _variant(_normal, _glorot(), _seeded_inside)),
    )),
    _init_target("init.he_uniform", I.he_uniform, "uniform", [{}, {"mode": "fan_out"}], _he_std, (
        ("hu_fans_swapped", _FAN_SWAP, _variant(_uniform, _he(6.0, fan=_fans_swapped))),
        ("hu_ignores_mode", _MODE, _variant(_uniform, _he(6.0, fan=_mode_ignored))),
        ("hu_no_gain", "He init has the ReLU gain sqrt(2): b = sqrt(3) * sqrt(2 / fan) = sqrt(6 / fan), not "
         "sqrt(3 / fan).", _variant(_uniform, _he(3.0))),
        ("hu_bound_is_std", "U(-b, b) has std b / sqrt(3): the bound is b = sqrt(3) * sqrt(2 / fan) = "
         "sqrt(6 / fan), not the std sqrt(2 / fan).", _variant(_uniform, _he())),
        ("hu_normal_instead", "he_uniform draws from a uniform distribution, rng.uniform(-b, b, size=shape), not "
         "from a normal one.", _variant(_normal, _he())),
        ("hu_normal_with_bound", "he_uniform draws from a uniform distribution, rng.uniform(-b, b, size=shape) "
         "with b = sqrt(6 / fan); you drew from a normal one with b as its std.", _variant(_normal, _he(6.0))),
        ("hu_not_from_rng", _UNSEEDED_MESSAGE.format(draw="uniform"), _variant(_uniform, _he(6.0), _unseeded)),
        ("hu_fixed_seed", _FIXED_MESSAGE.format(draw="uniform"), _variant(_uniform, _he(6.0), _seeded_inside)),
    )),
    _init_target("init.he_normal", I.he_normal, "normal", [{}, {"mode": "fan_out"}], _he_std, (
        ("hn_fans_swapped", _FAN_SWAP, _variant(_normal, _he(fan=_fans_swapped))),
        ("hn_ignores_mode", _MODE, _variant(_normal, _he(fan=_mode_ignored))),
        ("hn_no_gain", "He init has the ReLU gain sqrt(2): std = sqrt(2 / fan), not sqrt(1 / fan).",
         _variant(_normal, _he(1.0))),
        ("hn_variance_as_std", "2 / fan is the variance: the std is its square root, sqrt(2 / fan).",
         _variant(_normal, _he(power=1.0))),
        ("hn_uniform_instead", "he_normal draws from a normal distribution, rng.normal(0.0, std, size=shape), not "
         "from a uniform one.", _variant(_uniform, _he(6.0))),
        ("hn_not_from_rng", _UNSEEDED_MESSAGE.format(draw="normal"), _variant(_normal, _he(), _unseeded)),
        ("hn_fixed_seed", _FIXED_MESSAGE.format(draw="normal"), _variant(_normal, _he(), _seeded_inside)),
    )),
)
