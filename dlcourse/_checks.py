"""Input validation shared by every reference module.

The reference library is also the answer key, so bad input must fail loudly
with a message that names the argument, what was expected, what was given and
how to fix it -- never broadcast silently into a wrong answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "as_float_array",
    "check_choice",
    "check_int",
    "check_range",
    "check_rng",
    "check_same_length",
    "check_same_shape",
    "check_shape2d",
]


def as_float_array(x: Any, name: str) -> np.ndarray:
    """Return ``x`` as a floating-point ndarray, or raise ``TypeError``.

    Python scalars and lists are converted to float64.  A numpy array must
    already have a floating dtype: an integer or boolean array usually means
    the caller forgot a conversion (``np.arange(3)`` as a parameter vector),
    and silently promoting it would hide that.

    Example:
        >>> as_float_array([1, 2], "theta")
        array([1., 2.])
        >>> as_float_array(np.arange(3, dtype=np.int64), "theta")
        Traceback (most recent call last):
            ...
        TypeError: theta must be a floating-point array, got dtype int64 with shape (3,); ...
    """
    if isinstance(x, np.ndarray):
        if x.dtype.kind != "f":  # np.issubdtype(x.dtype, np.floating), without its cost on every call
            raise TypeError(
                f"{name} must be a floating-point array, got dtype {x.dtype} "
                f"with shape {x.shape}; convert it with {name}.astype(np.float64)"
            )
        return x
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be a number or a floating-point array, got bool {x!r}")
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name} must be a floating-point array (or a number), got {type(x).__name__}"
        ) from exc
    return arr


def check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have exactly the same shape.

    Used where numpy would broadcast (a grad of shape (n, 1) against theta of
    shape (n,) gives an (n, n) "update" that looks plausible and is wrong).

    Example:
        >>> check_same_shape(np.zeros(3), np.zeros((3, 1)), "theta", "grad")
        Traceback (most recent call last):
            ...
        ValueError: grad must have the same shape as theta: theta has shape (3,) but grad has shape (3, 1); ...
    """
    if np.shape(a) != np.shape(b):
        raise ValueError(
            f"{name_b} must have the same shape as {name_a}: {name_a} has shape "
            f"{np.shape(a)} but {name_b} has shape {np.shape(b)}; numpy would "
            f"broadcast them into a wrong answer, so reshape {name_b} to {np.shape(a)}"
        )


def check_same_length(X: np.ndarray, y: np.ndarray) -> None:
    """Raise ``ValueError`` unless X and y hold the same number of examples (first axis).

    Used by the data functions that take a dataset as two arrays: a label
    per row of X.

    Example:
        >>> check_same_length(np.zeros((4, 2)), np.zeros(3))
        Traceback (most recent call last):
            ...
        ValueError: X and y must have the same number of examples (first axis): X has shape (4, 2) but ...
    """
    if X.ndim == 0 or y.ndim == 0 or len(X) != len(y):
        raise ValueError(
            f"X and y must have the same number of examples (first axis): X has shape "
            f"{X.shape} but y has shape {y.shape}; pass one label per row of X"
        )


def check_rng(rng: Any, name: str = "rng") -> np.random.Generator:
    """Raise ``TypeError`` unless ``rng`` is a ``numpy.random.Generator``.

    Example:
        >>> check_rng(42)
        Traceback (most recent call last):
            ...
        TypeError: rng must be a numpy.random.Generator (for example np.random.default_rng(0)), got int
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{name} must be a numpy.random.Generator (for example "
            f"np.random.default_rng(0)), got {type(rng).__name__}"
        )
    return rng


def check_range(
    value: Any,
    name: str,
    low: float | None = None,
    high: float | None = None,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Return ``value`` as a float after checking ``low <= value <= high``.

    Either bound may be ``None`` (unbounded) or exclusive.

    Example:
        >>> check_range(0.9, "beta1", 0.0, 1.0, high_inclusive=False)
        0.9
        >>> check_range(1.0, "beta1", 0.0, 1.0, high_inclusive=False)
        Traceback (most recent call last):
            ...
        ValueError: beta1 must be in [0, 1), got 1.0
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    v = float(value)
    ok = np.isfinite(v)
    if low is not None:
        ok = ok and (v >= low if low_inclusive else v > low)
    if high is not None:
        ok = ok and (v <= high if high_inclusive else v < high)
    if not ok:
        left = "(-inf" if low is None else ("[" if low_inclusive else "(") + f"{low:g}"
        right = "inf)" if high is None else f"{high:g}" + ("]" if high_inclusive else ")")
        raise ValueError(f"{name} must be in {left}, {right}, got {value!r}")
    return v


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``.

    Example:
        >>> check_choice("fan_in", "mode", ("fan_in", "fan_out"))
        'fan_in'
        >>> check_choice("fan_avg", "mode", ("fan_in", "fan_out"))
        Traceback (most recent call last):
            ...
        ValueError: mode must be one of 'fan_in', 'fan_out'; got 'fan_avg'
    """
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {options}; got {value!r}")
    return value


def check_shape2d(shape: Any, name: str = "shape") -> tuple[int, int]:
    """Validate a ``(fan_in, fan_out)`` weight shape of positive integers.

    Example:
        >>> check_shape2d([784, 100])
        (784, 100)
    """
    if (
        not isinstance(shape, (tuple, list))
        or len(shape) != 2
        or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in shape)
    ):
        raise ValueError(
            f"{name} must be a pair of positive integers (fan_in, fan_out), got {shape!r}"
        )
    return int(shape[0]), int(shape[1])


def check_int(value: Any, name: str, low: int) -> int:
    """Return ``value`` as an int after checking it is an integer ``>= low``.

    Floats are refused even when whole (``2.0``): a count or a size given as a
    float is usually a computed value that should have been rounded on purpose.

    Example:
        >>> check_int(32, "batch_size", 1)
        32
        >>> check_int(32.0, "batch_size", 1)
        Traceback (most recent call last):
            ...
        ValueError: batch_size must be an integer >= 1, got 32.0
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)
