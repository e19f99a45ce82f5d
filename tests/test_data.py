"""Tests for dlcourse.data: datasets against their sources (scikit-learn, cs231n,
the IDX format spec), minibatches against torch.utils.data.DataLoader.

Nothing here touches the network: MNIST files are small fakes written in
torchvision's folder layout, and the download path runs a fake ``torchvision``.
"""

from __future__ import annotations

import gzip
import math
import struct
import subprocess
import sys
import types

import numpy as np
import pytest
import torch
from sklearn import datasets as sklearn_datasets
from sklearn.model_selection import train_test_split as sklearn_train_test_split
from sklearn.preprocessing import StandardScaler

from dlcourse.data import (
    Split,
    circles,
    load_digits,
    load_fashion_mnist,
    load_mnist,
    minibatches,
    moons,
    read_idx,
    spirals,
    standardize,
    train_val_test_split,
)

# standardize vs StandardScaler: same quantities in float64, but scikit-learn
# accumulates mean and variance in a different order.
STANDARDIZE_RTOL = 1e-12
STANDARDIZE_ATOL = 1e-12


def test_module_imports_neither_torch_nor_sklearn():
    code = (
        "import sys, dlcourse.data; "
        "assert 'torch' not in sys.modules and 'sklearn' not in sys.modules, 'heavy import'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------ digits


def test_load_digits_matches_sklearn_scaled_by_16():
    bunch = sklearn_datasets.load_digits()
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    np.testing.assert_array_equal(X * 16, bunch.data)  # k/16 * 16 is exact for k = 0..16
    np.testing.assert_array_equal(y, bunch.target)
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(np.unique(y), np.arange(10))


def test_load_digits_images():
    images, y = load_digits(return_images=True)
    X, _ = load_digits()
    assert images.shape == (1797, 8, 8)
    np.testing.assert_array_equal(images.reshape(1797, 64), X)


# ------------------------------------------------------------ 2-D toy sets


def cs231n_spiral(N, K, rng, noise=0.2):
    """The loop from the CS231n notes, with the global RNG replaced by ``rng``."""
    X = np.zeros((N * K, 2))
    y = np.zeros(N * K, dtype="uint8")
    for j in range(K):
        ix = range(N * j, N * (j + 1))
        r = np.linspace(0.0, 1, N)  # radius
        t = np.linspace(j * 4, (j + 1) * 4, N) + rng.standard_normal(N) * noise  # theta
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[ix] = j
    return X, y


@pytest.mark.parametrize(("N", "K", "noise"), [(100, 3, 0.2), (1, 1, 0.2), (7, 4, 0.0), (3, 2, 1.0)])
def test_spirals_match_cs231n(N, K, noise):
    X, y = spirals(N * K, K, noise, rng=np.random.default_rng(5))
    X_ref, y_ref = cs231n_spiral(N, K, np.random.default_rng(5), noise)
    assert X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)


def test_spirals_uneven_counts_keep_exact_radii():
    X, y = spirals(7, 3, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(np.bincount(y), [3, 2, 2])
    for j, n_j in enumerate([3, 2, 2]):
        np.testing.assert_allclose(np.hypot(*X[y == j].T), np.linspace(0, 1, n_j), rtol=0, atol=1e-15)


def test_spirals_seeded():
    a = spirals(rng=np.random.default_rng(1))[0]
    b = spirals(rng=np.random.default_rng(1))[0]
    c = spirals(rng=np.random.default_rng(2))[0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def _sklearn_seed(seed):
    return int(np.random.default_rng(seed).integers(2**32))


@pytest.mark.parametrize("n_samples", [1, 7, 200])
def test_moons_is_sklearn_make_moons_seeded_from_rng(n_samples):
    X, y = moons(n_samples, noise=0.1, rng=np.random.default_rng(3))
    X_ref, y_ref = sklearn_datasets.make_moons(n_samples, noise=0.1, random_state=_sklearn_seed(3))
    assert X.shape == (n_samples, 2) and X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)


@pytest.mark.parametrize("n_samples", [1, 7, 200])
def test_circles_is_sklearn_make_circles_seeded_from_rng(n_samples):
    X, y = circles(n_samples, noise=0.05, factor=0.3, rng=np.random.default_rng(4))
    X_ref, y_ref = sklearn_datasets.make_circles(
        n_samples, noise=0.05, factor=0.3, random_state=_sklearn_seed(4)
    )
    assert X.shape == (n_samples, 2) and X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)


