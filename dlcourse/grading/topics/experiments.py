"""Checks for experiments students run on their own code (``experiments.NAME``).

``experiments.layer_spread``: how the spread of activations and gradients
changes with depth, for a given initializer and activation.  Students write::

    layer_spread(init, activation, depth=20, width=256, batch=512, rng=None)
        -> (activation_std, gradient_std)

a forward and a backward pass through a deep, bias-free MLP whose square
weights are drawn by the named initializer; the reference and its exact
definition are :func:`dlcourse.experiments.layer_spread`.  The random numbers
are drawn in a PRESCRIBED ORDER (x, then W_1 ... W_depth, then g), so a correct
student and the reference compute the same network from the same generator and
the results are compared as values, not as statistics.

Observables: the two arrays, plus (on the small networks, where two more calls
cost nothing) two facts about the rng: the same seed gives the same results,
another seed gives other results; so drawing from numpy's global functions or
from a generator seeded inside is reported as such.

Tolerance: ``rtol = 1e-8`` and no absolute part.  The stds span up to 20
orders of magnitude (at width 256, N(0, 0.01^2) weights shrink the signal 6-9x
per layer), so an absolute part scaled by the largest entry would wave through
every small one.  Correct float64 implementations differ by the summation order inside the
matrix products, ~1e-15 relative per layer, ~1e-13 after 20 layers, and by
other algebra for tanh' (1 / cosh^2 instead of 1 - tanh^2 differs only where
tanh saturates, entries too small to move a std); every catalogued mistake
changes some value on a visible trial by more than 1e-2 relative (measured; the
closest is ddof=1, 3 %).  Not catalogued: mixing up fan_in and fan_out, which
the square weights cannot show.

``check_spread_conclusions(conclusions)`` (exported by ``dlcourse.grading``)
grades the multiple-choice answers students read off their plot of
``layer_spread`` (the answer key is ``SPREAD_QUESTIONS``; each answer was
derived from the reference's curves, and the tests recompute it with torch).

Sources: Georgia Tech CS 4644/7643 'Optimization'; VU Amsterdam DLVU lecture 4
'Tools of the trade'; Glorot & Bengio (2010); He et al. (2015).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, NamedTuple

import numpy as np

from dlcourse.experiments import (
    SPREAD_ACTIVATION_PAIRS,
    SPREAD_INITS,
    SPREAD_WEIGHT_STD,
    layer_spread,
)
from dlcourse.grading._core import Mistake, Target, Trial
from dlcourse.grading._report import GradingError, Tolerance, describe_value
from dlcourse.grading.topics._common import expect_values

__all__ = ["SPREAD_QUESTIONS", "TARGETS", "check_spread_conclusions"]

# ---------------------------------------------------------------------------
# check target: trials and observables
# ---------------------------------------------------------------------------

ACTIVATION_LABEL = "activation_std (entry l: std of the output of layer l + 1)"
GRADIENT_LABEL = "gradient_std (entry l: std of dL/d(input of layer l + 1); entry 0 is dL/dx)"
SAME_SEED = "two generators with the same seed give the same results (draw every random number from rng)"
OTHER_SEED = "generators with different seeds give different results (draw from the rng argument)"
_TOLERANCE = Tolerance(rtol=1e-8, atol_scale=0.0)

# (init, activation, depth, width, batch): a tanh trial tells f'(z) from f'(h), a small batch * width
# tells ddof=0 from ddof=1, a batch of 1 shows the per-unit std; the default sizes (None: depth=20,
# width=256, batch=512, ~0.15 s a call) only in hidden mode, to keep the visible check instant
_VISIBLE = [("xavier_normal", "tanh", 3, 7, 5), ("he_normal", "relu", 4, 16, 1), ("normal_0.01", "linear", 5, 9, 3)]
_HIDDEN = [("he_normal", "tanh", 6, 12, 8), ("normal_0.01", "relu", 3, 5, 7), ("xavier_normal", "linear", 1, 4, 3),
           ("xavier_normal", "relu", 8, 32, 16), ("he_normal", "linear", 10, 20, 4),
           ("normal_0.01", "tanh", 20, 64, 32), ("xavier_normal", "tanh", 2, 1, 6),
           ("he_normal", "relu", None, None, None)]


def _trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
    built = []
    for init, activation, depth, width, batch in _VISIBLE + (_HIDDEN if hidden else []):
        seed = int(rng.integers(2**31))
        kwargs = {} if depth is None else {"depth": depth, "width": width, "batch": batch}
        label = f"{init} with {activation}, " + ("the default sizes" if depth is None else
                                                   f"{depth} layers of width {width}, batch {batch}")
        # the rng facts are judged on the small networks, where two more calls cost nothing
        built.append(Trial(f"{label}, rng = np.random.default_rng({seed})",
                           [("init", init), ("activation", activation)], kwargs,
                           extra={"seed": seed, "repeat": depth is not None}))
    return built


def _as_stds(value: Any, name: str, depth: int) -> np.ndarray:
    """The returned std array (a list of numbers is accepted), or a GradingError stating the contract."""
    if isinstance(value, (list, tuple)):
        with contextlib.suppress(TypeError, ValueError):  # not numbers: the contract error below says so
            value = np.asarray(value, dtype=np.float64)
    if not isinstance(value, np.ndarray) or value.shape != (depth,):
        raise GradingError(f"layer_spread must return {name} as an array with one std per layer, shape "
                           f"(depth,) = ({depth},); it returned {describe_value(value)}. Record one value "
                           f"per layer, e.g. in a list, and return np.array(the_list).")
    return value


def _observe(call: Any, trial: Trial) -> dict[str, Any]:
    depth = trial.kwargs.get("depth", 20)

    def run(seed: int) -> tuple[np.ndarray, np.ndarray]:
        kwargs = dict(trial.kwargs, rng=np.random.default_rng(seed))
        activation_std, gradient_std = expect_values(call("layer_spread", trial.args, kwargs), "layer_spread",
                                                     ("activation_std", "gradient_std"))
        return _as_stds(activation_std, "activation_std", depth), _as_stds(gradient_std, "gradient_std", depth)

    def same(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> bool:
        return all(np.array_equal(x, y, equal_nan=True) for x, y in zip(a, b, strict=True))

    seed = trial.extra["seed"]
    first = run(seed)
    observed = {ACTIVATION_LABEL: first[0], GRADIENT_LABEL: first[1]}
    if trial.extra["repeat"]:
        observed[SAME_SEED] = same(first, run(seed))
        observed[OTHER_SEED] = not same(first, run(seed + 1))
    return observed


# ---------------------------------------------------------------------------
# catalogued mistakes: layer_spread with one named piece swapped
# ---------------------------------------------------------------------------


def _draw_x_W_g(rng: np.random.Generator, std: float, depth: int, width: int, batch: int) -> tuple:
    x = rng.standard_normal((batch, width))
    weights = [rng.normal(0.0, std, size=(width, width)) for _ in range(depth)]
    g = rng.standard_normal((batch, width))
    return x, weights, g


def _draw_x_g_W(rng: np.random.Generator, std: float, depth: int, width: int, batch: int) -> tuple:
    x = rng.standard_normal((batch, width))
    g = rng.standard_normal((batch, width))
    weights = [rng.normal(0.0, std, size=(width, width)) for _ in range(depth)]
    return x, weights, g


def _draw_W_x_g(rng: np.random.Generator, std: float, depth: int, width: int, batch: int) -> tuple:
    weights = [rng.normal(0.0, std, size=(width, width)) for _ in range(depth)]
    x = rng.standard_normal((batch, width))
    g = rng.standard_normal((batch, width))
    return x, weights, g


def _stds_with(**changed: Callable[[int], float]) -> Callable[[str, int], float]:
    """A ``weight_std`` piece: the reference's std for every init except the ``changed`` ones."""
    table = SPREAD_WEIGHT_STD | changed
    return lambda init, width: table[init](width)


