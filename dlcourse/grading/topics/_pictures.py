"""The shared builders of a failed check's picture (``Target.picture``): what each kind of figure shows.

A builder is ``picture(trial, problem, student) -> Picture | None`` (see
:class:`~dlcourse.grading._core.Target`); it runs once, when a trial fails.
``problem`` is the first wrong observable (a ``Mismatch``) or a contract
problem's text, for which the curves have nothing to show (None).  The
topic modules set one explicitly in their ``TARGETS`` tables:

- :func:`trajectory_picture` (``optim.*``): the failing entry of theta after
  each step, the first step that differs marked;
- :func:`schedule_picture` (``schedules.*`` learning rates): the rate at the
  trial's steps, the first wrong step marked;
- :func:`function_picture` (``activations.*``) and :func:`layer_picture`
  (the activation layers): both curves over the failing trial's own inputs
  (sorted; the student's code is not called again), shaded where they differ;
- :func:`density_picture` and :func:`masses_picture`: a histogram of random
  draws against the law they should follow (``init.*`` and dropout build
  the draws themselves, since their observables are statistics).

Everything here is numpy; drawing is :mod:`dlcourse.grading._figures`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from dlcourse.grading._core import Caller, PictureBuilder, Trial
from dlcourse.grading._picture import EXPECTED, OBTAINED, Picture
from dlcourse.grading._report import Mismatch, Tolerance

_BINS = 60


def _entry_name(name: str, index: tuple[int, ...], size: int) -> str:
    """``theta[2, 4]``, or ``theta`` when there is a single entry."""
    return name if size == 1 else f"{name}[{', '.join(str(i) for i in index)}]"


def trajectory_picture(step_role: str) -> PictureBuilder:
    """The optimizers' picture: the entry of theta where the first wrong value is, after each step.

    The observable is theta after k = 0..K steps stacked along axis 0, so the
    first wrong index ``(k, i, j, ...)`` names the step k and the entry.
    """

    def picture(trial: Trial, mismatch: Mismatch | str, student: Caller) -> Picture | None:
        if not isinstance(mismatch, Mismatch):
            return None
        step, *entry = mismatch.first_index
        column = (slice(None), *entry)
        name = _entry_name("theta", tuple(entry), mismatch.expected[0].size)
        return Picture("trajectory", f"{name} after each step of {step_role}", "step", name,
                       x=np.arange(len(mismatch.expected)), expected=mismatch.expected[column],
                       obtained=mismatch.obtained[column], marks=(step,))

    return picture


def schedule_picture(role: str) -> PictureBuilder:
    """The learning-rate schedules' picture: the rate at each of the trial's steps (``trial.extra["steps"]``)."""

    def picture(trial: Trial, mismatch: Mismatch | str, student: Caller) -> Picture | None:
        if not isinstance(mismatch, Mismatch):
            return None
        steps = np.asarray(trial.extra["steps"])
        (first,) = mismatch.first_index
        return Picture("trajectory", f"the learning rate of {role} at the trial's steps", "step", "learning rate",
                       x=steps, expected=mismatch.expected, obtained=mismatch.obtained, marks=(int(steps[first]),))

    return picture


def _wrong(expected: np.ndarray, obtained: np.ndarray, tolerance: Tolerance) -> np.ndarray:
    """Where ``obtained`` is outside the tolerance around ``expected`` (as ``compare_values`` judges)."""
    finite = np.isfinite(expected)
    scale = float(np.max(np.abs(expected[finite]))) if finite.any() else 0.0
    limit = tolerance.atol_scale * scale + tolerance.rtol * np.abs(expected)
    return ~(np.abs(obtained - expected) <= limit)


def grid_over(x: np.ndarray, points: int = 241) -> np.ndarray:
    """A grid over the inputs' range and 0 (where activations bend), padded; +-1 around a single input at 0."""
    finite = np.asarray(x, dtype=np.float64)[np.isfinite(x)]
    low, high = min(float(finite.min(initial=0.0)), 0.0), max(float(finite.max(initial=0.0)), 0.0)
    pad = 0.08 * (high - low) or 1.0
    return np.linspace(low - pad, high + pad, points)


