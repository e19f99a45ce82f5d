"""Comparing a student's results with the reference, and saying what differs.

A check compares *observables*: a dict ``{label: value}`` that a target
computes from the returned values (for an optimizer, ``theta`` after every
step).  First the contract (same structure, shapes, a float dtype, finite
values where the reference is finite), then the values with a tolerance
``|obtained - expected| <= atol + rtol * |expected|`` elementwise, where
``atol = atol_scale * max|expected|`` so that the test is relative to the
size of the numbers involved (tiny and huge inputs are judged alike).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from dlcourse.grading._picture import Picture


class GradingError(AssertionError):
    """A check failed; the message is the feedback for the student.

    An ``AssertionError``, so an nbgrader test cell that raises it scores zero.

    Attributes:
        mistake: the id of the catalogued mistake the student's output
            reproduces (``"adam_no_bias_correction"``), the one whose sentence
            ends the message as ``Likely cause: ...``; None when no catalogued
            mistake matches or the check failed before comparing values.
            Tests assert this id rather than the sentence, which may be reworded.
        picture: the data of one small figure of the failing trial
            (:class:`~dlcourse.grading._picture.Picture`: a trajectory, a
            function's curve, a histogram of random draws), or None when the
            target has none or the check failed before comparing values.  A
            notebook draws it under the feedback; text outputs ignore it.
    """

    def __init__(self, message: str = "", *, mistake: str | None = None, picture: Picture | None = None) -> None:
        super().__init__(message)
        self.mistake = mistake
        self.picture = picture

    def __reduce__(self) -> tuple[Any, ...]:
        # keep the id and the picture when the error crosses a process boundary (pickle passes only args by default)
        return _rebuild_grading_error, (str(self), self.mistake, self.picture)


def _rebuild_grading_error(message: str, mistake: str | None, picture: Picture | None = None) -> GradingError:
    return GradingError(message, mistake=mistake, picture=picture)


# Why a float32 input gave a float64 result, and the fix (NumPy 2's promotion rules).
FLOAT64_FIX = ("A float64 array (np.zeros(shape) without dtype, .astype(float)) or a numpy float64 scalar "
               "(np.float64(...), np.sqrt of a number) promotes a float32 result to float64, while Python floats "
               "do not: make arrays with np.zeros_like(x) and scalars with math.sqrt or ** 0.5.")


@dataclass(frozen=True)
class Tolerance:
    """Elementwise ``|obtained - expected| <= atol_scale * max|expected| + rtol * |expected|``."""

    rtol: float = 1e-6
    atol_scale: float = 1e-9

    def describe(self, scale: float) -> str:
        return f"|obtained - expected| <= {self.atol_scale * scale:.1e} + {self.rtol:.0e} * |expected|"


def describe_value(value: Any, limit: int = 6) -> str:
    """Short description: small arrays in full, large ones by shape and range."""
    if isinstance(value, np.ndarray):
        if value.size <= limit:
            return np.array2string(value, precision=6, separator=", ").replace("\n", "")
        finite = value[np.isfinite(value)] if np.issubdtype(value.dtype, np.number) else value
        if np.issubdtype(value.dtype, np.number) and finite.size:
            return f"array of shape {value.shape}, {value.dtype}, values in [{finite.min():.3g}, {finite.max():.3g}]"
        return f"array of shape {value.shape}, {value.dtype}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {describe_value(v, limit)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)) and len(value) > limit:
        return f"{type(value).__name__} of {len(value)} items"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(describe_value(v, limit) for v in value)
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)


def _kind(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return f"a {type(value).__name__}"


def contract_problem(label: str, expected: Any, obtained: Any) -> str | None:
    """Why ``obtained`` cannot be compared with ``expected``, or None.

    A wrong shape names its likely cause: axes of size 1 left by ``keepdims=True`` ((1, 4) for (4,)),
    a transposed matrix ((5, 3) for (3, 5)), or broadcasting (another size).
    """

    def shape_hint(got: tuple[int, ...], want: tuple[int, ...]) -> str:
        # extra: the axes of size 1 of `got` whose removal leaves `want` (matching greedily is enough: an axis
        # of size 1 that could match is as good as an extra one)
        extra: list[int] = []
        matched = 0
        for axis, size in enumerate(got):
            if matched < len(want) and size == want[matched]:
                matched += 1
            elif size == 1:
                extra.append(axis)
            else:
                matched = -1  # an axis that is neither expected nor of size 1
                break
        if extra and matched == len(want):
            if len(extra) > 1:
                return (f": keepdims=True (or an added axis) left {len(extra)} axes of size 1: drop keepdims or "
                        f"reshape to {want}")
            where = ("a leading axis" if extra[0] == 0 else "a trailing axis" if extra[0] == len(got) - 1
                     else f"axis {extra[0]}")
            return f": sum(axis={extra[0]}, keepdims=True) keeps {where} of size 1: drop keepdims or reshape"
        if len(got) == 2 and got == want[::-1]:
            return ": transposed? (check the order of the matrix product / .T)"
        if int(np.prod(got)) != int(np.prod(want)):
            return " (numpy broadcasting may have added an axis: check keepdims and the shapes you add)"
        return ""

    if isinstance(expected, np.ndarray):
        if isinstance(obtained, (int, float, np.number)) and not isinstance(obtained, bool) and expected.shape == ():
            obtained = np.asarray(obtained)
        if not isinstance(obtained, np.ndarray):
            return f"{label} should be a numpy array of shape {expected.shape}, but it is {_kind(obtained)}"
        if obtained.shape != expected.shape:
            return f"{label} has shape {obtained.shape} but should have shape {expected.shape}" + shape_hint(
                obtained.shape, expected.shape)
        if np.issubdtype(expected.dtype, np.floating) and not np.issubdtype(obtained.dtype, np.floating):
            return (f"{label} has dtype {obtained.dtype} but should be a floating-point array "
                    f"(integer division or an int array?)")
        if np.issubdtype(expected.dtype, np.integer) and not np.issubdtype(obtained.dtype, np.integer):
            return f"{label} has dtype {obtained.dtype} but should hold integers"
        if expected.dtype == np.float32 and obtained.dtype != np.float32:
            # The exercises' rule, as torch keeps a tensor's dtype: float32 in, float32 out.
            return f"{label} has dtype {obtained.dtype} but should be float32, like the input (float32 in, float32 out)"
        if np.issubdtype(obtained.dtype, np.floating):
            bad = ~np.isfinite(obtained) & np.isfinite(expected)
            if bad.any():
                index = tuple(int(i) for i in np.argwhere(bad)[0])
                return (
                    f"{label} contains {obtained[index]} at index {index} where the reference is finite "
                    f"({expected[index]:.6g}): look for an overflow (exp of a large number), a division by "
                    f"zero or a log of 0"
                )
        return None
    if isinstance(expected, (float, int, np.number)) and not isinstance(expected, bool):
        if isinstance(obtained, np.ndarray) and obtained.size == 1:
            obtained = obtained.reshape(())[()]
        if isinstance(obtained, bool) or not isinstance(obtained, (float, int, np.number)):
            return f"{label} should be a number, but it is {_kind(obtained)}"
        if np.isfinite(expected) and not np.isfinite(obtained):
            return f"{label} is {obtained} where the reference gives {expected:.6g}: look for an overflow or a log of 0"
        return None
    if isinstance(expected, (tuple, list)):
        if not isinstance(obtained, (tuple, list)) or len(obtained) != len(expected):
            n = len(obtained) if isinstance(obtained, (tuple, list)) else 1
            return f"{label} should be {len(expected)} values, but there are {n} ({_kind(obtained)})"
        for index, (e, o) in enumerate(zip(expected, obtained, strict=True)):
            problem = contract_problem(f"{label}[{index}]", e, o)
            if problem:
                return problem
        return None
    if obtained != expected:
        return f"{label} should be {expected!r}, got {obtained!r}"
    return None


@dataclass
class Mismatch:
    label: str
    expected: np.ndarray
    obtained: np.ndarray
    first_index: tuple[int, ...]
    max_abs: float
    max_abs_index: tuple[int, ...]
    max_rel: float
    max_rel_index: tuple[int, ...]
    tolerance: str

    def describe(self) -> str:
        def at(index: tuple[int, ...]) -> str:
            return f" at index {index}" if index else ""

        e, o = self.expected[self.first_index], self.obtained[self.first_index]
        if self.max_rel > 0:
            relative = f"largest relative error {self.max_rel:.3g}{at(self.max_rel_index)}"
        else:
            relative = "no relative error (every wrong value should be 0)"
        return (
            f"{self.label}: first wrong value{at(self.first_index)}\n"
            f"    expected {e: .10g}\n"
            f"    obtained {o: .10g}\n"
            f"  largest absolute error {self.max_abs:.3g}{at(self.max_abs_index)}, {relative}\n"
            f"  tolerance: {self.tolerance}"
        )


def compare_values(label: str, expected: Any, obtained: Any, tol: Tolerance) -> Mismatch | None:
    """The first value outside the tolerance, or None when all agree."""
    if isinstance(expected, (tuple, list)):
        for index, (e, o) in enumerate(zip(expected, obtained, strict=True)):
            found = compare_values(f"{label}[{index}]", e, o, tol)
            if found:
                return found
        return None
    expected = np.asarray(expected, dtype=np.float64)
    obtained = np.asarray(obtained, dtype=np.float64).reshape(expected.shape)
    finite = np.isfinite(expected)
    scale = float(np.max(np.abs(expected[finite]))) if finite.any() else 0.0
    limit = tol.atol_scale * scale + tol.rtol * np.abs(expected)
    with np.errstate(invalid="ignore"):
        error = np.abs(obtained - expected)
        # matching infinities (and nan where the reference is nan) agree
        same_special = (~finite) & ((obtained == expected) | (np.isnan(expected) & np.isnan(obtained)))
        bad = ~((error <= limit) | same_special)
    if not bad.any():
        return None
    error = np.where(finite, error, 0.0)
    # relative to |expected| where that is non-zero (a relative error against 0 means nothing)
    nonzero = finite & (expected != 0)
    relative = np.where(nonzero, error / np.where(nonzero, np.abs(expected), 1.0), 0.0)

    def index_of(flat: int) -> tuple[int, ...]:
        return tuple(int(i) for i in np.unravel_index(flat, expected.shape))

    return Mismatch(
        label=label,
        expected=expected,
        obtained=obtained,
        first_index=index_of(int(np.flatnonzero(bad)[0])),
        max_abs=float(error.max()),
        max_abs_index=index_of(int(error.argmax())),
        max_rel=float(relative.max()),
        max_rel_index=index_of(int(relative.argmax())),
        tolerance=tol.describe(scale),
    )


def largest_relative_error(expected: Any, obtained: Any) -> float:
    """max |obtained - expected| / max|expected| over all observables (for the success line)."""
    if isinstance(expected, (tuple, list)):
        return max((largest_relative_error(e, o) for e, o in zip(expected, obtained, strict=True)), default=0.0)
    expected = np.asarray(expected, dtype=np.float64)
    obtained = np.asarray(obtained, dtype=np.float64).reshape(expected.shape)
    finite = np.isfinite(expected)
    if not finite.any():
        return 0.0
    scale = max(float(np.max(np.abs(expected[finite]))), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(obtained[finite] - expected[finite]))) / scale