# The pieces of layer_spread a mistake can swap, as the reference computes them.
_SPREAD_PIECES: dict[str, Callable[..., Any]] = {
    "draws": _draw_x_W_g,                                   # x, then W_1 ... W_depth, then g
    "weight_std": _stds_with(),                             # SPREAD_WEIGHT_STD[init](width)
    "weight": lambda W: W,                                  # a layer computes z = h_prev @ W
    "recorded_activation": lambda h_prev, z, h: h,          # activation_std[l] = std(h_l), after f
    "upstream": lambda g: g,                                # L = sum(h_depth * g), so dL/dh_depth = g
    "local_grad": lambda f_grad, z, h: f_grad(z),           # f' at the pre-activation z
    "back": lambda dz, W: dz @ W.T,                         # dL/dh_prev = dz @ W.T
    "recorded_gradient": lambda dh_prev, dh, dz: dh_prev,   # gradient_std[l] = std(dL/dh_prev)
    "std": np.std,                                          # over all batch * width entries, ddof = 0
}


def _spread_wrong(**wrong: Callable[..., Any]) -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """layer_spread with the pieces named in ``wrong`` (keys of ``_SPREAD_PIECES``) replaced."""
    piece = _SPREAD_PIECES | wrong

    def spread(init, activation, depth=20, width=256, batch=512, rng=None):
        rng = np.random.default_rng(0) if rng is None else rng
        f, f_grad = SPREAD_ACTIVATION_PAIRS[activation]
        x, weights, g = piece["draws"](rng, piece["weight_std"](init, width), depth, width, batch)
        weights = [piece["weight"](W) for W in weights]
        hs, zs, activation_std = [x], [], []
        for W in weights:
            z = hs[-1] @ W
            zs.append(z)
            hs.append(f(z))
            activation_std.append(piece["std"](piece["recorded_activation"](hs[-2], z, hs[-1])))
        dh, gradient_std = piece["upstream"](g), np.empty(depth)
        for layer in reversed(range(depth)):
            dz = dh * piece["local_grad"](f_grad, zs[layer], hs[layer + 1])
            dh_prev = piece["back"](dz, weights[layer])
            gradient_std[layer] = piece["std"](piece["recorded_gradient"](dh_prev, dh, dz))
            dh = dh_prev
        return np.array(activation_std), gradient_std

    return spread