def curve_picture(title: str, ylabel: str, x: np.ndarray, expected: np.ndarray, obtained: np.ndarray,
                  first: tuple[int, ...], tolerance: Tolerance,
                  reference: Callable[[np.ndarray], np.ndarray] | None = None) -> Picture:
    """Two curves over the inputs ``x`` (any shape, flattened and sorted), shaded where they differ.

    ``first`` is the index (in ``x``'s shape) of the first wrong value,
    marked.  ``reference(grid)`` (trusted code only: the student's is never
    called again) draws the reference's curve over the whole range, so that
    a trial of one or two inputs still shows the function.
    """
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, axis=None, kind="stable")
    expected, obtained = (np.asarray(v, dtype=np.float64).reshape(-1)[order] for v in (expected, obtained))
    curve_x = curve_y = None
    if reference is not None:
        curve_x = grid_over(x)
        curve_y = np.asarray(reference(curve_x), dtype=np.float64)
    return Picture("function", title, "x", ylabel, x=x.reshape(-1)[order], expected=expected, obtained=obtained,
                   wrong=_wrong(expected, obtained, tolerance), marks=(float(x[first]),), curve_x=curve_x,
                   curve_y=curve_y)


def function_picture(role: str, reference: Callable[..., np.ndarray], per_channel: str | None = None,
                     tolerance: Tolerance | None = None) -> PictureBuilder:
    """An elementwise function's picture: ``role(x)`` over the failing trial's inputs (its first argument).

    ``reference(x, *other arguments, **kwargs)`` draws the reference's curve
    on a grid.  ``per_channel`` names a parameter (PReLU's slope ``a``) that may hold one
    value per channel (axis 1 of x): then only the failing entry's channel is
    drawn, so that the picture is one function.  ``tolerance`` is the
    target's (default: the default one; a float32 trial's own one wins), for
    the shading.
    """

    def picture(trial: Trial, mismatch: Mismatch | str, student: Caller) -> Picture | None:
        if not isinstance(mismatch, Mismatch):
            return None
        x, expected, obtained = trial.args[0][1], mismatch.expected, mismatch.obtained
        others = dict(trial.args[1:])
        first, title = mismatch.first_index, f"{role}(x) on the failing trial's inputs"
        tol = trial.tolerance or tolerance or Tolerance()
        if per_channel is not None and np.size(others[per_channel]) > 1 and np.ndim(x) >= 2:
            channel = first[1]
            x, expected, obtained = (np.take(v, channel, axis=1) for v in (x, expected, obtained))
            others[per_channel] = np.asarray(others[per_channel]).reshape(-1)[channel]
            first, title = first[:1] + first[2:], f"{role}(x) on the failing trial's inputs of channel {channel}"

        def curve(grid: np.ndarray) -> np.ndarray:
            return reference(grid, *others.values(), **trial.kwargs)

        return curve_picture(title, f"{role}(x)", x, expected, obtained, first, tol, curve)

    return picture


def layer_picture(roles: tuple[str, str], reference: tuple[Callable[..., Any], Callable[..., Any]],
                  tolerance: Tolerance | None = None) -> PictureBuilder:
    """An activation layer's picture: its output, or its local derivative dx / dout, over the trial's inputs.

    The observables are ``out of FORWARD`` and ``dx``; dx is drawn divided by
    the trial's dout (the reference's dx / dout is the derivative f'(x)), so
    both are curves of x.  ``reference``, the (forward, backward) pair, draws
    the reference's curve on a grid (dout = 1).
    """
    (forward, backward), (forward_reference, backward_reference) = roles, reference

    def picture(trial: Trial, mismatch: Mismatch | str, student: Caller) -> Picture | None:
        if not isinstance(mismatch, Mismatch):
            return None
        args = dict(trial.args)
        x, expected, obtained = args["x"], mismatch.expected, mismatch.obtained
        tol = trial.tolerance or tolerance or Tolerance()

        def out(grid: np.ndarray) -> np.ndarray:
            return forward_reference(grid, **trial.kwargs)[0]

        def local_derivative(grid: np.ndarray) -> np.ndarray:
            return backward_reference(np.ones_like(grid), forward_reference(grid, **trial.kwargs)[1])

        if mismatch.label.startswith("dx"):
            dout = np.asarray(args["dout"], dtype=np.float64)
            return curve_picture(f"{backward}: dx / dout (the local derivative) on the trial's inputs", "dx / dout",
                                 x, expected / dout, obtained / dout, mismatch.first_index, tol, local_derivative)
        return curve_picture(f"{forward}(x) on the failing trial's inputs", "out", x, expected, obtained,
                             mismatch.first_index, tol, out)

    return picture


