"""Offline data for the course: datasets, splits, standardization, minibatches.

Everything here works without internet.  The 8x8 digits and the 2-D toy sets
come from scikit-learn (bundled with it) or are generated; MNIST and
Fashion-MNIST are read from the IDX files that ``torchvision`` stores, and are
only downloaded (through torchvision) when asked for with ``download=True``.
Importing this package imports neither scikit-learn nor torch.

One module per concept:

* :mod:`dlcourse.data.datasets`: ``load_digits``, ``spirals``, ``moons``, ``circles``;
* :mod:`dlcourse.data.splits`: ``train_val_test_split`` (-> ``Split``) and ``standardize``;
* :mod:`dlcourse.data.batches`: ``minibatches``;
* :mod:`dlcourse.data.mnist`: ``read_idx``, ``load_mnist``, ``load_fashion_mnist``.

Example (the usual pipeline: split, standardize with training statistics,
then one epoch of minibatches):
    >>> import numpy as np
    >>> from dlcourse.data import load_digits, minibatches, standardize, train_val_test_split
    >>> X, y = load_digits()
    >>> split = train_val_test_split(X, y, rng=np.random.default_rng(0))
    >>> X_train, X_val, X_test, mean, std = standardize(split.X_train, split.X_val, split.X_test)
    >>> X_train.shape, X_val.shape, X_test.shape
    ((1257, 64), (270, 64), (270, 64))
    >>> batches = list(minibatches(X_train, split.y_train, 128, rng=np.random.default_rng(0)))
    >>> len(batches), batches[-1][0].shape
    (10, (105, 64))

Lectures: VU Amsterdam DLVU lecture 4 'Tools of the trade' (data splits and
leakage: "preprocessing before splitting"), Univ. of Macau 'Modern Techniques'
(SGD and ``torch.utils.data.DataLoader``), SDU summer school 'Gradient-Based
Learning' (SGD on minibatches).
"""

from dlcourse.data.batches import minibatches
from dlcourse.data.datasets import circles, load_digits, moons, spirals
from dlcourse.data.mnist import load_fashion_mnist, load_mnist, read_idx
from dlcourse.data.splits import Split, standardize, train_val_test_split

__all__ = [
    "Split",
    "circles",
    "load_digits",
    "load_fashion_mnist",
    "load_mnist",
    "minibatches",
    "moons",
    "read_idx",
    "spirals",
    "standardize",
    "train_val_test_split",
]
