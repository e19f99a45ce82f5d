"""Comparing our results with another library's (torch's) in a lecture: one compact table.

A lecture that implements something in numpy shows that it agrees with torch. Instead of one cell per
comparison printing "agrees to 1e-16", the lecture collects the pairs and prints them together::

    agreement_table({
        "relu forward": (ours, theirs.detach().numpy()),
        "relu backward": (our_grad, x.grad.numpy()),
    })

For each row: the largest absolute difference, the largest difference relative to the size of the
values (``max|ours - theirs| / max|theirs|``, the measure the tests use) and whether that is within
``tolerance``. Numbers only: this module does not import torch (the caller converts its tensors).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Agreement:
    """One compared pair: its name, the largest absolute and relative differences, and the verdict."""

    name: str
    shape: tuple[int, ...]
    max_abs: float
    max_rel: float
    agrees: bool


def compare(name: str, ours: Any, theirs: Any, tolerance: float = 1e-12) -> Agreement:
    """``ours`` against ``theirs``: same shape, and ``max|ours - theirs| / max|theirs| <= tolerance``.

    Args:
        name: what is compared, for the table.
        ours, theirs: arrays (or numbers) of the same shape; ``theirs`` is the trusted library's.
        tolerance: the largest relative difference that counts as agreement (1e-12 suits float64
            results of a few dozen operations; use about 1e-5 for float32).

    Raises:
        ValueError: when the shapes differ (nothing is broadcast).

    >>> compare("square", np.array([1.0, 4.0]), np.array([1.0, 4.0 + 4e-16])).agrees
    True
    """
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    if ours.shape != theirs.shape:
        raise ValueError(f"{name}: ours has shape {ours.shape} but theirs has shape {theirs.shape}")
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance!r}")
    difference = float(np.max(np.abs(ours - theirs))) if ours.size else 0.0
    scale = float(np.max(np.abs(theirs))) if theirs.size else 0.0
    relative = difference / scale if scale > 0 else difference
    return Agreement(name, ours.shape, difference, relative, bool(relative <= tolerance))


def agreement_table(rows: Mapping[str, tuple[Any, Any]], tolerance: float = 1e-12,
                    show: bool = True) -> list[Agreement]:
    """Compare every ``name: (ours, theirs)`` pair and print one table (unless ``show`` is False).

    >>> table = agreement_table({"sum": (np.array([3.0]), np.array([3.0])), "mean": (1.5, 1.5)})
    what    shape    max |ours - theirs|    relative    agrees (<= 1e-12)
    sum     (1,)                 0.0e+00     0.0e+00    yes
    mean    ()                   0.0e+00     0.0e+00    yes
    >>> all(row.agrees for row in table)
    True
    """
    if not isinstance(rows, Mapping) or not rows:
        raise TypeError(f"rows must be a non-empty mapping name -> (ours, theirs), got {type(rows).__name__}")
    table = [compare(name, *pair, tolerance=tolerance) for name, pair in rows.items()]
    if show:
        width = max(len("what"), *(len(row.name) for row in table))
        shape_width = max(len("shape"), *(len(str(row.shape)) for row in table))
        print(f"{'what':<{width}}    {'shape':<{shape_width}}    max |ours - theirs|    relative    "
              f"agrees (<= {tolerance:.0e})")
        for row in table:
            print(f"{row.name:<{width}}    {row.shape!s:<{shape_width}}    {row.max_abs:>19.1e}    "
                  f"{row.max_rel:>8.1e}    {'yes' if row.agrees else 'NO'}")
    return table