def _normal_density(x: np.ndarray, std: float) -> np.ndarray:
    return np.exp(-0.5 * (x / std) ** 2) / (std * math.sqrt(2 * math.pi))


def density_picture(title: str, xlabel: str, draws: np.ndarray, law: str, std: float) -> Picture:
    """A histogram of ``draws`` (density) against N(0, std^2) (``law="normal"``) or U(-b, b), b = sqrt(3) std."""
    draws = np.asarray(draws, dtype=np.float64).reshape(-1)
    bound = math.sqrt(3.0) * std
    reach = max(4.0 * std if law == "normal" else 1.15 * bound, float(np.max(np.abs(draws))) * 1.02)
    edges = np.linspace(-reach, reach, _BINS + 1)
    counts, _ = np.histogram(draws, bins=edges, density=True)
    if law == "normal":
        x = np.linspace(-reach, reach, 241)
        density, words = _normal_density(x, std), f"N(0, {std:.3g}²)"
    else:  # the uniform density, its two jumps drawn as vertical edges
        x = np.array([-reach, -bound, -bound, bound, bound, reach])
        density, words = np.array([0, 0, 1, 1, 0, 0]) / (2 * bound), f"U(-{bound:.3g}, {bound:.3g})"
    return Picture("density", title, xlabel, "density", x=x, expected=density, obtained=counts, edges=edges,
                   expected_label=f"{EXPECTED}: {words}, std {std:.3g}",
                   obtained_label=f"{OBTAINED}: std {float(np.std(draws)):.3g}")


def masses_picture(title: str, xlabel: str, values: np.ndarray, atoms: dict[float, float]) -> Picture:
    """The fraction of ``values`` per bin against a discrete law, ``atoms`` = {value: probability}."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    values = values[np.isfinite(values)]
    where, mass = np.array(list(atoms), dtype=np.float64), np.array(list(atoms.values()), dtype=np.float64)
    low = min(0.0, float(where.min()), float(values.min(initial=0.0)))
    high = max(float(where.max()), float(values.max(initial=0.0)), low + 1.0)
    pad = 0.05 * (high - low)
    edges = np.linspace(low - pad, high + pad, _BINS + 1)
    counts, _ = np.histogram(values, bins=edges)
    mean = float(np.sum(where * mass))
    std = math.sqrt(max(float(np.sum(mass * (where - mean) ** 2)), 0.0))
    return Picture("masses", title, xlabel, "fraction of the units", x=where, expected=mass,
                   obtained=counts / max(values.size, 1), edges=edges,
                   expected_label=f"{EXPECTED}: std {std:.3g}",
                   obtained_label=f"{OBTAINED}: std {float(np.std(values)) if values.size else 0.0:.3g}")


def described_kwargs(kwargs: dict[str, Any]) -> str:
    """``, gain=1.67`` for a title, or ``""``."""
    return "".join(f", {key}={value:.3g}" if isinstance(value, float) else f", {key}={value!r}"
                   for key, value in kwargs.items())

__all__ = ["curve_picture", "density_picture", "described_kwargs", "function_picture", "layer_picture",
           "masses_picture", "schedule_picture", "trajectory_picture"]