_MISTAKES = (
    Mistake("spread_no_activation_derivative", "In the backward pass multiply by the activation's derivative "
            "before going back through W: dz = dh * f'(z), then dh_prev = dz @ W.T; you passed dh through "
            "unchanged.", (_spread_wrong(local_grad=lambda f_grad, z, h: 1.0),)),
    Mistake("spread_derivative_at_output", "Evaluate the derivative at the pre-activation z = h_prev @ W, not "
            "at the output h = f(z): tanh'(z) = 1 - tanh(z)**2, which is 1 - h**2, not 1 - tanh(h)**2.",
            (_spread_wrong(local_grad=lambda f_grad, z, h: f_grad(h)),)),
    Mistake("spread_grad_at_layer_output", "gradient_std[l] is the std of the gradient with respect to the "
            "INPUT of layer l + 1, after the activation derivative and W.T: you recorded dL/dh at the layer's "
            "output, before both.", (_spread_wrong(recorded_gradient=lambda dh_prev, dh, dz: dh),)),
    Mistake("spread_grad_at_preactivation", "gradient_std[l] is the std of the gradient with respect to the "
            "input of layer l + 1, dz @ W.T: you recorded dz = dh * f'(z), before going back through W.",
            (_spread_wrong(recorded_gradient=lambda dh_prev, dh, dz: dz),)),
    Mistake("spread_backward_not_transposed", "The forward computes z = h @ W, so the backward is "
            "dh_prev = dz @ W.T; you multiplied by W itself.", (_spread_wrong(back=lambda dz, W: dz @ W),)),
    Mistake("spread_torch_layout", "Here W has shape (fan_in, fan_out) and a layer computes h @ W (torch's "
            "weight is the transpose and computes x @ weight.T); you used W.T.",
            (_spread_wrong(weight=lambda W: W.T),)),
    Mistake("spread_std_before_activation", "activation_std[l] is the std of the layer's output after the "
            "activation, f(h_prev @ W); you recorded the pre-activation h_prev @ W.",
            (_spread_wrong(recorded_activation=lambda h_prev, z, h: z),)),
    Mistake("spread_std_of_layer_input", "activation_std[l] is the std of the OUTPUT of layer l + 1; you "
            "recorded each layer's input (so your first entry is the std of x).",
            (_spread_wrong(recorded_activation=lambda h_prev, z, h: h_prev),)),
    Mistake("spread_std_ddof_1", "Take the population std over all batch * width entries, np.std(h) "
            "(ddof=0); you used ddof=1 (torch.std's default).", (_spread_wrong(std=partial(np.std, ddof=1)),)),
    Mistake("spread_std_per_unit", "Take one std over all batch * width entries, h.std(); you averaged the std "
            "of each unit over the batch (axis 0).",
            (_spread_wrong(std=lambda a: float(a.std(axis=0).mean())),)),
    Mistake("spread_loss_mean", "The loss is sum(output * g), so the gradient arriving at the last layer's "
            "output is g itself; you divided it by the number of entries (a mean).",
            (_spread_wrong(upstream=lambda g: g / g.size),)),
    Mistake("spread_variance_as_std", "rng.normal takes the standard deviation, not the variance: std = "
            "sqrt(1 / width) for xavier_normal, sqrt(2 / width) for he_normal, 0.01 for normal_0.01.",
            (_spread_wrong(weight_std=lambda init, width: SPREAD_WEIGHT_STD[init](width) ** 2),)),
    Mistake("spread_he_no_gain", "he_normal has the ReLU gain sqrt(2): std = sqrt(2 / width), not "
            "sqrt(1 / width).",
            (_spread_wrong(weight_std=_stds_with(he_normal=lambda width: math.sqrt(1 / width))),)),
    Mistake("spread_xavier_as_he", "xavier_normal's std is sqrt(2 / (fan_in + fan_out)) = sqrt(1 / width) here; "
            "you used He's sqrt(2 / width).",
            (_spread_wrong(weight_std=_stds_with(xavier_normal=lambda width: math.sqrt(2 / width))),)),
    Mistake("spread_g_drawn_before_weights", "Draw in the prescribed order: x, then W_1 ... W_depth, then g; you "
            "drew g before the weights.", (_spread_wrong(draws=_draw_x_g_W),)),
    Mistake("spread_weights_before_x", "Draw in the prescribed order: x, then W_1 ... W_depth, then g; you drew "
            "the weights before x.", (_spread_wrong(draws=_draw_W_x_g),)),
)

