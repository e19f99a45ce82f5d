"""dlcourse.data.splits: train/val/test splits (vs scikit-learn) and standardize (vs StandardScaler, torch)."""

import math

import numpy as np
import pytest
import torch
from sklearn.model_selection import train_test_split as sklearn_train_test_split
from sklearn.preprocessing import StandardScaler

from dlcourse.data import Split, standardize, train_val_test_split

# standardize vs StandardScaler: same quantities in float64, but scikit-learn
# accumulates mean and variance in a different order.
STANDARDIZE_RTOL = 1e-12
STANDARDIZE_ATOL = 1e-12


def _split_ids(split):
    return [split.X_train[:, 0], split.X_val[:, 0], split.X_test[:, 0]]


@pytest.mark.parametrize("stratify", [True, False])
@pytest.mark.parametrize(
    ("n", "val_fraction", "test_fraction"), [(100, 0.15, 0.15), (37, 0.2, 0.1), (7, 0.0, 0.3)]
)
def test_split_sizes_disjoint_covering(n, val_fraction, test_fraction, stratify):
    rng = np.random.default_rng(n)
    X = np.column_stack((np.arange(n, dtype=float), rng.normal(size=n)))  # column 0 = example id
    y = rng.integers(0, 3, size=n)
    X_copy, y_copy = X.copy(), y.copy()
    split = train_val_test_split(X, y, val_fraction, test_fraction, rng=rng, stratify=stratify)
    assert isinstance(split, Split)
    n_test = math.ceil(test_fraction * n)
    # scikit-learn rounds a float test_size the same way (up)
    assert n_test == len(sklearn_train_test_split(np.arange(n), test_size=test_fraction)[1])
    ids = _split_ids(split)
    n_val = math.ceil(val_fraction * n)
    assert [len(i) for i in ids] == [n - n_test - n_val, n_val, n_test]
    np.testing.assert_array_equal(np.sort(np.concatenate(ids)), np.arange(n))  # disjoint and covering
    for X_part, y_part in zip(split[0::2], split[1::2], strict=True):  # (X_train, y_train), (X_val, y_val), ...
        np.testing.assert_array_equal(X_part, X[X_part[:, 0].astype(int)])
        np.testing.assert_array_equal(y_part, y[X_part[:, 0].astype(int)])
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)


@pytest.mark.parametrize(
    ("n", "fraction", "expected"), [(100, 0.07, 7), (100, 0.29, 29), (10, 0.01, 1), (3, 0.3, 1)]
)
def test_held_out_sizes_round_up_without_float_error(n, fraction, expected):
    # 0.07 * 100 == 7.000000000000001 in floating point; 7% of 100 is still 7
    y = np.zeros(n, dtype=int)
    split = train_val_test_split(np.zeros((n, 1)), y, fraction, fraction, rng=np.random.default_rng(0))
    assert len(split.y_val) == len(split.y_test) == expected


@pytest.mark.parametrize(
    "counts",
    [[500, 180, 37, 1, 3], [1000, 1, 1, 1, 1], [34, 33, 33], [7, 7], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]],
    ids=str,
)
@pytest.mark.parametrize("seed", range(3))
def test_stratified_split_keeps_class_proportions(seed, counts):
    rng = np.random.default_rng(seed)
    counts = np.array(counts)
    n_classes, n = len(counts), counts.sum()
    y = rng.permutation(np.repeat(np.arange(n_classes), counts))
    split = train_val_test_split(np.arange(n, dtype=float)[:, None], y, 0.15, 0.2, rng=rng)
    # the bounds stated in the docstring, relative to each set's exact share m * n_c / n
    balanced = len(set(counts.tolist())) == 1
    bounds = [(split.y_test, n_classes / 2), (split.y_val, n_classes), (split.y_train, n_classes / 2)]
    for part, bound in bounds:
        if balanced:
            bound = 2 if part is split.y_val else 1
        error = np.abs(np.bincount(part, minlength=n_classes) - len(part) * counts / n)
        assert error.max() < bound + 1e-9 if balanced else error.max() <= bound + 1e-9
        assert error.max() <= 2 + 1e-9  # what these cases actually achieve


def test_stratified_sets_are_shuffled():
    y = np.repeat(np.arange(2), 500)
    split = train_val_test_split(np.zeros((1000, 1)), y, rng=np.random.default_rng(0))
    # the stratified order alternates classes 0, 1, 0, 1, ...; a shuffled set does not
    assert np.abs(np.diff(split.y_train)).mean() < 0.75


