"""Checks for experiments students run on their own code (``experiments.NAME``).

``experiments.layer_spread``: how the spread of activations and gradients
changes with depth, for a given initializer and activation.  Students write::

    layer_spread(init, activation, depth=20, width=256, batch=512, rng=None)
        -> (activation_std, gradient_std)

a forward and a backward pass through a deep, bias-free MLP whose square
weights are drawn by the named initializer (see :func:`layer_spread` for the
exact definition).  The random numbers are drawn in a PRESCRIBED ORDER (x, then
W_1 ... W_depth, then g), so a correct student and the reference compute the
same network from the same generator and the results are compared as values,
not as statistics.

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

``check_spread_conclusions(conclusions)`` grades the multiple-choice answers
students read off their plot of ``layer_spread`` (the answer key is
``SPREAD_QUESTIONS``; each answer was derived from the reference's curves, and
the tests recompute it with torch).

Sources: Georgia Tech CS 4644/7643 'Optimization' (activations shrink with
depth under small normal init; Xavier for tanh, He for ReLU); VU Amsterdam
DLVU lecture 4 'Tools of the trade' (keep the variance of the forward AND the
backward pass); Glorot & Bengio (2010); He et al. (2015).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, NamedTuple

import numpy as np

from dlcourse import activations as A
from dlcourse import init as I
from dlcourse._checks import check_choice, check_int, check_rng
from dlcourse.grading._core import Mistake, Target, Trial
from dlcourse.grading._report import GradingError, Tolerance, describe_value
from dlcourse.grading.topics._common import expect_values

__all__ = ["SPREAD_INITS", "SPREAD_ACTIVATIONS", "SPREAD_QUESTIONS", "layer_spread", "check_spread_conclusions"]

# name -> init(shape, rng); each draws rng.normal(0.0, std, size=shape), the prescribed draw
_INITIALIZERS: dict[str, Callable[[tuple[int, int], np.random.Generator], np.ndarray]] = {
    "xavier_normal": I.xavier_normal,   # std = sqrt(2 / (fan_in + fan_out)) = sqrt(1 / width)
    "he_normal": I.he_normal,           # std = sqrt(2 / fan_in) = sqrt(2 / width)
    "normal_0.01": partial(I.normal, std=0.01),
}


def _identity(z: np.ndarray) -> np.ndarray:
    return z


def _ones(z: np.ndarray) -> np.ndarray:
    return np.ones_like(z)


# name -> (f, f') evaluated at the pre-activation z
_ACTIVATIONS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]] = {
    "tanh": (A.tanh, A.tanh_grad),
    "relu": (A.relu, A.relu_grad),
    "linear": (_identity, _ones),
}
SPREAD_INITS: tuple[str, ...] = tuple(_INITIALIZERS)
SPREAD_ACTIVATIONS: tuple[str, ...] = tuple(_ACTIVATIONS)


def layer_spread(
    init: str,
    activation: str,
    depth: int = 20,
    width: int = 256,
    batch: int = 512,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Std of the activations and of the gradients, layer by layer, in a deep bias-free MLP.

    Draws, in this order (the order is part of the definition, so that two
    implementations given the same generator build the same network):

        x = rng.standard_normal((batch, width))                       input h_0
        W_l = rng.normal(0.0, std, size=(width, width)), l = 1..depth  one draw per layer, in order
        g = rng.standard_normal((batch, width))                       loss weights

    with std = sqrt(1 / width) for "xavier_normal" (Glorot: sqrt(2 / (fan_in +
    fan_out))), sqrt(2 / width) for "he_normal" (He, fan_in, ReLU gain sqrt(2))
    and 0.01 for "normal_0.01".  Then

        forward:   z_l = h_{l-1} W_l,  h_l = f(z_l)                 l = 1..depth
        loss:      L = sum(h_depth * g)                             so dL/dh_depth = g
        backward:  dL/dz_l = dL/dh_l * f'(z_l),  dL/dh_{l-1} = dL/dz_l W_l^T

        activation_std[l - 1] = std(h_l)           (the output of layer l)
        gradient_std[l - 1]   = std(dL/dh_{l-1})   (the gradient w.r.t. layer l's input)

    Each std is taken over all batch * width entries with ddof = 0 (np.std).

    Args:
        init: "xavier_normal", "he_normal" or "normal_0.01".
        activation: "tanh", "relu" or "linear" (f(z) = z).
        depth: number of layers, >= 1 (default 20).
        width: units per layer, >= 1; every W is (width, width) (default 256).
        batch: number of input rows, >= 1 (default 512).
        rng: the generator to draw from; None means np.random.default_rng(0),
            so the default experiment is reproducible.

    Returns:
        (activation_std, gradient_std), two float64 arrays of shape (depth,).

    Notes:
        W has shape (fan_in, fan_out) and a layer computes h W, torch's
        nn.Linear(bias=False) with weight = W^T.  torch.std defaults to the
        unbiased estimate (correction=1); here it is the population std
        (torch: correction=0).  relu'(0) = 0 as in torch.

    Source: Georgia Tech CS 4644/7643 'Optimization' (the Glorot & Bengio
    experiment: activations of a deep tanh net shrink under N(0, 0.01^2));
    VU Amsterdam DLVU lecture 4 'Tools of the trade' (forward and backward
    variance); Glorot & Bengio (2010); He et al. (2015).
    """
    check_choice(init, "init", SPREAD_INITS)
    check_choice(activation, "activation", SPREAD_ACTIVATIONS)
    depth, width, batch = check_int(depth, "depth", 1), check_int(width, "width", 1), check_int(batch, "batch", 1)
    rng = np.random.default_rng(0) if rng is None else check_rng(rng)
    f, f_grad = _ACTIVATIONS[activation]

    h = rng.standard_normal((batch, width))
    weights = [_INITIALIZERS[init]((width, width), rng) for _ in range(depth)]
    g = rng.standard_normal((batch, width))

    pre_activations, activation_std = [], np.empty(depth)
    for layer, W in enumerate(weights):
        z = h @ W
        h = f(z)
        pre_activations.append(z)
        activation_std[layer] = h.std()
    gradient_std = np.empty(depth)
    dh = g
    for layer in reversed(range(depth)):
        dh = (dh * f_grad(pre_activations[layer])) @ weights[layer].T
        gradient_std[layer] = dh.std()
    return activation_std, gradient_std


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
           ("xavier_normal", "relu", 8, 32, 16), ("he_normal", "linear", 10, 20, 4), ("normal_0.01", "tanh", 20, 64, 32),
           ("xavier_normal", "tanh", 2, 1, 6), ("he_normal", "relu", None, None, None)]


