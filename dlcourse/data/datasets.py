"""Small datasets that work offline: the 8x8 digits and 2-D toy sets.

The digits ship with scikit-learn (read from its data file); the spirals are generated here as in
cs231n; moons and circles are scikit-learn's generators seeded from a numpy
Generator.  scikit-learn is imported only when one of them is called.

Source: Stanford CS231n notes ("Putting it together: minimal neural network
case study"); ``sklearn.datasets``.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np

from dlcourse._checks import check_int, check_range, check_rng

__all__ = ["circles", "load_digits", "moons", "spirals"]


def _seed_from(rng: np.random.Generator) -> int:
    """Draw a seed for scikit-learn's ``random_state`` so a Generator controls it."""
    return int(rng.integers(2**32))  # RandomState accepts seeds in [0, 2**32)


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
    handwritten digits, test set). The file scikit-learn ships is read
    directly, without importing scikit-learn (which costs about 1 s, more
    than a lecture's whole experiment); the values are the same.

    Example:
        >>> X, y = load_digits()
        >>> X.shape, y.shape, float(X.min()), float(X.max())
        ((1797, 64), (1797,), 0.0, 1.0)
        >>> y[:10]
        array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    """
    table = _digits_table()
    pixels = table[:, :64].reshape(-1, 8, 8) if return_images else table[:, :64]
    return pixels / 16.0, table[:, 64].astype(np.int64)


@functools.cache
def _digits_table() -> np.ndarray:
    """scikit-learn's ``datasets/data/digits.csv.gz``: 64 pixel counts and the label per row (read once)."""
    spec = importlib.util.find_spec("sklearn")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("load_digits reads the digits that scikit-learn ships: pip install scikit-learn")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    table = np.loadtxt(path, delimiter=",", dtype=np.float64)
    table.flags.writeable = False  # shared by every call: callers get new arrays (the division makes them)
    return table


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

    Example:
        >>> X, y = spirals(300, n_classes=3, rng=np.random.default_rng(0))
        >>> X.shape, np.bincount(y)
        ((300, 2), array([100, 100, 100]))
        >>> np.hypot(X[:3, 0], X[:3, 1]) * 99         # r_i = i / (n_j - 1) on arm 0
        array([0., 1., 2.])
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
        n_samples: total number of points (>= 1; class 1 gets the extra one if odd).
        noise: standard deviation of the Gaussian noise added to every coordinate (>= 0).
        rng: numpy Generator; one integer is drawn from it as scikit-learn's random_state.

    Returns:
        (X, y): X float64 (n_samples, 2), y int64 (n_samples,), examples shuffled.

    Example:
        >>> X, y = moons(101, noise=0.1, rng=np.random.default_rng(0))
        >>> X.shape, np.bincount(y)
        ((101, 2), array([50, 51]))
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

    Example:
        >>> X, y = circles(200, noise=0.0, factor=0.5, rng=np.random.default_rng(0))
        >>> radius = np.hypot(X[:, 0], X[:, 1])
        >>> round(float(radius[y == 0].mean()), 6), round(float(radius[y == 1].mean()), 6)
        (1.0, 0.5)
    """
    from sklearn.datasets import make_circles

    n_samples = check_int(n_samples, "n_samples", 1)
    noise = check_range(noise, "noise", 0.0)
    factor = check_range(factor, "factor", 0.0, 1.0, high_inclusive=False)
    X, y = make_circles(n_samples, noise=noise, factor=factor, random_state=_seed_from(check_rng(rng)))
    return X.astype(np.float64, copy=False), y.astype(np.int64, copy=False)
