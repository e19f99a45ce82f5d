"""Splitting a dataset into training, validation and test sets, and standardizing with training statistics.

Split first, then fit any preprocessing that looks at the data on the
training set only: the order these two functions make the easy one.

Source: VU Amsterdam DLVU lecture 4 'Tools of the trade' (data splits and
leakage: "preprocessing before splitting").
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from dlcourse._checks import as_float_array, check_range, check_rng, check_same_length

__all__ = ["Split", "standardize", "train_val_test_split"]


class Split(NamedTuple):
    """Training, validation and test sets returned by ``train_val_test_split``.

    Example:
        >>> split = train_val_test_split(np.zeros((10, 3)), np.arange(10), rng=np.random.default_rng(0),
        ...                              stratify=False)
        >>> split._fields
        ('X_train', 'y_train', 'X_val', 'y_val', 'X_test', 'y_test')
        >>> split.X_train.shape, split.X_val.shape, split.X_test.shape
        ((6, 3), (2, 3), (2, 3))
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def train_val_test_split(
    X: Any,
    y: Any,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    *,
    rng: np.random.Generator,
    stratify: bool = True,
) -> Split:
    """Shuffle and split (X, y) into disjoint training, validation and test sets.

    n_test = ceil(test_fraction * n), n_val = ceil(val_fraction * n), and the rest
    (at least one example) is for training.  With ``stratify`` every class is
    spread over the three sets in proportion: each example gets the key
    (rank within its class, in random order, + 1/2) / (size of its class), the
    examples are sorted by that key, and test, validation and training take
    consecutive runs of that order (a systematic sample of every class).  A set of
    m examples then holds about m * n_c / n examples of class c: at most K/2 off
    for the test and training sets and K off for the validation set, with K the
    number of classes, and less than 1 (resp. 2) off when the classes are balanced.

    Args:
        X: array whose first axis indexes examples.
        y: labels, one per row of X; integer class labels if ``stratify``.
        val_fraction, test_fraction: fractions of the examples held out, each in
            [0, 1) with sum < 1.
        rng: numpy Generator (required; the split is part of the experiment's seed).
        stratify: keep the class proportions of y in every set (classification).
            Use False for regression targets.

    Returns:
        ``Split(X_train, y_train, X_val, y_val, X_test, y_test)``, a NamedTuple;
        each set is in random order (copies, the inputs are not modified).

    Notes:
        Split BEFORE any preprocessing that looks at the data (normalization
        statistics, vocabularies, feature selection) and fit that preprocessing on
        the training set only: otherwise information from the test set leaks into
        training (DLVU lecture 4 'Tools of the trade', "data leakage").
        Like ``sklearn.model_selection.train_test_split`` the held-out sizes are
        rounded up, but after removing floating-point error: 7% of 100 examples
        is 7 here, while scikit-learn computes ceil(0.07 * 100) =
        ceil(7.000000000000001) = 8.

    Example:
        >>> X, y = np.arange(40.0).reshape(20, 2), np.repeat([0, 1], 10)
        >>> split = train_val_test_split(X, y, val_fraction=0.2, test_fraction=0.2,
        ...                              rng=np.random.default_rng(0))
        >>> len(split.y_train), len(split.y_val), len(split.y_test)
        (12, 4, 4)
        >>> np.bincount(split.y_val), np.bincount(split.y_test)   # stratified: half of each class
        (array([2, 2]), array([2, 2]))
    """
    X, y = np.asarray(X), np.asarray(y)
    check_same_length(X, y)
    val_fraction = check_range(val_fraction, "val_fraction", 0.0, 1.0, high_inclusive=False)
    test_fraction = check_range(test_fraction, "test_fraction", 0.0, 1.0, high_inclusive=False)
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"val_fraction + test_fraction must be < 1 to leave training data, got "
            f"{val_fraction} + {test_fraction}"
        )
    rng = check_rng(rng)
    n = len(X)
    n_test, n_val = (math.ceil(round(fraction * n, 9)) for fraction in (test_fraction, val_fraction))
    if n - n_test - n_val < 1:
        raise ValueError(
            f"no training examples left: {n} examples with val_fraction={val_fraction} and "
            f"test_fraction={test_fraction} hold out {n_val} + {n_test}; use more data or "
            f"smaller fractions"
        )
    order = rng.permutation(n)
    if stratify:
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise TypeError(
                f"stratify=True needs y to be a 1-D array of integer class labels, got dtype "
                f"{y.dtype} with shape {y.shape}; pass stratify=False for regression targets"
            )
        labels = y[order]
        _, class_index, class_size = np.unique(labels, return_inverse=True, return_counts=True)
        by_class = np.argsort(class_index, kind="stable")  # random order inside each class
        rank = np.empty(n)
        rank[by_class] = np.arange(n) - np.repeat(np.cumsum(class_size) - class_size, class_size)
        order = order[np.argsort((rank + 0.5) / class_size[class_index], kind="stable")]
    test, val, train = np.split(order, [n_test, n_test + n_val])
    if stratify:  # the stratified order cycles through the classes: shuffle each set
        test, val, train = (rng.permutation(part) for part in (test, val, train))
    return Split(X[train], y[train], X[val], y[val], X[test], y[test])


def standardize(X_train: Any, *others: Any, eps: float = 1e-12) -> tuple[np.ndarray, ...]:
    """Scale every feature to zero mean and unit variance using TRAINING statistics only.

        mean = mean of X_train over examples (axis 0)
        std  = sqrt(mean((X_train - mean)^2))     (population std, ddof=0)
        X'   = (X - mean) / std                     for X_train and every X in others

    A feature with std <= eps (constant on the training set, e.g. the always-blank
    border pixels of the digits) gets std = 1: it is centred but not scaled, so it
    stays finite on validation and test data (as ``sklearn.preprocessing.StandardScaler``).

    Args:
        X_train: floating array (n_train, ...); statistics are computed over axis 0.
        *others: arrays with the same trailing shape (validation, test data, ...).
        eps: threshold (>= 0) below which a feature counts as constant.

    Returns:
        (X_train', *others', mean, std): the standardized arrays in the order given,
        then the statistics (shape X_train.shape[1:]) to apply to future data.

    Notes:
        Fitting the statistics on all data before splitting leaks test-set
        information into training (DLVU lecture 4 'Tools of the trade'); this
        function's signature makes the right order the easy one.

    Example:
        >>> X_train = np.array([[1.0, 5.0], [3.0, 5.0]])      # feature 1 is constant
        >>> X_test = np.array([[2.0, 6.0]])
        >>> X_train_s, X_test_s, mean, std = standardize(X_train, X_test)
        >>> X_train_s
        array([[-1.,  0.],
               [ 1.,  0.]])
        >>> X_test_s, mean, std
        (array([[0., 1.]]), array([2., 5.]), array([1., 1.]))
    """
    X_train = as_float_array(X_train, "X_train")
    eps = check_range(eps, "eps", 0.0)
    if X_train.ndim == 0 or len(X_train) == 0:
        raise ValueError(f"X_train must have at least one example on axis 0, got shape {X_train.shape}")
    arrays = [X_train]
    for i, X in enumerate(others):
        X = as_float_array(X, f"others[{i}]")
        if X.shape[1:] != X_train.shape[1:]:
            raise ValueError(
                f"others[{i}] must have the same feature shape as X_train {X_train.shape[1:]}, "
                f"got shape {X.shape}"
            )
        arrays.append(X)
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std = np.where(std <= eps, np.ones_like(std), std)
    return (*((X - mean) / std for X in arrays), mean, std)


