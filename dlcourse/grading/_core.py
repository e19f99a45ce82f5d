"""The check engine: seeded trials, student vs reference, feedback, diagnosis.

A :class:`Target` describes one thing students implement: the reference
function(s), how to generate trials, and how to turn calls into
*observables* (the values that are compared).  :func:`run_check` runs every
trial through the reference and through the student's functions (each call
guarded: pure, no forbidden code, time limit), checks the contract and then
the values, and on the first failing trial raises :class:`GradingError` with
feedback.  The feedback ends with a diagnosis when the student's output
matches one of the target's catalogued :class:`Mistake` variants, and the
error carries a :class:`~dlcourse.grading._picture.Picture` of the failing
trial when the target has a ``picture`` builder.
"""

from __future__ import annotations

import copy
import time
import warnings
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from dlcourse.grading._diagnosis import Failure, diagnose
from dlcourse.grading._guard import DEFAULT_FORBIDDEN, guarded_call
from dlcourse.grading._picture import Picture
from dlcourse.grading._report import (
    GradingError,
    Mismatch,
    Tolerance,
    compare_values,
    contract_problem,
    describe_value,
    largest_relative_error,
)

HIDDEN_SEED_OFFSET = 1_000_003


@dataclass
class Trial:
    """One set of inputs.

    ``args`` are the named positional inputs of the first call (shown in
    feedback), ``kwargs`` the hyperparameters, ``extra`` anything else the
    target's ``observe`` needs (a sequence of gradients, a number of steps).
    """

    label: str
    args: list[tuple[str, Any]] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    tolerance: Tolerance | None = None  # overrides the target's (float32 trials)

    def describe(self) -> str:
        parts = [f"{name} = {describe_value(value)}" for name, value in self.args]
        parts += [f"{name}={describe_value(value)}" for name, value in self.kwargs.items()]
        return "; ".join(parts)


@dataclass
class Mistake:
    """A known wrong variant of a reference and the sentence that fixes it.

    ``impl`` has the same roles as the student's functions (for an optimizer,
    ``(step, init)``); ``message`` is one plain sentence naming the mistake
    and the fix.
    """

    name: str
    message: str
    impl: tuple[Callable[..., Any], ...]


class Caller:
    """Calls one implementation's functions by role; guarded for student code."""

    def __init__(self, functions: Sequence[Callable[..., Any]], roles: Sequence[str], target: Target | None) -> None:
        self.functions = dict(zip(roles, functions, strict=True))
        self.target = target  # None for trusted code (reference, catalogued mistakes)

    def __call__(self, role: str, args: Sequence[tuple[str, Any]] = (), kwargs: dict[str, Any] | None = None) -> Any:
        fn = self.functions[role]
        if self.target is None:
            return fn(*(value for _, value in args), **(kwargs or {}))
        return guarded_call(
            fn,
            role,
            args,
            kwargs,
            pure=self.target.pure,
            forbidden=self.target.forbidden,
            allowed=self.target.allowed,
            time_limit=self.target.time_limit,
        )

    @property
    def trusted(self) -> bool:
        return self.target is None


Observe = Callable[[Caller, Trial], dict[str, Any]]
# picture(trial, problem, student) -> the figure's data, or None: see Target.picture
PictureBuilder = Callable[[Trial, Mismatch | str, Caller], Picture | None]