def test_noise_free_geometry():
    X, y = moons(100, noise=0.0, rng=np.random.default_rng(0))
    centers = np.where(y[:, None] == 0, [0.0, 0.0], [1.0, 0.5])  # outer moon, inner moon
    np.testing.assert_allclose(np.hypot(*(X - centers).T), 1.0, rtol=1e-14)
    X, y = circles(100, noise=0.0, factor=0.25, rng=np.random.default_rng(0))
    np.testing.assert_allclose(np.hypot(*X.T), np.where(y == 0, 1.0, 0.25), rtol=1e-14)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: spirals(2, 3, rng=np.random.default_rng(0)), ValueError, "n_samples must be >= n_classes"),
        (lambda: spirals(0, rng=np.random.default_rng(0)), ValueError, "n_samples must be an integer >= 1"),
        (lambda: spirals(10.0, rng=np.random.default_rng(0)), ValueError, "n_samples must be an integer"),
        (lambda: spirals(10, 0, rng=np.random.default_rng(0)), ValueError, "n_classes"),
        (lambda: spirals(10, noise=-1, rng=np.random.default_rng(0)), ValueError, "noise"),
        (lambda: spirals(10, rng=0), TypeError, "rng must be a numpy.random.Generator"),
        (lambda: moons(10, noise=-0.1, rng=np.random.default_rng(0)), ValueError, "noise"),
        (lambda: moons(10, rng=None), TypeError, "rng"),
        (lambda: circles(10, factor=1.0, rng=np.random.default_rng(0)), ValueError, "factor"),
        (lambda: circles(-5, rng=np.random.default_rng(0)), ValueError, "n_samples"),
    ],
)
def test_toy_set_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ------------------------------------------------------------ splitting


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
    for X_part, y_part in zip(split[0::2], split[1::2]):  # (X_train, y_train), (X_val, y_val), ...
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
    for u, v in zip(a, b):
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
    for X, copy in zip([X_train, X_val, X_test], copies):
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


# ------------------------------------------------------------ minibatches


def _loader_batches(X, y, batch_size, shuffle, drop_last):
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(y))
    generator = torch.Generator().manual_seed(0)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, generator=generator
    )
    return [(xb.numpy(), yb.numpy()) for xb, yb in loader]


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("batch_size", [1, 3, 10, 50])
@pytest.mark.parametrize("n", [1, 7, 10, 33])
def test_minibatches_match_dataloader(n, batch_size, drop_last):
    rng = np.random.default_rng(n)
    X, y = rng.normal(size=(n, 3)), rng.integers(0, 10, size=n)
    # in order: the very same batches as DataLoader(shuffle=False)
    ours = list(minibatches(X, y, batch_size, shuffle=False, drop_last=drop_last))
    theirs = _loader_batches(X, y, batch_size, False, drop_last)
    assert len(ours) == len(theirs) == (n // batch_size if drop_last else math.ceil(n / batch_size))
    for (xb, yb), (xt, yt) in zip(ours, theirs):
        np.testing.assert_array_equal(xb, xt)
        np.testing.assert_array_equal(yb, yt)
    # shuffled: the same batch sizes as DataLoader(shuffle=True); every example at most once
    ours = list(minibatches(X, y, batch_size, rng=rng, drop_last=drop_last))
    theirs = _loader_batches(X, y, batch_size, True, drop_last)
    assert [len(b[0]) for b in ours] == [len(b[0]) for b in theirs]
    assert [len(b[1]) for b in ours] == [len(b[1]) for b in theirs]
    rows = np.concatenate([xb for xb, _ in ours]) if ours else np.zeros((0, 3))
    row_ids = [int(np.flatnonzero((X == row).all(axis=1))[0]) for row in rows]
    assert len(set(row_ids)) == len(row_ids)
    if not drop_last:
        assert sorted(row_ids) == list(range(n))
    for xb, yb in ours:  # rows and labels stay paired
        ids = [int(np.flatnonzero((X == row).all(axis=1))[0]) for row in xb]
        np.testing.assert_array_equal(yb, y[ids])


def test_minibatches_new_permutation_every_epoch_and_seeded():
    X, y = np.arange(40.0)[:, None], np.arange(40)
    rng = np.random.default_rng(0)
    epoch1 = np.concatenate([yb for _, yb in minibatches(X, y, 8, rng=rng)])
    epoch2 = np.concatenate([yb for _, yb in minibatches(X, y, 8, rng=rng)])
    assert sorted(epoch1) == sorted(epoch2) == list(range(40))
    assert not np.array_equal(epoch1, epoch2)
    again = np.concatenate([yb for _, yb in minibatches(X, y, 8, rng=np.random.default_rng(0))])
    np.testing.assert_array_equal(epoch1, again)


def test_minibatches_are_copies():
    X, y = np.zeros((6, 2)), np.zeros(6, dtype=int)
    for xb, yb in minibatches(X, y, 4, shuffle=False):
        xb += 1.0
        yb += 1
    assert not X.any() and not y.any()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"shuffle": True, "rng": None}, ValueError, "rng is required when shuffle=True"),
        ({"rng": 42}, TypeError, "rng must be a numpy.random.Generator"),
        ({"batch_size": 0}, ValueError, "batch_size must be an integer >= 1"),
        ({"batch_size": 2.0}, ValueError, "batch_size must be an integer"),
        ({"y": np.zeros(4)}, ValueError, "X and y must have the same number of examples"),
    ],
)
def test_minibatches_errors_are_raised_at_the_call(kwargs, error, match):
    arguments = {"X": np.zeros((5, 2)), "y": np.zeros(5), "batch_size": 2, "rng": np.random.default_rng(0)}
    arguments |= kwargs
    with pytest.raises(error, match=match):
        minibatches(**arguments)  # not only when iterated


