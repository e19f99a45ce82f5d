"""Detecting in-place changes to a function's inputs (numpy and the standard library only).

Shared by the in-process guard (``dlcourse.grading._guard``) and the
sandboxed worker, which cannot import anything else from dlcourse.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["changed_path", "snapshot"]


def snapshot(value: Any) -> Any:
    """A deep copy of the arrays in nested dicts, lists and tuples (namedtuples included)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {key: snapshot(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        items = [snapshot(item) for item in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    return value


def changed_path(before: Any, after: Any, path: str) -> str | None:
    """The first place (``x``, ``state['m']``, ``grads[1]``) where ``after`` differs from the snapshot ``before``."""
    if isinstance(before, np.ndarray):
        same = (isinstance(after, np.ndarray) and after.shape == before.shape
                and np.array_equal(after, before, equal_nan=True))
        return None if same else path
    if isinstance(before, dict):
        if not isinstance(after, dict) or before.keys() != after.keys():
            return path
        for key in before:
            found = changed_path(before[key], after[key], f"{path}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(before, (list, tuple)):
        if not isinstance(after, (list, tuple)) or len(after) != len(before):
            return path
        for index, (b, a) in enumerate(zip(before, after, strict=True)):
            found = changed_path(b, a, f"{path}[{index}]")
            if found:
                return found
    return None