@dataclass
class Target:
    """One gradable thing: reference, trials, observables and known mistakes.

    Attributes:
        name: the ``against=`` name, e.g. ``"optim.adam"``.
        roles: the student's functions in the order ``check`` receives them,
            e.g. ``("adam_step", "adam_init")``.
        reference: the reference functions, in the same roles.
        trials: ``trials(rng, hidden) -> list[Trial]``; visible mode is a
            few fast trials, hidden mode more trials from other seeds.
        observe: ``observe(call, trial) -> {label: value}``; ``call(role,
            args, kwargs)`` calls the implementation under test.
        mistakes: the catalogue of known wrong variants.
        tolerance: how close values must be.
        what: a few words for the success line ("25-step trajectories").
        pure: whether the functions must leave their inputs untouched.
        forbidden, allowed: module prefixes the student's code may not / may
            reach while it runs.
        time_limit: seconds per call.
        siblings: other references of the same shape as catalogued mistakes
            (``same_as:NAME``), attached by the registry from
            :data:`dlcourse.grading.siblings.SIBLINGS`.
        first_step_row: for trajectories, the row of the observables that
            holds the first step's result (None: not a trajectory); a first
            wrong value in a later row is diagnosed ``first_step_only``.
        picture: ``picture(trial, problem, student) -> Picture | None``,
            called once when a trial's observables disagree with the
            reference (never on a passing trial): the data of one small
            figure of that failure, drawn in a notebook under the feedback.
            ``trial`` is a copy of the failing trial; ``problem`` the first
            wrong observable as a ``Mismatch`` (expected and obtained in
            full), or the contract problem's text (a wrong flag, a shape),
            for which most builders return None; ``student`` calls the
            student's functions again, guarded, for a target whose
            observables are statistics (the draws behind them).  None: no
            figure (most targets).  ``grading/topics/_pictures.py`` has the
            shared builders.
    """

    name: str
    roles: tuple[str, ...]
    reference: tuple[Callable[..., Any], ...]
    trials: Callable[[np.random.Generator, bool], list[Trial]]
    observe: Observe
    mistakes: tuple[Mistake, ...] = ()
    tolerance: Tolerance = field(default_factory=Tolerance)
    what: str = ""
    pure: bool = True
    forbidden: tuple[str, ...] = DEFAULT_FORBIDDEN
    allowed: tuple[str, ...] = ()
    time_limit: float = 10.0
    siblings: tuple[Mistake, ...] = ()
    first_step_row: int | None = None
    picture: PictureBuilder | None = None
    # hidden -> (trials, the reference's observations so far): see _reference_run.  Not copied by
    # dataclasses.replace, so a target changed in a test never reuses another's observations.
    _reference_runs: dict[bool, tuple[list[Trial], list[dict[str, Any]]]] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for mistake in self.mistakes:
            if len(mistake.impl) != len(self.roles):
                raise ValueError(f"mistake {mistake.name!r} of {self.name} must give {len(self.roles)} functions")


def seed_for(name: str, hidden: bool) -> int:
    """A stable seed per target; hidden mode draws from other seeds."""
    return zlib.crc32(name.encode()) + (HIDDEN_SEED_OFFSET if hidden else 0)