# ------------------------------------------------------------ IDX / MNIST

IDX_TYPES = {np.dtype(np.uint8): 0x08, np.dtype(np.int32): 0x0C, np.dtype(np.float64): 0x0E}


def write_idx(path, array, compress=False):
    """Write an IDX file following the format description on yann.lecun.com/exdb/mnist."""
    array = np.asarray(array)
    header = bytes([0, 0, IDX_TYPES[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        payload = gzip.compress(payload)
    path.write_bytes(payload)
    return path


def fake_mnist(root, folder="MNIST", train_n=5, test_n=3, compress=False, seed=0):
    """Small random MNIST-like files in torchvision's layout: root/<folder>/raw/..."""
    rng = np.random.default_rng(seed)
    raw = root / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    data = {}
    for split, n in [("train", train_n), ("t10k", test_n)]:
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        write_idx(raw / f"{split}-images-idx3-ubyte", images, compress)
        write_idx(raw / f"{split}-labels-idx1-ubyte", labels, compress)
        data[split] = (images, labels)
    return data


@pytest.mark.parametrize("array", [
    np.arange(24, dtype=np.int32).reshape(2, 3, 4) - 7,
    np.linspace(-1, 1, 5),
    np.zeros((0, 28, 28), dtype=np.uint8),
], ids=["int32-3d", "float64-1d", "empty-uint8"])
@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trip(tmp_path, array, compress):
    path = write_idx(tmp_path / "file-idx", array, compress)
    result = read_idx(path)
    assert result.shape == array.shape and result.dtype == array.dtype
    np.testing.assert_array_equal(result, array)


def test_read_idx_magic_number_of_mnist_images(tmp_path):
    path = write_idx(tmp_path / "images", np.zeros((2, 28, 28), dtype=np.uint8))
    assert int.from_bytes(path.read_bytes()[:4], "big") == 2051  # documented MNIST magic number


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "is not an IDX file"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "is not an IDX file"),
        (b"\x00\x00", "is not an IDX file"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", "truncated"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x03\x05\x06", "has 10 bytes but its header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x05\x06", "has 10 bytes but its header"),
    ],
)
def test_read_idx_rejects_bad_files(tmp_path, payload, match):
    path = tmp_path / "bad-idx"
    path.write_bytes(payload)
    with pytest.raises(ValueError, match=match):
        read_idx(path)


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize(("loader", "folder"), [(load_mnist, "MNIST"), (load_fashion_mnist, "FashionMNIST")])
def test_load_mnist_from_torchvision_layout(tmp_path, loader, folder, train, compress):
    data = fake_mnist(tmp_path, folder, compress=compress)
    images, labels = data["train" if train else "t10k"]
    X, y = loader(tmp_path, train=train)
    assert X.shape == (len(images), 784) and X.dtype == np.float64
    assert y.dtype == np.int64
    # torchvision's ToTensor: uint8 -> float, divided by 255
    expected = torch.from_numpy(images).to(torch.float64).div(255).reshape(len(images), -1).numpy()
    np.testing.assert_array_equal(X, expected)
    np.testing.assert_array_equal(y, labels)
    assert 0.0 <= X.min() and X.max() <= 1.0


