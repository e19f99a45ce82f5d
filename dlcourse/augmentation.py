"""Data augmentation on the 8x8 digits: random one-pixel shifts, and what training with them buys.

``random_shifts`` moves each image by at most one pixel in each direction;
``augmentation_experiment`` trains the same small MLP on a few digits with and
without it and evaluates on centred and on shifted validation digits
(lecture 08).

Source: VU Amsterdam DLVU lecture 4 'Tools of the trade' (data augmentation:
random label-preserving changes, "never the same input twice", some
invariances hurt).
"""

from __future__ import annotations

import numpy as np

from dlcourse._checks import as_float_array, check_int, check_range, check_rng
from dlcourse.layers import MLP
from dlcourse.optim import Optimizer
from dlcourse.training import accuracy, digits_split, fit

__all__ = ["augmentation_experiment", "random_shifts"]


def random_shifts(images: np.ndarray, rng: np.random.Generator, probability: float = 0.3) -> np.ndarray:
    """Shift each image by -1, 0 or +1 pixel in each direction (zero padding), with the given probability.

    For every image independently:

        shifted with probability p:  (dy, dx) uniform on {-1, 0, 1}^2
        otherwise:                   (dy, dx) = (0, 0)
        out[i, r, c] = image[i, r - dy, c - dx]   (0 where that falls outside the image)

    Args:
        images: (n, h, w) float array.
        rng: numpy Generator; draws (dy, dx) for every image, then which ones are shifted.
        probability: p in [0, 1].

    Returns:
        A new (n, h, w) array (``images`` is not modified).

    Example:
        >>> image = np.arange(9.0).reshape(1, 3, 3)
        >>> random_shifts(image, np.random.default_rng(3), probability=1.0)[0]
        array([[0., 0., 0.],
               [1., 2., 0.],
               [4., 5., 0.]])
    """
    images = as_float_array(images, "images")
    if images.ndim != 3:
        raise ValueError(f"images must have shape (n, height, width), got shape {images.shape}")
    rng, probability = check_rng(rng), check_range(probability, "probability", 0.0, 1.0)
    n, height, width = images.shape
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    dy, dx = rng.integers(-1, 2, size=(2, n))
    unshifted = rng.random(n) >= probability
    dy[unshifted], dx[unshifted] = 0, 0
    rows = 1 - dy[:, None] + np.arange(height)
    cols = 1 - dx[:, None] + np.arange(width)
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


class _ImageMLP:
    """An MLP trained on (n, 8, 8) image batches, each batch passed through ``random_shifts`` first if ``shifts``."""

    def __init__(self, model: MLP, shifts: np.random.Generator | None, probability: float) -> None:
        self.model, self.shifts, self.probability = model, shifts, probability
        self.params, self.grads = model.params, model.grads

    def forward(self, images: np.ndarray) -> np.ndarray:
        if self.shifts is not None:
            images = random_shifts(images, self.shifts, self.probability)
        return self.model.forward(images.reshape(len(images), -1))

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return self.model.backward(dout)


def augmentation_experiment(
    n_train: int = 150,
    *,
    epochs: int = 100,
    seeds: tuple[int, ...] = (0, 1, 2),
    probability: float = 0.3,
    hidden: int = 64,
    lr: float = 3e-3,
) -> dict[str, dict[str, np.ndarray]]:
    """Train a 64-``hidden``-10 MLP on ``n_train`` digits with and without random shifts; evaluate twice.

    The training images are the first ``n_train`` of a fixed permutation
    (``default_rng(1)``) of :func:`dlcourse.training.digits_split`'s training
    set; Adam (``lr``) on minibatches of 32 for ``epochs`` epochs, with every
    batch passed through :func:`random_shifts` (``probability``) when
    augmenting.  For every seed the two runs start from the same weights and
    see the same batches.  Evaluation: the validation digits as they are, and
    a copy with every image shifted (``random_shifts`` with probability 1,
    ``default_rng(2)``).

    Args:
        n_train: training images, 10 to 1257.
        epochs: passes over them, >= 1.
        seeds: one run per seed and setting.
        probability: shift probability while augmenting, in [0, 1].
        hidden: width of the hidden layer, >= 1.
        lr: Adam's learning rate, > 0.

    Returns:
        dict with ``"plain"`` and ``"augmented"``, each a dict of
        ``"centred"`` and ``"shifted"``: (len(seeds),) arrays of validation accuracies.

    Example:
        >>> result = augmentation_experiment(50, epochs=5, seeds=(0,))
        >>> result["plain"]["centred"].round(3), result["augmented"]["shifted"].round(3)
        (array([0.37]), array([0.181]))
    """
    n_train, epochs = check_int(n_train, "n_train", 10), check_int(epochs, "epochs", 1)
    hidden = check_int(hidden, "hidden", 1)
    lr = check_range(lr, "lr", 0.0, None, low_inclusive=False)
    probability = check_range(probability, "probability", 0.0, 1.0)
    split = digits_split()
    images = split.X_train.reshape(-1, 8, 8)
    if n_train > len(images):
        raise ValueError(f"n_train must be at most the {len(images)} training images, got {n_train}")
    few = np.random.default_rng(1).permutation(len(images))[:n_train]
    X_val = split.X_val.reshape(-1, 8, 8)
    X_val_shifted = random_shifts(X_val, np.random.default_rng(2), probability=1.0)
    result: dict[str, dict[str, np.ndarray]] = {}
    for setting in ("plain", "augmented"):
        centred, shifted = [], []
        for seed in seeds:
            rng = np.random.default_rng(seed)
            model = MLP([64, hidden, 10], rng=rng)
            shifts = np.random.default_rng([seed, 1]) if setting == "augmented" else None
            fit(_ImageMLP(model, shifts, probability), Optimizer(model.params, "adam", lr=lr).step, images[few],
                split.y_train[few], epochs=epochs, batch_size=32, rng=rng, progress=False)
            centred.append(accuracy(model, X_val.reshape(len(X_val), -1), split.y_val))
            shifted.append(accuracy(model, X_val_shifted.reshape(len(X_val), -1), split.y_val))
        result[setting] = {"centred": np.array(centred), "shifted": np.array(shifted)}
    return result
