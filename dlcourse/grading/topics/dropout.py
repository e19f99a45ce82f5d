"""Checks for inverted dropout (``layers.dropout_forward``, ``layers.dropout_backward``).

Dropout is random, so its observables are the facts every correct
implementation shares whatever mask it draws (``_DROPOUT_LABELS``): the kept
units are scaled by exactly 1 / (1 - p), the fraction dropped is p, the rows
of a batch get different masks, the same seed gives the same mask, evaluation
is the identity, and the backward passes dout through the forward's own mask
with the same scale.  The reference is ``dlcourse.layers.dropout_forward`` /
``dropout_backward``.

A statistic over the kept (or dropped) units is undefined when there are none
(p = 0 drops nothing; a mistake may keep nothing): it is observed as nan, and
whether each set is empty is an observable of its own, listed before the
statistics, so that feedback never compares values over an empty set.

Decision a course team may want to revisit: p = 1 (torch returns zeros) is
not tried; p = 0 is (hidden).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from dlcourse import layers as L
from dlcourse.grading._core import Caller, Mistake, Target, Trial
from dlcourse.grading._picture import Picture
from dlcourse.grading._report import FLOAT64_FIX, GradingError, Mismatch
from dlcourse.grading.topics._common import expect_values
from dlcourse.grading.topics._layer_common import F32, F64, array_of_shape, cases, tolerance_for
from dlcourse.grading.topics._pictures import masses_picture

__all__ = ["TARGETS"]


def _away_from_zero(rng: np.random.Generator, shape: tuple[int, ...], scale: float, dtype: Any) -> np.ndarray:
    """Values with |v| in [0.5, 2] * scale, so that ratios out / x are well defined."""
    return (rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 2.0, shape) * scale).astype(dtype)


# Observables every correct implementation shares whatever mask it draws.  The
# dropped fraction is measured on 250 000 units: its binomial std is at most
# sqrt(0.25 / 250 000) = 1e-3, so rounded to 2 decimals it equals p (chosen on
# the 0.01 grid) unless the draw is 5 std off (probability < 6e-7 per trial).
_BIG = 250_000
_DROPOUT_LABELS = {
    "kept_any": "some units are kept (out != 0) with training=True",
    "dropped_any": "some units are dropped (out == 0) with training=True",
    "rows_alike": ("every row of the batch (axis 0) gets the same mask (each example needs its own: draw the mask "
                   "with x's full shape)"),
    "kept_min": "out / x over the units kept (out != 0), training: smallest",
    "kept_max": "out / x over the units kept (out != 0), training: largest",
    "fraction": "fraction of the units dropped, training, rounded to 2 decimals",
    "same_seed": "out is the same when called again with a generator of the same seed",
    "eval_min": "out / x with training=False: smallest",
    "eval_max": "out / x with training=False: largest",
    "back_min": "(dx / dout) / (out / x) over the units kept, training: smallest",
    "back_max": "(dx / dout) / (out / x) over the units kept, training: largest",
    "back_dropped": "|dx / dout| over the units dropped, training: largest",
    "back_eval": "dx with training=False (should be dout)",
}
# (label, shape, p, scale, dtype)
_DROPOUT_CASES = (
    ("250 000 units, p = 0.2", (500, 500), 0.2, 1.0, F64),
    ("a batch of one row of 257 units, p = 0.3", (1, 257), 0.3, 1.0, F64),
    ("250 000 large units, p = 0.75", (250, 1000), 0.75, 1e3, F64),
    ("float32, p = 0.4", (64, 33), 0.4, 2.0, F32),
)
_DROPOUT_HIDDEN = (
    ("p = 0 drops nothing", (31, 17), 0.0, 1.0, F64),
    ("p = 1 drops everything (out is all zeros)", (13, 11), 1.0, 1.0, F64),
    ("tiny values around 1e-6, 250 000 units, p = 0.1", (1000, 250), 0.1, 1e-6, F64),
    ("a (2, 3, 40) array, p = 0.5", (2, 3, 40), 0.5, 1.0, F64),
    ("250 000 float32 units, p = 0.35", (500, 500), 0.35, 3.0, F32),
)


def _is_big(shape: tuple[int, ...]) -> bool:
    return int(np.prod(shape)) >= _BIG


def _dropout_trials(with_dout: bool) -> Callable:
    def trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
        made = []
        for label, shape, p, scale, dtype in cases(_DROPOUT_CASES, _DROPOUT_HIDDEN, hidden):
            if with_dout and _is_big(shape):
                shape = (shape[0] // 10, shape[1])  # the backward needs no fraction: smaller and faster
            args = [("x", _away_from_zero(rng, shape, scale, dtype)), ("p", p)]
            if with_dout:
                args.append(("dout", _away_from_zero(rng, shape, 1.0, dtype)))
            seed = int(rng.integers(2**31))
            made.append(Trial(f"{label}, rng = np.random.default_rng({seed})", args, extra={"seed": seed},
                              tolerance=tolerance_for(dtype)))
        return made

    return trials


def _dropout_forward_call(call: Any, trial: Trial, training: bool) -> tuple[np.ndarray, Any]:
    (_, x), (_, p) = trial.args[:2]
    args = [("x", x), ("p", p), ("training", training), ("rng", np.random.default_rng(trial.extra["seed"]))]
    out, cache = expect_values(call("dropout_forward", args), "dropout_forward", ("out", "cache"))
    out = array_of_shape(out, x.shape, "out", "dropout_forward")
    if x.dtype == F32 and out.dtype != F32:  # the observables are ratios: the dtype is checked here
        raise GradingError(f"dropout_forward's out has dtype {out.dtype} but should be float32, like x (float32 in, "
                           f"float32 out). {FLOAT64_FIX}", mistake="float64_out")
    return out.astype(F64) / x, cache


def _extremes(values: np.ndarray, where: np.ndarray) -> tuple[float, float]:
    """Smallest and largest of ``values[where]``; nan (undefined, and alike for everyone) when none is chosen."""
    chosen = values[where]
    return (float(chosen.min()), float(chosen.max())) if chosen.size else (np.nan, np.nan)


def _which_are_empty(kept: np.ndarray) -> dict[str, bool]:
    """Whether any unit is kept, any dropped: observed before the statistics over either set."""
    return {"kept_any": bool(kept.any()), "dropped_any": bool(not kept.all())}


def _rows_alike(kept: np.ndarray, p: float) -> bool | None:
    """Whether every row (axis 0) has the first row's mask; None where that says nothing (one row, p = 0).

    For a correct dropout the rows of these batches (>= 33 units each, 0 < p < 1) are alike with
    probability below 1e-9.
    """
    if kept.shape[0] < 2 or not 0 < p < 1:
        return None
    return bool((kept == kept[:1]).all())


def _observe_dropout_forward(call: Any, trial: Trial) -> dict[str, Any]:
    ratio, _ = _dropout_forward_call(call, trial, True)
    again, _ = _dropout_forward_call(call, trial, True)
    eval_ratio, _ = _dropout_forward_call(call, trial, False)
    kept = ratio != 0
    observed: dict[str, Any] = _which_are_empty(kept)
    rows_alike = _rows_alike(kept, trial.args[1][1])
    if rows_alike is not None:
        observed["rows_alike"] = rows_alike
    observed |= dict(zip(("kept_min", "kept_max"), _extremes(ratio, kept), strict=True))
    if _is_big(ratio.shape) and not rows_alike:
        # with one mask for all rows the fraction is that of a single row, too few units to round to p
        observed["fraction"] = round(1.0 - float(kept.mean()), 2)
    observed["same_seed"] = bool(np.array_equal(ratio, again, equal_nan=True))
    observed["eval_min"], observed["eval_max"] = _extremes(eval_ratio, np.ones_like(kept))
    return {_DROPOUT_LABELS[key]: value for key, value in observed.items()}


def _observe_dropout_backward(call: Any, trial: Trial) -> dict[str, Any]:
    (_, x), _, (_, dout) = trial.args
    observed = {}
    for training in (True, False):
        ratio, cache = _dropout_forward_call(call, trial, training)
        dx = call("dropout_backward", [("dout", dout), ("cache", cache)])
        dx = array_of_shape(dx, x.shape, "dx", "dropout_backward")
        if not training:
            observed["back_eval"] = dx
            continue
        kept, grad_ratio = ratio != 0, dx.astype(F64) / dout
        observed |= _which_are_empty(kept)
        observed["back_min"], observed["back_max"] = _extremes(grad_ratio / np.where(kept, ratio, 1.0), kept)
        observed["back_dropped"] = _extremes(np.abs(grad_ratio), ~kept)[1]
    return {_DROPOUT_LABELS[key]: value for key, value in observed.items()}


def _dropout_picture(backward: bool) -> Callable[[Trial, Mismatch | str, Caller], Picture | None]:
    """A failure's picture: out / x (or dx / dout) per unit against inverted dropout's law.

    In training the law is 0 with probability p and 1 / (1 - p) otherwise;
    with training=False (when the failing observable is about evaluation) it
    is 1.  The observables are statistics, so the student's functions are
    called once more on the failing trial, only once it has failed.  No
    picture for a contract problem (the same seed gave another mask: about the
    rng, not the law).
    """

    def picture(trial: Trial, mismatch: Mismatch | str, student: Caller) -> Picture | None:
        if not isinstance(mismatch, Mismatch):
            return None
        (_, x), (_, p) = trial.args[:2]
        training = "training=False" not in mismatch.label
        values, cache = _dropout_forward_call(student, trial, training)
        what = "out / x"
        if backward:
            dout = trial.args[2][1]
            dx = array_of_shape(student("dropout_backward", [("dout", dout), ("cache", cache)]), x.shape, "dx",
                                "dropout_backward")
            values, what = dx.astype(F64) / dout, "dx / dout"
        atoms = ({0.0: p, 1 / (1 - p): 1 - p} if p > 0 else {1.0: 1.0}) if training else {1.0: 1.0}
        mode = "training" if training else "training=False"
        return masses_picture(f"{what} per unit, {mode}, p = {p:g}", what, values, atoms)

    return picture


def _dropout_evaluation(x: np.ndarray, p: float, dropped: Callable[[], tuple]) -> tuple:
    return x, None  # the identity, no cache


def _inverse_keep(p: float) -> float:
    """1 / (1 - p) as a Python float (it keeps float32 arrays float32); 0 at p = 1, where nothing is kept."""
    return 1.0 / (1 - p) if p < 1 else 0.0


def _inverse_keep_unguarded(p: float) -> float:
    """1 / (1 - p) with inf at p = 1: the kept-nothing mask then gives 0 * inf = nan, as ``x * mask / (1 - p)``."""
    return 1.0 / (1 - p) if p < 1 else math.inf


def _textbook_dropout(x: np.ndarray, p: float = 0.5, training: bool = True, rng: Any = None, *,
                      keep: Callable = lambda p: 1 - p, scale: Callable = _inverse_keep,
                      generator: Callable = lambda rng: rng, mask_shape: Callable = np.shape,
                      evaluation: Callable = _dropout_evaluation) -> tuple:
    """Inverted dropout written in named pieces; caches (mask, p) in training.

    Pieces: ``keep(p)``, the probability of keeping a unit; ``scale(p)``, the
    factor of the kept units; ``generator(rng)``, where the mask is drawn from;
    ``mask_shape(x)``, the shape of the mask drawn (broadcast against x);
    ``evaluation(x, p, dropped)``, the output and cache with training=False
    (``dropped()`` gives the training output and cache).
    """
    def dropped() -> tuple:
        mask = generator(rng).random(mask_shape(x)) < keep(p)
        return x * mask * scale(p), (mask, p)

    return dropped() if training else evaluation(x, p, dropped)


def _dropout_wrong(**wrong: Callable) -> Callable:
    """The textbook dropout with the pieces named in ``wrong`` swapped: a partial, so that two mistakes that swap
    different pieces combine (a student's shared mask that also divides by zero at p = 1)."""
    return partial(_textbook_dropout, **wrong)


_P_ONE = ("With p = 1 every unit is dropped: return zeros (np.zeros_like(x)); x * mask / (1 - p) divides 0 by 0 "
          "and gives nan.")
_DROPOUT_FORWARD_MISTAKES = (
    Mistake("dropout_no_rescale", "Inverted dropout scales the kept units by 1 / (1 - p) during training, so "
            "that E[out] = x and evaluation needs no change.", (_dropout_wrong(scale=lambda p: 1.0),)),
    Mistake("dropout_p_is_keep", "p is the probability of DROPPING a unit (torch's convention): keep a unit with "
            "probability 1 - p and scale it by 1 / (1 - p).",
            # np.divide: p = 0 gives inf, as students' code does
            (_dropout_wrong(keep=lambda p: p, scale=lambda p: np.divide(1.0, p)),)),
    Mistake("dropout_scale_by_keep", "Divide the kept units by the keep probability, x * mask / (1 - p); you "
            "multiplied by (1 - p).", (_dropout_wrong(scale=lambda p: 1 - p),)),
    Mistake("dropout_scales_in_eval", "With training=False inverted dropout is the identity: return x unchanged "
            "(the 1 / (1 - p) scaling belongs to training only).",
            (_dropout_wrong(evaluation=lambda x, p, dropped: (x * _inverse_keep_unguarded(p), None)),)),
    Mistake("dropout_original_paper", "This is the original paper's dropout (scale by 1 - p at test time); use "
            "inverted dropout as torch does: scale kept units by 1 / (1 - p) in training and return x unchanged "
            "in evaluation.",
            (_dropout_wrong(scale=lambda p: 1.0, evaluation=lambda x, p, dropped: (x * (1 - p), None)),)),
    Mistake("dropout_original_paper_times_p", "This is the original paper's dropout with its test-time factor "
            "taken as p, the DROP probability here (the paper's p keeps a unit); use inverted dropout as torch "
            "does: scale kept units by 1 / (1 - p) in training and return x unchanged in evaluation.",
            (_dropout_wrong(scale=lambda p: 1.0, evaluation=lambda x, p, dropped: (x * p, None)),)),
    Mistake("dropout_mask_shared_by_batch", "Draw one mask entry per unit of x, mask = rng.random(x.shape) >= p: "
            "a mask of shape x.shape[1:] broadcast over the batch drops the same units in every example.",
            (_dropout_wrong(mask_shape=lambda x: x.shape[1:]),)),
    Mistake("dropout_drops_in_eval", "With training=False return x unchanged: dropout only drops units during "
            "training.", (_dropout_wrong(evaluation=lambda x, p, dropped: dropped()),)),
    Mistake("dropout_ignores_rng", "Draw the mask from the rng argument (rng.random(x.shape)), not from "
            "np.random, so that a seeded generator makes the result reproducible.",
            (_dropout_wrong(generator=lambda rng: np.random.default_rng()),)),
    Mistake("dropout_p_one_nan", _P_ONE, (_dropout_wrong(scale=_inverse_keep_unguarded),)),
)
_DROPOUT_BACKWARD_MISTAKES = (
    Mistake("dropout_backward_no_mask", "The gradient flows only through the units the forward kept: "
            "dx = dout * mask / (1 - p), with the mask cached by the forward.",
            (_dropout_wrong(), lambda d, cache: d.copy())),
    Mistake("dropout_backward_scale_only", "Apply the forward's mask too: dx = dout * mask / (1 - p), "
            "not dout / (1 - p).",
            (_dropout_wrong(), lambda d, cache: d if cache is None else d * _inverse_keep(cache[1]))),
    Mistake("dropout_backward_no_scale", "The forward multiplied the kept units by 1 / (1 - p), so the backward "
            "does too: dx = dout * mask / (1 - p).",
            (_dropout_wrong(), lambda d, cache: d if cache is None else d * cache[0])),
    Mistake("dropout_backward_p_one_nan", _P_ONE, (_dropout_wrong(scale=_inverse_keep_unguarded),
                                                   lambda d, cache: d if cache is None else
                                                   d * cache[0] * _inverse_keep_unguarded(cache[1]))),
)

TARGETS: tuple[Target, ...] = (
    Target("layers.dropout_forward", ("dropout_forward",), (L.dropout_forward,), _dropout_trials(with_dout=False),
           _observe_dropout_forward, _DROPOUT_FORWARD_MISTAKES, what="inputs (statistics of the random mask)",
           picture=_dropout_picture(backward=False)),
    Target("layers.dropout_backward", ("dropout_forward", "dropout_backward"),
           (L.dropout_forward, L.dropout_backward), _dropout_trials(with_dout=True), _observe_dropout_backward,
           _DROPOUT_BACKWARD_MISTAKES, what="inputs (with the forward's own mask)",
           picture=_dropout_picture(backward=True)),
)