def test_load_mnist_float32(tmp_path):
    data = fake_mnist(tmp_path)
    X, _ = load_mnist(str(tmp_path), dtype=np.float32)
    assert X.dtype == np.float32
    np.testing.assert_array_equal(X, data["train"][0].reshape(5, 784).astype(np.float32) / np.float32(255))
    with pytest.raises(TypeError, match="dtype must be a floating dtype"):
        load_mnist(tmp_path, dtype=np.int64)


def test_load_mnist_missing_files_names_the_path(tmp_path):
    expected = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    with pytest.raises(FileNotFoundError, match="download=True") as info:
        load_mnist(tmp_path)
    assert str(expected) in str(info.value) and "torchvision" in str(info.value)
    fake_mnist(tmp_path, "MNIST")
    (tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        load_mnist(tmp_path, train=False)
    with pytest.raises(FileNotFoundError, match="FashionMNIST"):
        load_fashion_mnist(tmp_path)


@pytest.mark.parametrize(
    ("images", "labels", "match"),
    [
        (np.zeros((3, 27, 28), np.uint8), np.zeros(3, np.uint8), r"shape \(n, 28, 28\)"),
        (np.zeros((3, 28, 28), np.int32), np.zeros(3, np.uint8), "uint8 images"),
        (np.zeros((3, 28, 28), np.uint8), np.zeros(4, np.uint8), "should hold 3 uint8 labels"),
        (np.zeros((3, 28, 28), np.uint8), np.zeros((3, 1), np.uint8), "should hold 3 uint8 labels"),
        (np.zeros((3, 28, 28), np.uint8), np.array([1, 10, 2], np.uint8), "MNIST labels are 0..9"),
    ],
)
def test_load_mnist_validates_contents(tmp_path, images, labels, match):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    write_idx(raw / "train-images-idx3-ubyte", images)
    write_idx(raw / "train-labels-idx1-ubyte", labels)
    with pytest.raises(ValueError, match=match):
        load_mnist(tmp_path)


def _fake_torchvision(monkeypatch, calls, fail=False):
    """Install a fake ``torchvision`` whose dataset classes write fake files, as the real ones download."""

    def dataset_class(folder):
        class FakeDataset:
            def __init__(self, root, train=True, download=False):
                if fail:
                    raise AssertionError("torchvision must not be called when the files exist")
                calls.append((folder, root, train, download))
                from pathlib import Path

                fake_mnist(Path(root), folder, compress=True, seed=42)  # torchvision keeps the .gz

        return FakeDataset

    datasets_module = types.ModuleType("torchvision.datasets")
    datasets_module.MNIST = dataset_class("MNIST")
    datasets_module.FashionMNIST = dataset_class("FashionMNIST")
    torchvision = types.ModuleType("torchvision")
    torchvision.datasets = datasets_module
    monkeypatch.setitem(sys.modules, "torchvision", torchvision)
    monkeypatch.setitem(sys.modules, "torchvision.datasets", datasets_module)


@pytest.mark.parametrize(("loader", "folder"), [(load_mnist, "MNIST"), (load_fashion_mnist, "FashionMNIST")])
def test_download_goes_through_torchvision(tmp_path, monkeypatch, loader, folder):
    calls = []
    _fake_torchvision(monkeypatch, calls)
    X, y = loader(tmp_path, train=False, download=True)
    assert calls == [(folder, str(tmp_path), False, True)]
    images, labels = fake_mnist(tmp_path / "expected", folder, compress=True, seed=42)["t10k"]
    np.testing.assert_array_equal(X, images.reshape(len(images), -1) / 255)
    np.testing.assert_array_equal(y, labels)


def test_download_skipped_when_files_exist(tmp_path, monkeypatch):
    fake_mnist(tmp_path)
    _fake_torchvision(monkeypatch, [], fail=True)
    X, _ = load_mnist(tmp_path, download=True)
    assert X.shape == (5, 784)


def test_download_without_torchvision(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # makes `import torchvision` raise ImportError
    with pytest.raises(ImportError, match="pip install torchvision") as info:
        load_mnist(tmp_path, download=True)
    assert str(tmp_path / "MNIST" / "raw") in str(info.value)
