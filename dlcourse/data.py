"""Offline data for the course: datasets, splits, standardization, minibatches.

Everything here works without internet.  The 8x8 digits and the 2-D toy sets
come from scikit-learn (bundled with it) or are generated; MNIST and
Fashion-MNIST are read from the IDX files that ``torchvision`` stores, and are
only downloaded (through torchvision) when asked for with ``download=True``.

Lectures: VU Amsterdam DLVU lecture 4 'Tools of the trade' (data splits and
leakage: "preprocessing before splitting"), Univ. of Macau 'Modern Techniques'
(SGD and ``torch.utils.data.DataLoader``), SDU summer school 'Gradient-Based
Learning' (SGD on minibatches).
"""

from __future__ import annotations

import gzip
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from dlcourse._checks import as_float_array, check_int, check_range, check_rng

__all__ = [
    "load_digits", "spirals", "moons", "circles",
    "Split", "train_val_test_split", "standardize", "minibatches",
    "read_idx", "load_mnist", "load_fashion_mnist",
]


def _check_same_length(X: np.ndarray, y: np.ndarray) -> None:
    if X.ndim == 0 or y.ndim == 0 or len(X) != len(y):
        raise ValueError(
            f"X and y must have the same number of examples (first axis): X has shape "
            f"{X.shape} but y has shape {y.shape}; pass one label per row of X"
        )


def _seed_from(rng: np.random.Generator) -> int:
    """Draw a seed for scikit-learn's ``random_state`` so a Generator controls it."""
    return int(rng.integers(2**32))  # RandomState accepts seeds in [0, 2**32)


# ---------------------------------------------------------------- datasets


