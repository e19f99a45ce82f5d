"""Naming the mistake behind a failed check: the catalogue first, then general diagnoses.

When a trial fails, :func:`diagnose` looks for the most specific true statement about the student's
output, in this order (the first stage that applies names the mistake):

1. ``catalogue``: a catalogued :class:`~dlcourse.grading._core.Mistake` reproduces the student's output
   on every observed trial.  Id: the mistake's (``"adam_no_bias_correction"``).
2. ``same_as``: another reference of the same shape (:data:`dlcourse.grading.siblings.SIBLINGS`)
   reproduces every observed trial: "this is RMSProp's update".  Id: ``"same_as:optim.rmsprop"``.
3. ``wrong_default``: called with the reference's default for a hyperparameter the trial left out, the
   student's function agrees: its default differs.  Id: ``"wrong_default:lr"``.
4. ``two at once``: two catalogued mistakes of the same textbook implementation (built as
   ``functools.partial(textbook, **pieces)``, swapping different pieces) reproduce every trial
   together.  Id: ``"first+second"``.
5. ``possibly``: a catalogued mistake or another reference reproduces the failing trial but not every
   trial; said as "Possibly: ...", followed by stage 6's finding if there is one.  Id:
   ``"possibly:"`` + the mistake's.
6. ``ignored``: on the failing trial, changing a hyperparameter (a number among the arguments, or a
   keyword argument) changes the reference's output but not the student's: the argument is ignored or
   hard-coded.  Id: ``"ignored:eps"`` (several: ``"ignored:eps,betas"``).
7. ``structure``: what the failing values look like: a flipped sign (``"sign_flipped"``), one constant
   factor between obtained and expected (``"constant_factor"``), a transposed array (``"transposed"``),
   an extra axis of size 1 (``"keepdims"``), a float32 input answered in float64 (``"float64_out"``),
   or, for trajectories, the first step right and a later one wrong (``"first_step_only"``).

Stages 1, 2, 4 and 5 run trusted code only; stages 3 and 6 call the student's functions again on changed
copies of the failing trial, through the same guarded caller as the check itself.  Nothing here runs
unless a trial has failed, so a passing check pays nothing.  Every statement is tested against the
student's actual output, so the worst a diagnosis can be is absent, never a guess presented as fact.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache, partial
from typing import Any

import numpy as np

from dlcourse.grading._report import FLOAT64_FIX, Mismatch, Tolerance, compare_values, contract_problem


@dataclass(frozen=True)
class Diagnosis:
    """A name for the student's mistake and the sentence that fixes it.

    Attributes:
        id: the mistake's id (see the module docstring for the general ones).
        message: one or two sentences: what is wrong and how to fix it.
        lead: how the sentence is introduced: ``"Likely cause"`` when the statement explains every
            trial, ``"Possibly"`` when it explains only the failing one.
    """

    id: str
    message: str
    lead: str = "Likely cause"

    def line(self) -> str:
        return f"{self.lead}: {self.message}"


@dataclass(frozen=True)
class Failure:
    """What the engine knows when a trial fails; what the diagnoses read.

    ``observed`` holds ``(trial, expected, obtained)`` for every trial the student's functions
    completed (the passing ones, the failing one, and the remaining ones that did not raise).
    ``observe_student(trial)`` observes the student's functions (guarded; None when they fail the
    contract), ``observe_trusted(impl, trial)`` trusted functions in the target's roles (None when
    they raise).
    """

    trial: Any
    expected: dict[str, Any]
    obtained: dict[str, Any]
    mismatch: Mismatch | None
    observed: Sequence[tuple[Any, dict[str, Any], dict[str, Any]]]
    observe_student: Callable[[Any], dict[str, Any] | None]
    observe_trusted: Callable[[tuple[Callable[..., Any], ...], Any], dict[str, Any] | None]
    tolerance: Tolerance


def diagnose(target: Any, failure: Failure) -> Diagnosis | None:
    """The first stage (module docstring) that names the mistake, or None."""
    if failure.mismatch is None and _same(failure.expected, failure.obtained, failure.trial.tolerance or
                                          failure.tolerance):
        return _structure(target, failure)  # the values are right: only the float dtype is not
    candidates = (*target.mistakes, *target.siblings)
    on_failing, agreement = [], []  # each candidate's observation of the failing trial, and its agreement
    for mistake in candidates:  # in the catalogue's order: the first that explains every trial names it
        on_failing.append(failure.observe_trusted(mistake.impl, failure.trial))
        agreement.append(_agreement(mistake, on_failing[-1], failure))
        if agreement[-1] == len(failure.observed):
            return Diagnosis(mistake.name, mistake.message)
    default = _wrong_default(target, failure)
    if default:
        return default
    for first, second in _pairs(target.mistakes):
        both = _combined(first, second)
        seen = failure.observe_trusted(both.impl, failure.trial)
        if _agreement(both, seen, failure) == len(failure.observed):
            return Diagnosis(both.name, f"Two mistakes at once. 1) {first.message} 2) {second.message}")
    arguments = _ignored(target, failure)
    if not any(agreement):
        # a mistake that gives the failing observable (the loss, say) on every trial, though not the
        # others (the gradient): the student made it in one of the two
        key = _failing_key(failure)
        agreement = [int(key is not None and _agreement(mistake, seen, failure, key) == len(failure.observed))
                     for mistake, seen in zip(candidates, on_failing, strict=True)]
    if any(agreement):
        # the mistake that explains the most trials, the first in the catalogue among equals
        best = candidates[max(range(len(candidates)), key=lambda index: (agreement[index], -index))]
        also = f" Also: {arguments.message}" if arguments else ""
        return Diagnosis(f"possibly:{best.name}", best.message + also, lead="Possibly")
    return arguments or _structure(target, failure)


# ------------------------------------------------------------------ catalogue and other references


def _same(expected: dict[str, Any] | None, obtained: dict[str, Any] | None, tolerance: Tolerance) -> bool:
    """Whether two observations agree: the contract, then the values.

    Float arrays are compared whatever their float dtype: a float64 answer to a float32 trial has its
    own diagnosis (``float64_out``), and must not hide which mistake its values make.
    """
    if expected is None or obtained is None or expected.keys() != obtained.keys():
        return False
    obtained = {label: _in_dtype_of(expected[label], value) for label, value in obtained.items()}
    for label, value in expected.items():
        if contract_problem(label, value, obtained[label]):
            return False
    return all(compare_values(label, value, obtained[label], tolerance) is None for label, value in expected.items())


def _in_dtype_of(expected: Any, obtained: Any) -> Any:
    both_float = (isinstance(expected, np.ndarray) and isinstance(obtained, np.ndarray)
                  and np.issubdtype(expected.dtype, np.floating) and np.issubdtype(obtained.dtype, np.floating))
    return obtained.astype(expected.dtype) if both_float else obtained


def _agreement(mistake: Any, on_failing: dict[str, Any] | None, failure: Failure, key: str | None = None) -> int:
    """On how many observed trials ``mistake`` reproduces the student's output (only the observable
    ``key``, if given): 0 unless it reproduces the failing trial (``on_failing``: the mistake's
    observation of it, checked first, so most mistakes cost one trial)."""
    def same(seen: dict[str, Any] | None, obtained: dict[str, Any], tolerance: Tolerance) -> bool:
        if key is None:
            return _same(seen, obtained, tolerance)
        return seen is not None and _same({key: seen.get(key)}, {key: obtained.get(key)}, tolerance)

    if not same(on_failing, failure.obtained, failure.trial.tolerance or failure.tolerance):
        return 0
    return 1 + sum(same(failure.observe_trusted(mistake.impl, trial), obtained, trial.tolerance or failure.tolerance)
                   for trial, _, obtained in failure.observed if trial is not failure.trial)


def _failing_key(failure: Failure) -> str | None:
    """The first observable of the failing trial that does not agree with the reference."""
    tolerance = failure.trial.tolerance or failure.tolerance
    for key, value in failure.expected.items():
        if not _same({key: value}, {key: failure.obtained.get(key)}, tolerance):
            return key
    return None


def _pieces(mistake: Any) -> tuple[Callable[..., Any], dict[str, Any]] | None:
    """(textbook, swapped pieces) of a mistake built as ``functools.partial(textbook, **pieces)``."""
    first = mistake.impl[0]
    return (first.func, first.keywords) if isinstance(first, partial) and not first.args else None


def _pairs(mistakes: Sequence[Any]) -> list[tuple[Any, Any]]:
    """Mistakes of the same textbook implementation that swap different pieces: a student can make both."""
    pairs = []
    for i, first in enumerate(mistakes):
        for second in mistakes[i + 1:]:
            a, b = _pieces(first), _pieces(second)
            if a and b and a[0] is b[0] and first.impl[1:] == second.impl[1:] and not a[1].keys() & b[1].keys():
                pairs.append((first, second))
    return pairs


def _combined(first: Any, second: Any) -> Any:
    """Both mistakes' pieces swapped at once: a mistake with the id ``"first+second"``."""
    (textbook, pieces), (_, more) = _pieces(first), _pieces(second)
    return replace(first, name=f"{first.name}+{second.name}", impl=(partial(textbook, **pieces, **more),
                                                                     *first.impl[1:]))