def _trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
    built = []
    for init, activation, depth, width, batch in _VISIBLE + (_HIDDEN if hidden else []):
        seed = int(rng.integers(2**31))
        kwargs = {} if depth is None else {"depth": depth, "width": width, "batch": batch}
        label = f"{init} with {activation}, " + ("the default sizes" if depth is None else
                                                   f"{depth} layers of width {width}, batch {batch}")
        # the rng facts are judged on the small networks, where two more calls cost nothing
        built.append(Trial(f"{label}, rng = np.random.default_rng({seed})", [("init", init), ("activation", activation)],
                           kwargs, extra={"seed": seed, "repeat": depth is not None}))
    return built


def _as_stds(value: Any, name: str, depth: int) -> np.ndarray:
    """The returned std array (a list of numbers is accepted), or a GradingError stating the contract."""
    if isinstance(value, (list, tuple)):
        try:
            value = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            pass
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
        return all(np.array_equal(x, y, equal_nan=True) for x, y in zip(a, b))

    seed = trial.extra["seed"]
    first = run(seed)
    observed = {ACTIVATION_LABEL: first[0], GRADIENT_LABEL: first[1]}
    if trial.extra["repeat"]:
        observed[SAME_SEED] = same(first, run(seed))
        observed[OTHER_SEED] = not same(first, run(seed + 1))
    return observed


# ---------------------------------------------------------------------------
# catalogued mistakes: layer_spread with one step changed
# ---------------------------------------------------------------------------


class _Change(NamedTuple):
    """What a wrong layer_spread does differently from the reference (defaults: nothing)."""

    order: str = "x W g"                  # the order of the draws
    std_scale: Callable[[str, float], float] = lambda init, std: std  # std actually passed to rng.normal
    layout: str = "h @ W"                 # or "h @ W.T" (torch's weight layout)
    act_std_of: str = "h"                 # "h" (output), "z" (pre-activation), "input" (h_{l-1})
    derivative_at: str = "z"              # "z", "h" (the output) or "none" (left out)
    transpose_back: bool = True           # dh_prev = dz @ W.T (False: dz @ W)
    grad_std_of: str = "input"            # "input" (dh_{l-1}), "output" (dh_l), "pre" (dz_l)
    loss: str = "sum"                     # "sum" or "mean" of output * g
    std: Callable[[np.ndarray], float] = np.std


def _init_std(init: str, width: int) -> float:
    """The std that ``_INITIALIZERS[init]`` draws a (width, width) matrix with."""
    if init == "xavier_normal":
        return I._glorot_std((width, width), 1.0)
    if init == "he_normal":
        return I._he_std((width, width), 0.0, "fan_in", "leaky_relu")
    return 0.01