def test_split_seeded():
    X, y = np.arange(50.0)[:, None], np.arange(50) % 2
    a = train_val_test_split(X, y, rng=np.random.default_rng(9))
    b = train_val_test_split(X, y, rng=np.random.default_rng(9))
    c = train_val_test_split(X, y, rng=np.random.default_rng(10))
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a.X_test, c.X_test)


def test_split_regression_targets():
    y = np.linspace(0, 1, 20)
    split = train_val_test_split(np.zeros((20, 3)), y, rng=np.random.default_rng(0), stratify=False)
    assert len(split.y_test) == 3 and split.y_test.dtype == np.float64
    with pytest.raises(TypeError, match="stratify=False"):
        train_val_test_split(np.zeros((20, 3)), y, rng=np.random.default_rng(0))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"val_fraction": 0.5, "test_fraction": 0.5}, ValueError, r"val_fraction \+ test_fraction must be < 1"),
        ({"val_fraction": -0.1}, ValueError, "val_fraction must be in"),
        ({"test_fraction": 1.0}, ValueError, "test_fraction must be in"),
        ({"y": np.zeros(9, dtype=int)}, ValueError, "X and y must have the same number of examples"),
        ({"X": np.zeros((2, 1)), "y": np.zeros(2, dtype=int)}, ValueError, "no training examples left"),
        ({"rng": None}, TypeError, "rng must be a numpy.random.Generator"),
    ],
)
def test_split_errors(kwargs, error, match):
    arguments = {"X": np.zeros((10, 2)), "y": np.zeros(10, dtype=int), "rng": np.random.default_rng(0)}
    arguments |= kwargs
    with pytest.raises(error, match=match):
        train_val_test_split(**arguments)


# ------------------------------------------------------------ standardize


def test_standardize_matches_sklearn_standard_scaler():
    rng = np.random.default_rng(0)
    X_train = rng.normal(3.0, [0.5, 2.0, 10.0, 1.0], size=(7, 4))
    X_train[:, 3] = 4.0  # a constant feature, like the blank border pixels of the digits
    X_val, X_test = rng.normal(3.0, 2.0, size=(3, 4)), rng.normal(size=(1, 4))
    copies = [X_train.copy(), X_val.copy(), X_test.copy()]
    Z_train, Z_val, Z_test, mean, std = standardize(X_train, X_val, X_test)
    scaler = StandardScaler().fit(X_train)
    for ours, X in [(Z_train, X_train), (Z_val, X_val), (Z_test, X_test)]:
        np.testing.assert_allclose(ours, scaler.transform(X), rtol=STANDARDIZE_RTOL, atol=STANDARDIZE_ATOL)
    np.testing.assert_allclose(mean, scaler.mean_, rtol=STANDARDIZE_RTOL)
    np.testing.assert_allclose(std, scaler.scale_, rtol=STANDARDIZE_RTOL)
    assert std[3] == 1.0 and np.isfinite(Z_val).all()
    for X, copy in zip([X_train, X_val, X_test], copies, strict=True):
        np.testing.assert_array_equal(X, copy)


def test_standardize_training_statistics_only():
    rng = np.random.default_rng(1)
    X_train, X_test = rng.normal(size=(50, 3)), rng.normal(5.0, 3.0, size=(20, 3))
    Z_train, Z_test, mean, std = standardize(X_train, X_test)
    # torch's population statistics of the training set (unbiased=False, as StandardScaler)
    t = torch.tensor(X_train, dtype=torch.float64)
    np.testing.assert_allclose(mean, t.mean(0).numpy(), rtol=1e-14)
    np.testing.assert_allclose(std, t.std(0, unbiased=False).numpy(), rtol=1e-14)
    np.testing.assert_allclose(Z_train.mean(0), 0.0, atol=1e-14)
    np.testing.assert_allclose(Z_train.std(0), 1.0, rtol=1e-14)
    assert np.all(Z_test.mean(0) > 1.0)  # the test set's shift is kept, not normalized away


def test_standardize_single_array_and_float32_and_images():
    Z, mean, std = standardize(np.arange(12, dtype=np.float32).reshape(3, 2, 2))
    assert Z.dtype == np.float32 and mean.shape == (2, 2) and std.shape == (2, 2)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((np.zeros((3, 2), dtype=int),), TypeError, "X_train must be a floating-point array"),
        ((np.zeros((3, 2)), np.zeros((3, 3))), ValueError, r"others\[0\] must have the same feature shape"),
        ((np.zeros((3, 2)), np.zeros((3, 2), dtype=int)), TypeError, r"others\[0\] must be a floating"),
        ((np.zeros((0, 2)),), ValueError, "X_train must have at least one example"),
    ],
)
def test_standardize_errors(args, error, match):
    with pytest.raises(error, match=match):
        standardize(*args)
