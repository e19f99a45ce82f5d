"""Helpers shared by the activation families: a sigmoid that never overflows, and dtype keeping."""

from __future__ import annotations

import numpy as np


def sigmoid_and_complement(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return sigma(x) and 1 - sigma(x) = sigma(-x), without overflow or cancellation.

    With z = exp(-|x|) <= 1 both are z/(1+z) or 1/(1+z), chosen by the sign of x,
    so exp never overflows and 1 - sigma(x) keeps full relative precision.
    """
    z = np.exp(-np.abs(x))
    big, small = 1 / (1 + z), z / (1 + z)
    positive = x >= 0
    return np.where(positive, big, small), np.where(positive, small, big)


def as_dtype_of(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``values`` in x's dtype: np.where with Python-number branches yields float64; float32 in -> float32 out."""
    return values.astype(x.dtype, copy=False)