def _wrong_spread(change: _Change) -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    def spread(init, activation, depth=20, width=256, batch=512, rng=None):
        rng = np.random.default_rng(0) if rng is None else rng
        f, f_grad = _ACTIVATIONS[activation]
        std = change.std_scale(init, _init_std(init, width))
        draws = {}
        for name in change.order.split():
            if name == "W":
                draws[name] = [rng.normal(0.0, std, size=(width, width)) for _ in range(depth)]
            else:
                draws[name] = rng.standard_normal((batch, width))
        h, weights, g = draws["x"], draws["W"], draws["g"]
        if change.layout == "h @ W.T":
            weights = [W.T for W in weights]
        zs, hs, act = [], [h], []
        for W in weights:
            z = hs[-1] @ W
            act.append(change.std({"h": f(z), "z": z, "input": hs[-1]}[change.act_std_of]))
            zs.append(z)
            hs.append(f(z))
        dh = g / g.size if change.loss == "mean" else g
        grad = np.empty(depth)
        for layer in reversed(range(depth)):
            slope = {"z": f_grad(zs[layer]), "h": f_grad(hs[layer + 1]), "none": 1.0}[change.derivative_at]
            dz = dh * slope
            before = dh
            dh = dz @ (weights[layer].T if change.transpose_back else weights[layer])
            grad[layer] = change.std({"input": dh, "output": before, "pre": dz}[change.grad_std_of])
        return np.array(act), grad

    return spread


_MISTAKES = [
    ("spread_no_activation_derivative", "In the backward pass multiply by the activation's derivative before "
     "going back through W: dz = dh * f'(z), then dh_prev = dz @ W.T; you passed dh through unchanged.",
     _Change(derivative_at="none")),
    ("spread_derivative_at_output", "Evaluate the derivative at the pre-activation z = h_prev @ W, not at the "
     "output h = f(z): tanh'(z) = 1 - tanh(z)**2, which is 1 - h**2, not 1 - tanh(h)**2.",
     _Change(derivative_at="h")),
    ("spread_grad_at_layer_output", "gradient_std[l] is the std of the gradient with respect to the INPUT of "
     "layer l + 1, after the activation derivative and W.T: you recorded dL/dh at the layer's output, before "
     "both.", _Change(grad_std_of="output")),
    ("spread_grad_at_preactivation", "gradient_std[l] is the std of the gradient with respect to the input of "
     "layer l + 1, dz @ W.T: you recorded dz = dh * f'(z), before going back through W.",
     _Change(grad_std_of="pre")),
    ("spread_backward_not_transposed", "The forward computes z = h @ W, so the backward is dh_prev = dz @ W.T; "
     "you multiplied by W itself.", _Change(transpose_back=False)),
    ("spread_torch_layout", "Here W has shape (fan_in, fan_out) and a layer computes h @ W (torch's weight is "
     "the transpose and computes x @ weight.T); you used W.T.", _Change(layout="h @ W.T")),
    ("spread_std_before_activation", "activation_std[l] is the std of the layer's output after the activation, "
     "f(h_prev @ W); you recorded the pre-activation h_prev @ W.", _Change(act_std_of="z")),
    ("spread_std_of_layer_input", "activation_std[l] is the std of the OUTPUT of layer l + 1; you recorded each "
     "layer's input (so your first entry is the std of x).", _Change(act_std_of="input")),
    ("spread_std_ddof_1", "Take the population std over all batch * width entries, np.std(h) (ddof=0); you "
     "used ddof=1 (torch.std's default).", _Change(std=partial(np.std, ddof=1))),
    ("spread_std_per_unit", "Take one std over all batch * width entries, h.std(); you averaged the std of "
     "each unit over the batch (axis 0).", _Change(std=lambda a: float(a.std(axis=0).mean()))),
    ("spread_loss_mean", "The loss is sum(output * g), so the gradient arriving at the last layer's output is "
     "g itself; you divided it by the number of entries (a mean).", _Change(loss="mean")),
    ("spread_variance_as_std", "rng.normal takes the standard deviation, not the variance: std = sqrt(1 / "
     "width) for xavier_normal, sqrt(2 / width) for he_normal, 0.01 for normal_0.01.",
     _Change(std_scale=lambda init, std: std**2)),
    ("spread_he_no_gain", "he_normal has the ReLU gain sqrt(2): std = sqrt(2 / width), not sqrt(1 / width).",
     _Change(std_scale=lambda init, std: std / np.sqrt(2.0) if init == "he_normal" else std)),
    ("spread_xavier_as_he", "xavier_normal's std is sqrt(2 / (fan_in + fan_out)) = sqrt(1 / width) here; you "
     "used He's sqrt(2 / width).",
     _Change(std_scale=lambda init, std: std * np.sqrt(2.0) if init == "xavier_normal" else std)),
    ("spread_g_drawn_before_weights", "Draw in the prescribed order: x, then W_1 ... W_depth, then g; you drew "
     "g before the weights.", _Change(order="x g W")),
    ("spread_weights_before_x", "Draw in the prescribed order: x, then W_1 ... W_depth, then g; you drew the "
     "weights before x.", _Change(order="W x g")),
]

TARGETS: tuple[Target, ...] = (Target(
    name="experiments.layer_spread",
    roles=("layer_spread",),
    reference=(layer_spread,),
    trials=_trials,
    observe=_observe,
    mistakes=tuple(Mistake(name, message, (_wrong_spread(change),)) for name, message, change in _MISTAKES),
    tolerance=_TOLERANCE,
    what="deep networks (stds per layer)",
),)


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
