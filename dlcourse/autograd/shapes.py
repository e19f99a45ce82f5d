"""Shapes in the engine: the gradient of broadcasting, and axis arguments.

A binary operation broadcasts its operands to a common shape (numpy's and
torch's rules: align trailing axes; an axis of length 1, or a missing leading
axis, is copied).  Copying is a linear map whose transpose is summing, so the
gradient of a broadcast operand is the upstream gradient summed over the
copied axes: :func:`unbroadcast`.

Source: numpy's broadcasting rules; torch's ``Tensor.sum_to_size`` performs
the same reduction.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["axis_index", "normalize_axes", "unbroadcast"]


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` over the axes along which an operand of ``shape`` was broadcast.

    Broadcasting copies an operand along new leading axes and along its axes
    of length 1; the gradient of a copy is the sum of the gradients of its
    copies (the multivariate chain rule), so those axes are summed.

    Example:
        >>> g = np.arange(6.0).reshape(2, 3)    # dL/d(a + b) for a of shape (2, 3)
        >>> unbroadcast(g, (3,))                 # b of shape (3,) was copied on 2 rows
        array([3., 5., 7.])
        >>> unbroadcast(g, (2, 1))               # b of shape (2, 1) was copied on 3 columns
        array([[ 3.],
               [12.]])
    """
    if grad.shape == shape:
        return grad
    leading = grad.ndim - len(shape)
    stretched = tuple(
        leading + i for i, n in enumerate(shape) if n == 1 and grad.shape[leading + i] != 1
    )
    return grad.sum(axis=tuple(range(leading)) + stretched, keepdims=True).reshape(shape)


def axis_index(axis: Any, ndim: int, name: str, given: Any) -> int:
    """One axis (negatives allowed) as a non-negative int, or a ValueError naming ``name``.

    Example:
        >>> axis_index(-1, 3, "axis", -1)
        2
    """
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -ndim <= axis < ndim:
        raise ValueError(
            f"{name} must be an int (or ints) in [-ndim, ndim) = [{-ndim}, {ndim}) for a {ndim}-d "
            f"Tensor, got {given!r}"
        )
    return int(axis) % ndim


def normalize_axes(axis: int | tuple[int, ...] | None, ndim: int) -> tuple[int, ...]:
    """Return ``axis`` (None, an int or a tuple, negatives allowed) as sorted non-negative ints.

    Example:
        >>> normalize_axes(None, 3), normalize_axes((-1, 0), 3)
        ((0, 1, 2), (0, 2))
    """
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    if not axes:
        raise ValueError(
            "axis=() is ambiguous (numpy reduces no axis, torch reduces all of them); "
            "pass axis=None to reduce every axis"
        )
    normalized = sorted(axis_index(a, ndim, "axis", axis) for a in axes)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"axis must not repeat an axis, got {axis!r}")
    return tuple(normalized)
