"""Minibatches: one epoch of (X_batch, y_batch), as torch's DataLoader.

Source: Univ. of Macau 'Modern Techniques' (SGD and
``torch.utils.data.DataLoader``); SDU summer school 'Gradient-Based Learning'
(SGD on minibatches).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from dlcourse._checks import check_int, check_rng, check_same_length

__all__ = ["minibatches"]


def minibatches(
    X: Any,
    y: Any,
    batch_size: int,
    *,
    shuffle: bool = True,
    rng: np.random.Generator | None = None,
    drop_last: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of minibatches (X_batch, y_batch): every example exactly once.

    Like ``torch.utils.data.DataLoader(dataset, batch_size, shuffle, drop_last)``:
    the examples are visited in a random permutation (a new one at every call, so
    call once per epoch) or in order, in batches of ``batch_size``; the last batch
    has n % batch_size examples and is dropped if ``drop_last``.  That gives
    ceil(n / batch_size) batches, or floor(n / batch_size) with ``drop_last``.

    Args:
        X: array whose first axis indexes examples.
        y: one label (or target) per row of X.
        batch_size: examples per batch (>= 1).
        shuffle: visit the examples in a random order.
        rng: numpy Generator; required when ``shuffle`` (so runs are reproducible).
        drop_last: drop the last batch if it is smaller than ``batch_size``.

    Returns:
        A generator of (X_batch, y_batch) copies.  The permutation is drawn when
        ``minibatches`` is called, so errors and rng use happen at the call.

    Source: Univ. of Macau 'Modern Techniques' (SGD with a DataLoader); SDU summer
    school 'Gradient-Based Learning' (SGD on minibatches).

    Example:
        >>> X, y = np.arange(10.0).reshape(5, 2), np.arange(5)
        >>> [y_batch for _, y_batch in minibatches(X, y, batch_size=2, shuffle=False)]
        [array([0, 1]), array([2, 3]), array([4])]
        >>> epoch = minibatches(X, y, 2, rng=np.random.default_rng(0), drop_last=True)
        >>> [len(y_batch) for _, y_batch in epoch]
        [2, 2]
    """
    X, y = np.asarray(X), np.asarray(y)
    check_same_length(X, y)
    batch_size = check_int(batch_size, "batch_size", 1)
    if shuffle:
        if rng is None:
            raise ValueError(
                "rng is required when shuffle=True so experiments stay reproducible; pass "
                "rng=np.random.default_rng(seed), or shuffle=False"
            )
        order = check_rng(rng).permutation(len(X))
    else:
        order = np.arange(len(X))
    stop = len(X) - len(X) % batch_size if drop_last else len(X)
    return _batches(X, y, order, batch_size, stop)


def _batches(
    X: np.ndarray, y: np.ndarray, order: np.ndarray, batch_size: int, stop: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for start in range(0, stop, batch_size):
        batch = order[start : start + batch_size]
        yield X[batch], y[batch]


