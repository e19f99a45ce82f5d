"""A picture of a failed check: the data of one small figure, no drawing.

When a check fails on values, a target that has a picture builds one
:class:`Picture` from the failing trial (``Target.picture``; the builders
live in ``grading/topics/_pictures.py``), and the
:class:`~dlcourse.grading._report.GradingError` carries it.  It is plain data
(numpy arrays, strings), so it pickles with the error and costs nothing to
keep; :mod:`dlcourse.grading._figures` draws it (matplotlib) only where a
figure can be shown: a notebook's output, the autograded notebook behind
nbgrader's feedback page.  Terminals and result files show the text alone.

Four kinds, each read the same way by the drawing:

``"trajectory"``
    a sequence over steps (an optimizer's iterates of one parameter, a
    schedule's learning rates): ``x`` the steps, ``expected`` and
    ``obtained`` the values at each step, ``marks`` the first step that
    differs.
``"function"``
    an elementwise function over the failing trial's own inputs: ``x`` the
    inputs (sorted), ``expected`` and ``obtained`` the outputs, ``wrong``
    where they differ beyond the tolerance (shaded), ``marks`` the first
    wrong input; ``curve_x`` and ``curve_y``, the reference on a fine grid
    of the same range, draw its curve even where the trial has few inputs.
``"density"``
    random draws against a continuous law: ``edges`` and ``obtained`` the
    histogram of the student's draws (density per bin), ``x`` and
    ``expected`` the law's density curve.
``"masses"``
    random values against a discrete law (dropout's out / x is 0 or
    1 / (1 - p)): ``edges`` and ``obtained`` the fraction of the student's
    values per bin, ``x`` and ``expected`` the law's atoms and their
    probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("trajectory", "function", "density", "masses")
EXPECTED = "expected (reference)"
OBTAINED = "your output"


@dataclass(frozen=True, eq=False)
class Picture:
    """The data of one figure of a failed check (see the module docstring for each kind's fields).

    Attributes:
        kind: one of :data:`KINDS`.
        title: what is plotted, in a few words ("theta[2] after each step").
        xlabel, ylabel: the axes' labels.
        x: the horizontal positions of ``expected`` (steps, inputs, the law's grid or atoms).
        expected: the reference's values at ``x`` (or the law's density / probabilities).
        obtained: the student's values at ``x`` (trajectory, function) or per histogram bin.
        edges: the histogram's bin edges (density, masses), else None.
        wrong: where obtained differs from expected beyond the tolerance (function), else None.
        marks: horizontal positions to mark with a vertical line (the first difference).
        curve_x, curve_y: the reference's curve on a fine grid (function), else None.
        expected_label, obtained_label: the legend's words (the distributions add their std).
    """

    kind: str
    title: str
    xlabel: str
    ylabel: str
    x: np.ndarray
    expected: np.ndarray
    obtained: np.ndarray
    edges: np.ndarray | None = None
    wrong: np.ndarray | None = None
    marks: tuple[float, ...] = ()
    curve_x: np.ndarray | None = None
    curve_y: np.ndarray | None = None
    expected_label: str = EXPECTED
    obtained_label: str = OBTAINED

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"a picture's kind is one of {KINDS}, not {self.kind!r}")
        if len(self.x) != len(self.expected):
            raise ValueError(f"a {self.kind} picture needs x and expected of the same length")
        if self.kind in ("density", "masses"):
            if self.edges is None or len(self.edges) != len(self.obtained) + 1:
                raise ValueError(f"a {self.kind} picture needs one more edge than histogram bins")
        elif len(self.obtained) != len(self.x):
            raise ValueError(f"a {self.kind} picture needs x, expected and obtained of the same length")


__all__ = ["EXPECTED", "KINDS", "OBTAINED", "Picture"]