def _quietly(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` for trusted code that may overflow on purpose (a naive softmax), without warnings."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return fn(*args)


def _first_problem(expected: dict[str, Any], obtained: dict[str, Any], tol: Tolerance) -> tuple[str, Any]:
    """``("contract", text)`` or ``("values", Mismatch)`` for the first failing observable, or ``("", None)``."""
    for label, value in expected.items():
        problem = contract_problem(label, value, obtained.get(label))
        if problem:
            return "contract", problem
    for label, value in expected.items():
        mismatch = compare_values(label, value, obtained[label], tol)
        if mismatch:
            return "values", mismatch
    return "", None


def _observe_or_none(target: Target, student: Caller, trial: Trial) -> dict[str, Any] | None:
    """The student's observation of ``trial``, None when the student's code fails the contract on it."""
    try:
        return target.observe(student, copy.deepcopy(trial))
    except GradingError:
        return None


def _observe_trusted(target: Target, impl: tuple[Callable[..., Any], ...], trial: Trial) -> dict[str, Any] | None:
    """The observation of trusted functions (a mistake, another reference), None where they raise."""
    try:
        return _quietly(target.observe, Caller(impl, target.roles, None), copy.deepcopy(trial))
    except Exception:  # a variant may be undefined on some inputs
        return None


def _observe_rest(target: Target, student: Caller, trials: Sequence[Trial], first: int,
                  expectations: Callable[[int], dict[str, Any]]) -> list[tuple[Trial, dict[str, Any], dict[str, Any]]]:
    """(trial, expected, obtained) for the remaining trials (numbered from ``first``), skipping those the
    student's code fails outright."""
    observed = []
    for index, trial in enumerate(trials, first):
        try:
            obtained = target.observe(student, copy.deepcopy(trial))
        except GradingError:
            continue
        observed.append((trial, expectations(index), obtained))
    return observed


def _picture_for(target: Target, trial: Trial, problem: Mismatch | str, student: Caller) -> Picture | None:
    """The target's picture of the failing trial, or None: no builder, or one that declined or failed
    (a picture must never hide the feedback, so any exception in it is dropped)."""
    if target.picture is None:
        return None
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return target.picture(copy.deepcopy(trial), problem, student)
    except Exception:
        return None


def _reference_run(target: Target, hidden: bool) -> tuple[list[Trial], Callable[[int], dict[str, Any]]]:
    """The target's trials and, trial by trial, the reference's observations: computed once per process.

    Trials come from a fixed seed and the reference is deterministic, so
    every student (and every re-run of a check in a notebook) is judged
    against the same observations; a class of 300 pays for them once per
    grading process.  Observations are computed lazily, since a failing
    student stops at the first failing trial.  They are kept on the target
    object itself, so a target built anew (in tests) starts afresh.
    """
    if hidden not in target._reference_runs:
        trials = target.trials(np.random.default_rng(seed_for(target.name, hidden)), hidden)
        target._reference_runs[hidden] = (trials, [])
    trials, observations = target._reference_runs[hidden]
    reference = Caller(target.reference, target.roles, None)

    def expected(index: int) -> dict[str, Any]:
        while len(observations) <= index:
            observations.append(_quietly(target.observe, reference, copy.deepcopy(trials[len(observations)])))
        return observations[index]

    return trials, expected


def run_check(target: Target, functions: Sequence[Any], hidden: bool = False) -> str:
    """Check ``functions`` against ``target``; return the success line or raise GradingError.

    The GradingError's ``mistake`` is the id of the catalogued mistake the
    student's outputs reproduce (its sentence ends the message), else None.
    """
    names = " and ".join(target.roles)
    if len(functions) != len(target.roles):
        raise GradingError(
            f"check(..., against={target.name!r}) needs {len(target.roles)} function(s), {names}, "
            f"in that order; it was given {len(functions)}"
        )
    for role, fn in zip(target.roles, functions, strict=True):
        if not callable(fn):
            raise GradingError(
                f"{role} should be a function (or, for a gate, a class), but it is {type(fn).__name__} {fn!r}"
            )
    mode = "hidden" if hidden else "visible"
    trials, expectations = _reference_run(target, hidden)
    student = Caller(functions, target.roles, target)
    worst = 0.0
    observed: list[tuple[Trial, dict[str, Any], dict[str, Any]]] = []
    start = time.perf_counter()
    for number, trial in enumerate(trials, 1):
        header = f"{names}: trial {number} of {len(trials)} ({mode} checks) failed: {trial.label}."
        # every implementation gets its own copy (and its own copy of any rng in it)
        expected = expectations(number - 1)
        try:
            obtained = target.observe(student, copy.deepcopy(trial))
        except GradingError as error:
            raise GradingError(f"{header}\n  inputs: {trial.describe()}\n{error}", mistake=error.mistake) from None
        kind, problem = _first_problem(expected, obtained, trial.tolerance or target.tolerance)
        observed.append((trial, expected, obtained))
        if not kind:
            worst = max(worst, max(largest_relative_error(expected[k], obtained[k]) for k in expected))
            continue
        detail = problem if kind == "contract" else problem.describe()
        picture = _picture_for(target, trial, problem, student)
        message = f"{header}\n  inputs: {trial.describe()}\n  {detail}"
        failure = Failure(
            trial=trial, expected=expected, obtained=obtained, mismatch=problem if kind == "values" else None,
            observed=observed + _observe_rest(target, student, trials[number:], number, expectations),
            observe_student=partial(_observe_or_none, target, student),
            observe_trusted=partial(_observe_trusted, target), tolerance=target.tolerance)
        diagnosis = diagnose(target, failure)
        if diagnosis is None:
            raise GradingError(message, picture=picture)
        raise GradingError(f"{message}\n{diagnosis.line()}", mistake=diagnosis.id, picture=picture)
    seconds = time.perf_counter() - start
    what = f" {target.what}" if target.what else ""
    return (
        f"OK {names}: {len(trials)} {mode} trials{what} agree with the reference "
        f"(largest relative error {worst:.1e}, {seconds:.2f} s)"
    )
