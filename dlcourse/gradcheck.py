"""Numerical gradient checking: central differences and the relative error.

Backprop code is easy to get subtly wrong (a missing transpose, a gradient
that is not summed over two paths).  The check: perturb one input coordinate
at a time, measure how much a scalar loss changes, and compare that slope with
the analytic gradient using a *relative* error, so the verdict does not depend
on the scale of the numbers.

Sources: Georgia Tech CS 4644/7643 'Optimization' (gradient checking as the
test of a backward pass); VU Amsterdam DLVU lecture 4 'Tools of the trade'
(debugging: check your gradients).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from dlcourse._checks import as_float_array, check_range, check_same_shape

__all__ = [
    "REL_ERROR_FLOOR",
    "numerical_gradient",
    "numerical_gradient_many",
    "rel_error",
]

#: Denominator floor of :func:`rel_error` (the cs231n convention).
REL_ERROR_FLOOR = 1e-8


def _scalar_output(value: Any) -> float:
    """Return ``f``'s output as a Python float, or explain what is wrong with it."""
    if np.ndim(value) != 0:
        raise ValueError(
            f"f must return a scalar (a float or a 0-d array), got an output of shape "
            f"{np.shape(value)}; the gradient is defined for a scalar loss, so reduce "
            f"the output first (e.g. return np.sum(out))"
        )
    if np.iscomplexobj(value):
        raise TypeError(f"f must return a real scalar, got complex {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"f must return a real scalar, got {type(value).__name__} {value!r}"
        ) from exc


def numerical_gradient(
    f: Callable[[np.ndarray], Any], x: Any, h: float = 1e-5
) -> np.ndarray:
    """Central-difference gradient of a scalar function ``f`` at ``x``.

    For every coordinate i, with e_i the i-th unit array::

        df/dx_i  ~=  ( f(x + h e_i) - f(x - h e_i) ) / (2 h)

    The error is O(h^2) from truncation plus O(eps |f| / h) from rounding;
    in float64 with h = 1e-5 both are around 1e-10 for well-scaled functions,
    so a correct analytic gradient agrees to a relative error of about 1e-7
    or better (see :func:`rel_error`).

    Args:
        f: function of one array of ``x``'s shape returning a real scalar
            (a float, a 0-d array, or anything ``float()`` accepts with
            ndim 0).  It is called 2 * x.size times, always on a private copy
            of ``x``, so ``f`` must use its argument: a closure over the
            original array would see no perturbation and give zeros.
        x: the point, a float array of any shape or a Python number (integer
            arrays are rejected: ``x + h`` would be truncated).  Not modified.
        h: step size, > 0 (default 1e-5, good in float64; float32 inputs need
            h around 1e-2 and give only a few correct digits).

    Returns:
        Array of ``x``'s shape and dtype holding the estimated gradient.

    Notes:
        This is the cs231n ``eval_numerical_gradient`` scheme, except that the
        perturbation happens on a copy: cs231n edits ``x`` in place and
        restores it, which lets ``f`` close over ``x`` but corrupts ``x`` if
        ``f`` raises midway.

    Example:
        >>> numerical_gradient(lambda x: np.sum(x**2), np.array([1.0, -2.0])).round(6)   # 2 x
        array([ 2., -4.])
    """
    if not callable(f):
        raise TypeError(f"f must be a callable returning a scalar, got {type(f).__name__}")
    x = as_float_array(x, "x")
    h = check_range(h, "h", 0.0, None, low_inclusive=False)
    point = np.array(x, copy=True)
    flat_point = point.reshape(-1)  # a view: point is a fresh contiguous copy
    grad = np.empty_like(point)
    flat_grad = grad.reshape(-1)
    for i in range(flat_point.size):
        original = flat_point[i]
        flat_point[i] = original + h
        f_plus = _scalar_output(f(point))
        flat_point[i] = original - h
        f_minus = _scalar_output(f(point))
        flat_point[i] = original
        flat_grad[i] = (f_plus - f_minus) / (2.0 * h)
    return grad


def numerical_gradient_many(
    f: Callable[[dict[str, np.ndarray]], Any],
    arrays: Mapping[str, Any],
    h: float = 1e-5,
) -> dict[str, np.ndarray]:
    """Central-difference gradients of ``f(arrays)`` with respect to every array.

    Each array is perturbed in turn (on a copy) while the others stay fixed;
    see :func:`numerical_gradient` for the formula and the accuracy.

    Args:
        f: function of a dict ``{name: array}`` (same keys as ``arrays``)
            returning a real scalar, e.g. ``lambda p: loss(p["W"], p["b"])``.
        arrays: the point, a mapping from names to float arrays.  Not modified.
        h: step size, > 0 (default 1e-5).

    Returns:
        Dict with the same keys, each value the gradient array of that shape.

    Example:
        >>> point = {"W": np.array([1.0, 2.0]), "b": np.array([3.0, 4.0])}
        >>> grads = numerical_gradient_many(lambda p: np.sum(p["W"] * p["b"]), point)
        >>> grads["W"].round(6), grads["b"].round(6)     # d/dW = b, d/db = W
        (array([3., 4.]), array([1., 2.]))
    """
    if not isinstance(arrays, Mapping):
        raise TypeError(
            f"arrays must be a mapping from names to float arrays (e.g. "
            f"{{'W': W, 'b': b}}), got {type(arrays).__name__}"
        )
    point = {name: as_float_array(value, f"arrays[{name!r}]") for name, value in arrays.items()}
    return {
        name: numerical_gradient(lambda value, name=name: f({**point, name: value}), point[name], h)
        for name in point
    }


def rel_error(a: Any, b: Any) -> float:
    """Largest elementwise relative error between two arrays of the same shape.

    ::

        rel_error(a, b) = max_i  |a_i - b_i| / max(1e-8, |a_i| + |b_i|)

    Rules of thumb (float64, h = 1e-5 central differences): below 1e-7 the
    gradient is right; 1e-7 to 1e-4 look closer (kinks such as ReLU at 0 or
    tiny gradients); above 1e-4 the gradient is almost certainly wrong.

    Args:
        a, b: float arrays (or Python numbers) of exactly the same shape; no
            broadcasting, which would compare the wrong entries.

    Returns:
        The maximum over elements as a Python float; 0.0 for empty arrays;
        NaN if either input contains NaN.

    Notes:
        This is the cs231n convention: the maximum of *elementwise* relative
        errors, each normalized by |a_i| + |b_i| (not by max(|a_i|, |b_i|),
        and not a ratio of norms such as ||a - b|| / (||a|| + ||b||), which
        hides one wrong small entry among large correct ones).  The floor
        REL_ERROR_FLOOR = 1e-8 keeps 0/0 out: where both entries are tiny the
        quantity becomes an absolute error divided by 1e-8.

    Example:
        >>> print(f"{rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-6])):.1e}")
        2.5e-07
        >>> print(f"{rel_error(np.array([0.0, 1e-12]), np.array([0.0, 0.0])):.1e}")  # the floor: 1e-12 / 1e-8
        1.0e-04
    """
    a = as_float_array(a, "a")
    b = as_float_array(b, "b")
    check_same_shape(a, b, "a", "b")
    if a.size == 0:
        return 0.0
    abs_diff = np.abs(a - b)
    return float(np.max(abs_diff / np.maximum(REL_ERROR_FLOOR, np.abs(a) + np.abs(b))))