TARGETS: tuple[Target, ...] = (
    Target(
        name="experiments.layer_spread",
        roles=("layer_spread",),
        reference=(layer_spread,),
        trials=_trials,
        observe=_observe,
        mistakes=_MISTAKES,
        tolerance=_TOLERANCE,
        what="deep networks (stds per layer)",
    ),
)


# ---------------------------------------------------------------------------
# the conclusions read off the plot of layer_spread
# ---------------------------------------------------------------------------


class Question(NamedTuple):
    text: str
    choices: tuple[str, ...]
    answer: str
    hint: str


_TREND = ("vanish", "explode", "stay")

# Read off the reference's curves at the default sizes (the tests recompute each answer with torch):
# ReLU: from layer 1 to 20 the activation std changes x1.3 with he_normal, x0.002 with xavier_normal,
# x1e-18 with normal_0.01; linear: xavier_normal keeps both stds within 5 %, he_normal grows both ~700x;
# tanh with normal_0.01: the gradient std at layer 1 is ~1e-15 of the one at layer 20.
SPREAD_QUESTIONS: dict[str, Question] = {
    "relu_steady_init": Question(
        "Which initializer keeps the std of ReLU activations roughly constant over the 20 layers?",
        SPREAD_INITS, "he_normal",
        "In the ReLU column, top row, only one curve stays flat: the other two fall by the same factor at "
        "every layer."),
    "linear_steady_init": Question(
        "Which initializer keeps both the activation std and the gradient std of the linear network roughly "
        "constant?", SPREAD_INITS, "xavier_normal",
        "In the linear column, look for the curve that stays flat in BOTH rows; Var[w] = 1 / fan_in is what "
        "a layer without a nonlinearity needs."),
    "linear_he_activations": Question(
        "With the linear activation and he_normal, what happens to the activation std with depth?",
        _TREND, "explode",
        "Follow the he_normal curve in the linear column, top row: the ReLU gain sqrt(2) doubles the variance "
        "at every layer when no ReLU halves it."),
    "tanh_small_init_gradients": Question(
        "With tanh and normal_0.01, what happens to the gradient std as it flows back from layer 20 to "
        "layer 1?", _TREND, "vanish",
        "Read the normal_0.01 curve in the tanh column, bottom row, from right (layer 20) to left (layer 1): "
        "each layer multiplies the gradient by W^T with tiny weights."),
}


def check_spread_conclusions(conclusions: Mapping[str, Any], quiet: bool = False) -> str:
    """Grade the answers read off the plot of ``layer_spread``.

    Args:
        conclusions: a dict with one answer (a string, one of the question's
            choices) per key of ``SPREAD_QUESTIONS``; case and surrounding
            spaces are ignored.
        quiet: do not print the success line.

    Returns:
        The success line.

    Raises:
        GradingError: naming every missing, invalid or wrong answer, each wrong
            one with a hint pointing at the plot.
    """
    if not isinstance(conclusions, Mapping):
        raise GradingError(f"conclusions must be a dict with the keys {list(SPREAD_QUESTIONS)}; it is "
                           f"{describe_value(conclusions)}")
    problems = []
    for key, question in SPREAD_QUESTIONS.items():
        options = " | ".join(repr(c) for c in question.choices)
        if key not in conclusions:
            problems.append(f"- {key!r} is missing: {question.text} Answer one of {options}.")
            continue
        given = conclusions[key]
        answer = given.strip().lower() if isinstance(given, str) else given
        if answer not in question.choices:
            problems.append(f"- {key!r} = {given!r} is not one of the choices {options}.")
        elif answer != question.answer:
            problems.append(f"- {key!r} = {given!r} is not right. {question.hint}")
    unknown = [key for key in conclusions if key not in SPREAD_QUESTIONS]
    if unknown:
        problems.append(f"- unknown keys {unknown}: the questions are {list(SPREAD_QUESTIONS)}.")
    if problems:
        raise GradingError(f"{len(problems)} of the conclusions need another look:\n" + "\n".join(problems))
    line = f"OK conclusions: all {len(SPREAD_QUESTIONS)} answers agree with the plot"
    if not quiet:
        print(line)
    return line
