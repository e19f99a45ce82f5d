"""Memorization: the same network fits real and shuffled labels, but only real labels generalize.

Zhang et al. (2017), "Understanding deep learning requires rethinking
generalization": a network large enough reaches 100% training accuracy even
on random labels, so its capacity alone cannot explain why it generalizes.

Source: VU Amsterdam DLVU lecture 4 'Tools of the trade' (why does any of this work: memorization).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dlcourse._checks import check_int, check_range, check_rng
from dlcourse.layers import MLP
from dlcourse.training import standardized_digits_split, train

__all__ = ["memorization", "shuffle_labels"]


def shuffle_labels(y: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A copy of y in which a random ``fraction`` of the examples have their labels shuffled among themselves.

    fraction = 1 shuffles every label (Zhang et al.'s "random labels", with the
    class frequencies kept); in between are their "partially corrupted
    labels".  About 1/(number of classes) of the shuffled labels land on the
    right class by chance.

    Example:
        >>> shuffle_labels(np.array([0, 0, 1, 1, 2, 2]), 1.0, np.random.default_rng(0))
        array([0, 1, 1, 2, 2, 0])
    """
    fraction = check_range(fraction, "fraction", 0.0, 1.0)
    rng = check_rng(rng)
    noisy = np.array(y, copy=True)
    chosen = rng.choice(len(y), size=round(fraction * len(y)), replace=False)
    noisy[chosen] = noisy[rng.permutation(chosen)]
    return noisy


def memorization(
    fractions: Sequence[float] = (0.0, 0.5, 1.0), *, n_train: int = 300, hidden: int = 256, epochs: int = 100,
    lr: float = 1e-3, seed: int = 0, progress: bool = False,
) -> dict[float, dict[str, np.ndarray]]:
    """Train a 64-``hidden``-10 MLP on ``n_train`` digits whose labels are partly or fully shuffled.

    Zhang et al. (2017), "Understanding deep learning requires rethinking
    generalization": the same network reaches 100% training accuracy on real
    and on random labels, but only the real labels generalize.  Validation
    accuracy is measured on the untouched validation labels.

    Args:
        fractions: fractions of shuffled training labels, each in [0, 1].
        n_train: training examples (a random subset of the 1257; 1257 for the full run).
        hidden, epochs, lr: the network (Adam, batch 32) and its training.
        seed: seeds the subset, the shuffles, the inits and the batches.

    Returns:
        dict fraction -> {"loss", "train" (accuracy on the noisy training labels), "val"}, arrays (epochs,).

    Example:
        >>> results = memorization((0.0, 1.0), n_train=50, hidden=16, epochs=2)
        >>> results[1.0]["train"].round(3), results[1.0]["val"].round(3)
        (array([0.12, 0.12]), array([0.063, 0.07 ]))
    """
    data = standardized_digits_split()
    rng = np.random.default_rng(seed)
    subset = rng.permutation(len(data.X_train))[: check_int(n_train, "n_train", 1)]
    X, y = data.X_train[subset], data.y_train[subset]
    results = {}
    for fraction in fractions:
        noisy = shuffle_labels(y, fraction, np.random.default_rng([seed, round(1000 * fraction)]))
        model = MLP([X.shape[1], hidden, 10], rng=np.random.default_rng([seed, 1]))
        results[fraction] = train(
            model, X, noisy, epochs=epochs, lr=lr, rng=np.random.default_rng([seed, 2]), batch_size=32,
            monitor={"train": (X, noisy), "val": (data.X_val, data.y_val)}, progress=progress,
        )
    return results
