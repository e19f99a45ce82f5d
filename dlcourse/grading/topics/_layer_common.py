"""Trial helpers shared by the topics whose targets are named ``layers.*``.

Those targets are split by concept over ``topics.layers`` (linear and
activation layers), ``topics.losses``, ``topics.dropout`` and
``topics.two_layer_net``; their trials are tables of cases, visible ones and
hidden extras, each in float64 or float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlcourse.grading._report import GradingError, Tolerance, describe_value
from dlcourse.grading.topics._common import FLOAT32_TOLERANCE

F32, F64 = np.float32, np.float64


def tolerance_for(dtype: Any) -> Tolerance | None:
    """The trial's tolerance: float32's looser one, or None for the target's default."""
    return FLOAT32_TOLERANCE if dtype == F32 else None


def cases(visible: tuple, hidden_extra: tuple, hidden: bool) -> tuple:
    """The visible cases, followed by the hidden extras in hidden mode."""
    return visible + hidden_extra if hidden else visible


def array_of_shape(value: Any, shape: tuple[int, ...], what: str, role: str) -> np.ndarray:
    """``value`` if it is an array of ``shape``, else a GradingError naming ``what`` ``role`` returned."""
    if not isinstance(value, np.ndarray) or value.shape != shape:
        raise GradingError(f"{what} returned by {role} should be an array of shape {shape}, "
                           f"but it is {describe_value(value)}")
    return value
