"""Implementations written the way students write them, to measure the checks' feedback.

Independent of the mistake catalogue (``dlcourse.grading.topics``): nothing here is built from the
catalogue's pieces.  Each topic module (listed in :data:`TOPIC_MODULES`) declares

* ``WRONG``: a list of :class:`Wrong`, an implementation with one or more mistakes and the diagnosis ids
  that describe it correctly (a catalogued mistake's id such as ``"adam_no_bias_correction"``, or one of the
  general diagnoses: ``"ignored:eps"``, ``"same_as:optim.rmsprop"``, ``"sign_flipped"``, ...);
* ``CORRECT``: a list of :class:`Correct`, another way of writing a correct implementation.

:func:`evaluate` runs one entry through the visible checks, then (if they pass) the hidden ones, and says
whether it was rejected and with which diagnosis.  ``tests/grading/test_corpus.py`` asserts that no
correct entry is rejected, no wrong entry is accepted and no wrong entry gets a name outside its
``names``; ``benchmarks/bench_feedback.py`` prints the rates per topic.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from dlcourse.grading import GradingError, check

# the corpus's topic modules, by name (tests/corpus/NAME.py)
TOPIC_MODULES = ("optim", "schedules", "activations", "init", "dropout", "norm", "losses", "layers", "backprop",
                 "regularization")


@dataclass(frozen=True)
class Wrong:
    """A wrong implementation and the diagnosis ids that name its mistake correctly."""

    target: str
    """the ``against=`` name, e.g. ``"optim.adam"``"""
    functions: tuple[Callable, ...]
    """the student's functions in the target's order"""
    names: frozenset[str]
    """diagnosis ids that describe the mistake; "possibly:ID" counts as ID"""
    what: str
    """the mistake in a few words, as a teaching assistant would say it"""


@dataclass(frozen=True)
class Correct:
    """A correct implementation written differently from the reference."""

    target: str
    functions: tuple[Callable, ...]
    what: str


@dataclass(frozen=True)
class Outcome:
    """What the checks did with one entry."""

    rejected: bool
    diagnosis: str | None
    """the ``GradingError.mistake`` id, None when rejected without a name (or accepted)"""
    hidden: bool
    """whether the rejection came from the hidden checks (the visible ones passed)"""
    message: str


def evaluate(functions: tuple[Callable, ...], target: str) -> Outcome:
    """Visible checks, then hidden ones; the first failure's diagnosis."""
    for hidden in (False, True):
        try:
            check(*functions, against=target, hidden=hidden, quiet=True)
        except GradingError as error:
            return Outcome(True, error.mistake, hidden, str(error))
    return Outcome(False, None, False, "")


def named_correctly(entry: Wrong, outcome: Outcome) -> bool:
    """The diagnosis is one of the entry's names.

    "possibly:ID" is ID said with less certainty; "ignored:a,b" names each of a and b as ignored
    (every one of them verified), so it is correct when one of them is among the names; "a+b" (two
    mistakes at once) is correct when both are.
    """
    if outcome.diagnosis is None:
        return False
    diagnosis = outcome.diagnosis.removeprefix("possibly:")
    if "+" in diagnosis:
        return all(part in entry.names for part in diagnosis.split("+"))
    if diagnosis.startswith("ignored:"):
        return any(f"ignored:{name}" in entry.names for name in diagnosis.removeprefix("ignored:").split(","))
    return diagnosis in entry.names


def load(topic: str) -> tuple[list[Wrong], list[Correct]]:
    module = importlib.import_module(f"corpus.{topic}")
    return module.WRONG, module.CORRECT
