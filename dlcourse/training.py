"""Training on the 8x8 digits: the course's one fixed split.

Every lecture, widget, exercise and check that trains on the digits uses the
same split, :func:`digits_split`, so a number quoted in a lecture is the number
a student reproduces in an exercise and the number a check grades.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from dlcourse.data import Split, load_digits, train_val_test_split

__all__ = ["DIGITS_SPLIT_SEED", "digits_split"]

DIGITS_SPLIT_SEED = 0


@lru_cache(maxsize=1)
def _cached_split() -> Split:
    X, y = load_digits()
    return train_val_test_split(X, y, rng=np.random.default_rng(DIGITS_SPLIT_SEED))


def digits_split() -> Split:
    """The fixed split of the 8x8 digits used by the lectures, the exercises and the checks.

    Returns:
        ``Split(X_train, y_train, X_val, y_val, X_test, y_test)`` from
        ``dlcourse.data.train_val_test_split(X, y, rng=np.random.default_rng(0))``
        on ``dlcourse.data.load_digits()`` (pixels in [0, 1], 64 features;
        1257 / 270 / 270 examples, stratified).  Fresh copies at every call, so
        a caller may modify them.
    """
    return Split(*(part.copy() for part in _cached_split()))
