"""dlcourse.data.datasets: the digits and the toy sets against their sources (scikit-learn, cs231n)."""

import numpy as np
import pytest
from sklearn import datasets as sklearn_datasets

from dlcourse.data import circles, load_digits, moons, spirals


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
    images, _labels = load_digits(return_images=True)
    X, _ = load_digits()
    assert images.shape == (1797, 8, 8)
    np.testing.assert_array_equal(images.reshape(1797, 64), X)
    np.testing.assert_array_equal(images * 16, sklearn_datasets.load_digits().images)


def test_load_digits_does_not_import_sklearn_and_returns_fresh_arrays():
    import subprocess
    import sys

    code = ("import sys; from dlcourse.data import load_digits; X, y = load_digits(); "
            "print('sklearn' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
    X, y = load_digits()
    X[0, 0], y[0] = 99.0, 99  # a caller may change what it got; the next call is unaffected
    X2, y2 = load_digits()
    assert X2[0, 0] == 0.0 and y2[0] == 0


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
