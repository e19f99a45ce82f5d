"""Autograding checks: a student's implementation against the reference.

A test cell is one line::

    from dlcourse.grading import check
    check(adam_step, adam_init, against="optim.adam")               # visible tests
    check(adam_step, adam_init, against="optim.adam", hidden=True)  # hidden tests

Each check runs seeded random trials through the reference in ``dlcourse``
and through the student's functions, first checking the contract (callable,
number and kind of return values, shapes, float dtype, finite values), then
the values with a documented tolerance.  Passing prints one line; failing
raises :class:`GradingError` (an ``AssertionError``, so the nbgrader cell
scores zero) whose message shows the first failing trial and, when the
output matches a known mistake, one sentence naming it and the fix.

Integrity: the student's functions must not modify their inputs, must not
reach the reference or torch while they run (watched as code runs, so
aliases are caught), and are stopped after a time limit.

``targets()`` lists every ``against=`` name.  A trained model is checked by
its accuracy on a fixed held-out split of the digits (``digits_split()``)::

    check_accuracy(predict, threshold=0.95)

and the conclusions read off the plot of ``dlcourse.experiments.layer_spread``
by ``check_spread_conclusions(conclusions)``.
"""

from __future__ import annotations

from typing import Any

from dlcourse.grading import _display
from dlcourse.grading._core import Mistake, Target, Trial, run_check
from dlcourse.grading._report import GradingError, Tolerance
from dlcourse.grading.registry import get_target, targets
from dlcourse.grading.topics.experiments import check_spread_conclusions
from dlcourse.grading.topics.model import check_accuracy
from dlcourse.training import digits_split

__all__ = [
    "GradingError",
    "Mistake",
    "Target",
    "Tolerance",
    "Trial",
    "check",
    "check_accuracy",
    "check_spread_conclusions",
    "digits_split",
    "get_target",
    "targets",
]

# In a notebook, a failed check shows its feedback, not a traceback through dlcourse (see _display).
_display.install()


def check(*functions: Any, against: str, hidden: bool = False, quiet: bool = False) -> str | None:
    """Check the student's ``functions`` against the reference named ``against``.

    Args:
        functions: the student's function(s), in the order the target names
            them (``targets()`` and the exercise say which).
        against: the target, e.g. ``"optim.adam"``, ``"activations.relu"``.
        hidden: run the thorough hidden trials (other seeds, more cases).
        quiet: return the success line instead of printing it.

    Returns:
        None (the success line is printed, so a notebook shows it once), or
        the success line when ``quiet``.

    Raises:
        GradingError: with feedback, on the first failing trial.
    """
    line = run_check(get_target(against), functions, hidden=hidden)
    if quiet:
        return line
    print(line)
    return None