# ------------------------------------------------------------------ hyperparameters


@cache
def _defaults(reference: tuple[Callable[..., Any], ...]) -> dict[str, Any]:
    """The reference functions' keyword arguments with a number (or a tuple of numbers) as default."""
    found: dict[str, Any] = {}
    for fn in reference:
        try:
            parameters = inspect.signature(fn).parameters.values()
        except (TypeError, ValueError):
            continue
        for parameter in parameters:
            if _numeric(parameter.default):
                found.setdefault(parameter.name, parameter.default)
    return found


def _numeric(value: Any) -> bool:
    if isinstance(value, tuple):
        return bool(value) and all(_numeric(item) for item in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _changed(value: Any) -> list[Any]:
    """Other values to try for a hyperparameter, nearest first: half (or one more, for counts), then
    a thousand times a small value (eps changes the result only when it is not negligible)."""
    if isinstance(value, tuple):
        return [(*value[:i], _changed(single)[0], *value[i + 1:]) for i, single in enumerate(value)]
    if isinstance(value, int):
        return [value + 1]
    if value == 0:
        return [0.1]
    return [0.5 * value] + ([1e3 * value] if abs(value) < 1e-3 else [])


def _hyperparameters(target: Any, trial: Any) -> dict[str, Any]:
    """The hyperparameters of this trial: the numbers among its arguments (``lr`` of a schedule,
    ``clip_value``), the keyword arguments it sets, and the reference's other numeric defaults."""
    positional = dict(trial.args)
    values = {name: value for name, value in positional.items() if _numeric(value)}
    values.update({name: value for name, value in _defaults(tuple(target.reference)).items() if name not in positional})
    values.update({name: value for name, value in trial.kwargs.items() if _numeric(value)})
    return values


def _with_value(trial: Any, name: str, value: Any) -> Any:
    """``trial`` with the argument ``name`` (positional or keyword) set to ``value``."""
    if any(arg == name for arg, _ in trial.args):
        return replace(trial, args=[(arg, value if arg == name else old) for arg, old in trial.args])
    return replace(trial, kwargs={**trial.kwargs, name: value})


def _wrong_default(target: Any, failure: Failure) -> Diagnosis | None:
    """The student's function agrees once a hyperparameter the trial left out is passed explicitly."""
    trial = failure.trial
    for name, default in _defaults(tuple(target.reference)).items():
        if name in trial.kwargs or name in {arg for arg, _ in trial.args}:
            continue
        obtained = failure.observe_student(_with_value(trial, name, default))
        if obtained is not None and _same(failure.expected, obtained, trial.tolerance or failure.tolerance):
            return Diagnosis(f"wrong_default:{name}",
                             f"With {name}={default!r} passed explicitly your function agrees: its default for "
                             f"{name} is wrong. Use {name}={default!r}, the default torch (and the exercise) uses.")
    return None


def _ignored(target: Any, failure: Failure) -> Diagnosis | None:
    """Hyperparameters that change the reference's output but not the student's."""
    trial, tolerance = failure.trial, failure.trial.tolerance or failure.tolerance
    ignored = []
    for name, value in _hyperparameters(target, trial).items():
        for other in _changed(value):
            changed = _with_value(trial, name, other)
            expected = failure.observe_trusted(tuple(target.reference), changed)
            if expected is None or _same(failure.expected, expected, tolerance):
                continue  # this change is invalid or makes no visible difference to the reference
            obtained = failure.observe_student(changed)
            if obtained is not None and _same(failure.obtained, obtained, Tolerance(rtol=0.0, atol_scale=0.0)):
                ignored.append((name, value, other))
            break
    if not ignored:
        return None
    names = ", ".join(name for name, _, _ in ignored)
    name, value, other = ignored[0]
    verb, noun = ("are", "arguments") if len(ignored) > 1 else ("is", "argument")
    return Diagnosis(
        "ignored:" + ",".join(name for name, _, _ in ignored),
        f"Changing {name} from {value!r} to {other!r} changes the reference's result but not yours: "
        f"{names} {verb} ignored or hard-coded in your function. Use the {noun} passed in, not a fixed value.")


# ------------------------------------------------------------------ structure of the failing values


def _structure(target: Any, failure: Failure) -> Diagnosis | None:
    for label, expected in failure.expected.items():
        found = _shape_structure(label, expected, failure.obtained.get(label), failure)
        if found:
            return found
    if failure.mismatch is None:
        return None
    return _factor(failure.mismatch, failure) or _first_step(target, failure.mismatch)


def _shape_structure(label: str, expected: Any, obtained: Any, failure: Failure) -> Diagnosis | None:
    if isinstance(expected, (list, tuple)) and isinstance(obtained, (list, tuple)):  # a list of arrays
        for index, (item, given) in enumerate(zip(expected, obtained)):  # noqa: B905 (lengths checked elsewhere)
            found = _shape_structure(f"{label}[{index}]", item, given, failure)
            if found:
                return found
        return None
    if not (isinstance(expected, np.ndarray) and isinstance(obtained, np.ndarray)):
        return None
    tolerance = failure.trial.tolerance or failure.tolerance
    if expected.dtype == np.float32 and obtained.dtype == np.float64:
        return Diagnosis("float64_out", f"{label} is float64 for a float32 input: float32 in must give float32 out. "
                                        f"{FLOAT64_FIX}")
    extra_axis = (obtained.shape != expected.shape and obtained.size == expected.size and obtained.ndim > expected.ndim
                  and tuple(n for n in obtained.shape if n != 1) == tuple(n for n in expected.shape if n != 1))
    if extra_axis and compare_values(label, expected, obtained.reshape(expected.shape), tolerance) is None:
        return Diagnosis("keepdims", f"the values of {label} are right; only the extra axis of size 1 (from "
                                     f"keepdims=True, or an added axis) is wrong.")
    transposable = expected.ndim == 2 and obtained.shape == expected.shape[::-1] and expected.shape[0] > 1
    if transposable and compare_values(label, expected, np.asarray(obtained, dtype=np.float64).T, tolerance) is None:
        return Diagnosis("transposed", f"the values of {label} are the expected ones transposed: swap the order "
                                       f"of the matrix product, or add or drop a .T.")
    return None


def _known_factor(factor: float, failure: Failure) -> str:
    """Words for a factor: an exact simple number, or one of the trial's sizes."""
    words = {-1.0: "-1", 2.0: "2", 0.5: "1/2", math.sqrt(2): "sqrt(2)", 1 / math.sqrt(2): "1/sqrt(2)"}
    for value, text in words.items():
        if math.isclose(factor, value, rel_tol=1e-6):
            return text
    sizes = sorted({n for _, value in failure.trial.args if isinstance(value, np.ndarray) for n in value.shape
                    if n > 1})
    for n in sizes:
        if math.isclose(factor, n, rel_tol=1e-6):
            return f"{n} (a size of the input: a sum where a mean belongs?)"
        if math.isclose(factor, 1 / n, rel_tol=1e-6):
            return f"1/{n} (one over a size of the input: a mean where a sum belongs?)"
    return f"{factor:.6g}"


def _ratios(label: str, expected: Any, obtained: Any) -> np.ndarray:
    """obtained / expected where both are finite and expected is not ~0 (relative to its largest value)."""
    if not (isinstance(expected, np.ndarray) and isinstance(obtained, np.ndarray)) or expected.shape != obtained.shape:
        return np.empty(0)
    expected, obtained = expected.astype(np.float64), obtained.astype(np.float64)
    finite = np.isfinite(expected)
    scale = np.max(np.abs(expected[finite]), initial=0.0)
    usable = finite & np.isfinite(obtained) & (np.abs(expected) > 1e-6 * scale)
    return obtained[usable] / expected[usable]


def _factor(mismatch: Mismatch, failure: Failure) -> Diagnosis | None:
    """One constant ratio obtained / expected over all values that are not ~0 (at least three of them).

    The ratio is read over every observed trial when the observable is an array in each (a function
    of one small input, such as a single value, still shows a constant factor); a factor that changes
    from trial to trial (one over the batch size) is read on the failing trial alone.
    """
    label = mismatch.label
    pooled = [_ratios(label, expected.get(label), obtained.get(label)) for _, expected, obtained in failure.observed]
    for ratio in (np.concatenate([np.empty(0), *pooled]), _ratios(label, mismatch.expected, mismatch.obtained)):
        if ratio.size < 3:
            continue
        factor = float(np.median(ratio))
        if factor == 0 or abs(factor - 1) < 1e-6 or np.max(np.abs(ratio - factor)) > 1e-6 * abs(factor):
            continue
        # the values near 0 must agree with the factor too
        if compare_values(label, factor * mismatch.expected, mismatch.obtained, failure.tolerance) is not None:
            continue
        if math.isclose(factor, -1.0, rel_tol=1e-9):
            return Diagnosis("sign_flipped", f"{label} is exactly minus the expected value everywhere: a sign is "
                                             f"flipped (a subtraction the wrong way round, or a missing minus).")
        return Diagnosis("constant_factor", f"Every value of {label} is {_known_factor(factor, failure)} times the "
                                            f"expected one: a constant factor is missing or extra (a 1/2, a mean "
                                            f"instead of a sum, a scale such as 1 - p or a bias correction).")
    return None


def _first_step(target: Any, mismatch: Mismatch) -> Diagnosis | None:
    """A trajectory whose first step agrees and a later one does not: the state between steps is wrong."""
    first = target.first_step_row
    if first is None or not mismatch.first_index or mismatch.first_index[0] <= first:
        return None
    step = mismatch.first_index[0] - first + 1
    return Diagnosis("first_step_only", f"The first step agrees with the reference and step {step} does not: what "
                                        f"is carried from one step to the next (the state: buffers, running averages, "
                                        f"the step count) is updated or stored wrongly. Check what the step returns "
                                        f"as the new state.", lead="Look at")