def load_digits(*, return_images: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The 8x8 handwritten digits shipped with scikit-learn (offline), scaled to [0, 1].

    X = pixels / 16: the pixel values are integers 0..16 (counts of set pixels in
    4x4 blocks of the original 32x32 bitmaps), so dividing by 16 maps them onto [0, 1].

    Args:
        return_images: if True, X has shape (1797, 8, 8) instead of (1797, 64).

    Returns:
        (X, y): X float64 of shape (1797, 64) (or (1797, 8, 8)) in [0, 1]; y int64
        labels 0..9 of shape (1797,).

    Source: ``sklearn.datasets.load_digits`` (UCI optical recognition of
    handwritten digits, test set).
    """
    from sklearn.datasets import load_digits as sklearn_load_digits

    bunch = sklearn_load_digits()
    pixels = bunch.images if return_images else bunch.data
    return np.asarray(pixels, dtype=np.float64) / 16.0, np.asarray(bunch.target, dtype=np.int64)


def spirals(
    n_samples: int = 300, n_classes: int = 3, noise: float = 0.2, *, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The classic cs231n spiral data: ``n_classes`` interleaved arms, not linearly separable.

    For arm j with n_j points, i = 0..n_j-1:
        r_i = i / (n_j - 1)                      (radius, 0 to 1)
        t_i = 4 j + 4 r_i + noise * z_i,  z_i ~ N(0, 1)   (angle in radians)
        x_i = (r_i sin t_i, r_i cos t_i),  y_i = j

    Args:
        n_samples: total number of points (>= n_classes); split as evenly as
            possible, the first ``n_samples % n_classes`` arms get one extra point.
        n_classes: number of arms/classes (>= 1).
        noise: standard deviation of the angle noise in radians (>= 0).
        rng: numpy Generator (required, so experiments stay seeded).

    Returns:
        (X, y): X float64 of shape (n_samples, 2), y int64 of shape (n_samples,).

    Notes:
        Examples come grouped by class (arm 0 first), as in cs231n; shuffle them
        with ``train_val_test_split`` or ``minibatches``.  The noise perturbs the
        angle only, so every point keeps its radius r_i exactly.

    Source: Stanford CS231n notes "Putting it together: minimal neural network case study".
    """
    n_samples = check_int(n_samples, "n_samples", 1)
    n_classes = check_int(n_classes, "n_classes", 1)
    if n_samples < n_classes:
        raise ValueError(
            f"n_samples must be >= n_classes so every arm gets a point, got n_samples="
            f"{n_samples} and n_classes={n_classes}"
        )
    noise = check_range(noise, "noise", 0.0)
    rng = check_rng(rng)
    counts = np.full(n_classes, n_samples // n_classes)
    counts[: n_samples % n_classes] += 1
    X = np.empty((n_samples, 2))
    y = np.repeat(np.arange(n_classes, dtype=np.int64), counts)
    start = 0
    for j, n_j in enumerate(counts):  # a loop over arms, as in cs231n
        r = np.linspace(0.0, 1.0, n_j)
        t = np.linspace(4.0 * j, 4.0 * (j + 1), n_j) + rng.standard_normal(n_j) * noise
        X[start : start + n_j] = np.column_stack((r * np.sin(t), r * np.cos(t)))
        start += n_j
    return X, y


def moons(
    n_samples: int = 200, noise: float = 0.1, *, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (``sklearn.datasets.make_moons``), seeded from ``rng``.

    Args:
        n_samples: total number of points (>= 1; class 0 gets the extra one if odd).
        noise: standard deviation of the Gaussian noise added to every coordinate (>= 0).
        rng: numpy Generator; one integer is drawn from it as scikit-learn's random_state.

    Returns:
        (X, y): X float64 (n_samples, 2), y int64 (n_samples,), examples shuffled.
    """
    from sklearn.datasets import make_moons

    n_samples = check_int(n_samples, "n_samples", 1)
    noise = check_range(noise, "noise", 0.0)
    X, y = make_moons(n_samples, noise=noise, random_state=_seed_from(check_rng(rng)))
    return X.astype(np.float64, copy=False), y.astype(np.int64, copy=False)


def circles(
    n_samples: int = 200, noise: float = 0.05, factor: float = 0.5, *, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A small circle inside a large one (``sklearn.datasets.make_circles``), seeded from ``rng``.

    Args:
        n_samples: total number of points (>= 1).
        noise: standard deviation of the Gaussian noise added to every coordinate (>= 0).
        factor: radius of the inner circle (class 1) relative to the outer one
            (class 0, radius 1); in [0, 1).
        rng: numpy Generator; one integer is drawn from it as scikit-learn's random_state.

    Returns:
        (X, y): X float64 (n_samples, 2), y int64 (n_samples,), examples shuffled.
    """
    from sklearn.datasets import make_circles

    n_samples = check_int(n_samples, "n_samples", 1)
    noise = check_range(noise, "noise", 0.0)
    factor = check_range(factor, "factor", 0.0, 1.0, high_inclusive=False)
    X, y = make_circles(n_samples, noise=noise, factor=factor, random_state=_seed_from(check_rng(rng)))
    return X.astype(np.float64, copy=False), y.astype(np.int64, copy=False)


# ------------------------------------------------------- splits, scaling


class Split(NamedTuple):
    """Training, validation and test sets returned by ``train_val_test_split``."""

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
    """
    X, y = np.asarray(X), np.asarray(y)
    _check_same_length(X, y)
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


# ------------------------------------------------------------ minibatches


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
    """
    X, y = np.asarray(X), np.asarray(y)
    _check_same_length(X, y)
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


# ----------------------------------------------------- MNIST-style files

# IDX type byte -> numpy dtype (big-endian); see http://yann.lecun.com/exdb/mnist/
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IMAGE_SIZE = 28
_NUM_CLASSES = 10


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped if the name ends in ``.gz``.

    Layout: two zero bytes, a type byte (0x08 = unsigned byte, ...), a byte with
    the number of dimensions d, d big-endian uint32 sizes, then the values in C
    order.  MNIST images have magic number 2051 (0x00000803: ubyte, 3-D), labels
    2049 (0x00000801: ubyte, 1-D).

    Returns:
        A new array in native byte order, with the type the type byte names
        (uint8 for MNIST).

    Raises:
        ValueError: bad magic number, or a file shorter/longer than its header says.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as file:
        raw = file.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(
            f"{path} is not an IDX file: its magic number {raw[:4].hex()} should be 0000 "
            f"followed by a type byte in {sorted(_IDX_DTYPES)} and the number of dimensions; "
            f"delete it and download it again"
        )
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path} is truncated inside its header; delete it and download it again")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + math.prod(shape) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(
            f"{path} has {len(raw)} bytes but its header (shape {shape}, dtype {dtype}) "
            f"implies {expected}; the file is truncated or corrupted, delete it and download it again"
        )
    # astype: native byte order, and a writable array (frombuffer's view of bytes is read-only)
    return np.frombuffer(raw, dtype=dtype, offset=header).astype(dtype.newbyteorder("=")).reshape(shape)


def _find_idx(raw_dir: Path, name: str) -> Path | None:
    return next((p for p in (raw_dir / name, raw_dir / f"{name}.gz") if p.is_file()), None)


def _download_with_torchvision(dataset: str, root: Path, train: bool) -> None:
    try:
        from torchvision import datasets as torchvision_datasets
    except (ImportError, OSError, RuntimeError) as exc:  # also a torchvision built for another torch
        raise ImportError(
            f"download=True fetches {dataset} with torchvision, which could not be imported "
            f"({exc}); run `pip install torchvision`, or place the IDX files in {root / dataset / 'raw'} "
            f"by hand"
        ) from exc
    getattr(torchvision_datasets, dataset)(root=str(root), train=train, download=True)


def _load_idx_dataset(
    dataset: str, root: str | os.PathLike, train: bool, download: bool, dtype: Any
) -> tuple[np.ndarray, np.ndarray]:
    if not np.issubdtype(np.dtype(dtype), np.floating):
        raise TypeError(f"dtype must be a floating dtype such as np.float64 or np.float32, got {dtype!r}")
    root = Path(root)
    raw_dir = root / dataset / "raw"
    split = "train" if train else "t10k"
    names = (f"{split}-images-idx3-ubyte", f"{split}-labels-idx1-ubyte")
    paths = [_find_idx(raw_dir, name) for name in names]
    if download and None in paths:
        _download_with_torchvision(dataset, root, train)
        paths = [_find_idx(raw_dir, name) for name in names]
    for name, path in zip(names, paths):
        if path is None:
            raise FileNotFoundError(
                f"expected {raw_dir / name} (or {name}.gz next to it); call with download=True "
                f"(needs internet and torchvision) to fetch it through torchvision.datasets."
                f"{dataset}(root={str(root)!r}, train={train}, download=True), or copy the "
                f"files there by hand"
            )
    images_path, labels_path = paths
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.shape[1:] != (_IMAGE_SIZE, _IMAGE_SIZE):
        raise ValueError(
            f"{images_path} should hold uint8 images of shape (n, 28, 28) (magic number 2051), "
            f"got dtype {images.dtype} and shape {images.shape}"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(
            f"{labels_path} should hold {len(images)} uint8 labels (magic number 2049, one per "
            f"image in {images_path.name}), got dtype {labels.dtype} and shape {labels.shape}"
        )
    if labels.size and labels.max() >= _NUM_CLASSES:
        raise ValueError(f"{labels_path} has a label {labels.max()}; MNIST labels are 0..9")
    X = images.reshape(len(images), -1).astype(dtype)
    X /= 255  # as torchvision's ToTensor: uint8 0..255 -> [0, 1]
    return X, labels.astype(np.int64)


def load_mnist(
    root: str | os.PathLike, train: bool = True, download: bool = False, *, dtype: Any = np.float64
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST handwritten digits from torchvision's folder layout, pixels scaled to [0, 1].

    Reads ``root/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte`` (or the
    same names with ``.gz``), which is where ``torchvision.datasets.MNIST(root,
    download=True)`` puts them, and parses them with numpy (see ``read_idx``).

    Args:
        root: the directory given to torchvision as ``root``.
        train: the 60000 training images if True, else the 10000 test images.
        download: if the files are missing, fetch them with torchvision (needs
            internet and ``pip install torchvision``; imported only then).
        dtype: floating dtype of X; float32 halves the memory (188 MB vs 376 MB).

    Returns:
        (X, y): X of shape (n, 784) with values pixel / 255 in [0, 1]; y int64 labels 0..9.

    Raises:
        FileNotFoundError: a file is missing (the message names the path).
        ImportError: ``download=True`` but torchvision cannot be imported.
        ValueError: a file is not a valid MNIST IDX file.
    """
    return _load_idx_dataset("MNIST", root, train, download, dtype)


def load_fashion_mnist(
    root: str | os.PathLike, train: bool = True, download: bool = False, *, dtype: Any = np.float64
) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST (Zalando clothing images) from ``root/FashionMNIST/raw``.

    Same files, format and arguments as ``load_mnist``; labels 0..9 are T-shirt/top,
    trouser, pullover, dress, coat, sandal, shirt, sneaker, bag, ankle boot.
    ``download=True`` uses ``torchvision.datasets.FashionMNIST``.
    """
    return _load_idx_dataset("FashionMNIST", root, train, download, dtype)
