"""Lottery tickets: magnitude pruning, and sparse networks that train well from their original initial weights.

Frankle & Carbin (2019), "The lottery ticket hypothesis": train, remove the
smallest weights, rewind the survivors to their initial values and retrain;
the sparse *ticket* learns as fast as the full network, while the same mask
with fresh random weights does not.

Source: VU Amsterdam DLVU lecture 4 'Tools of the trade' (lottery tickets, pruning).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dlcourse._checks import check_range
from dlcourse.layers import MLP
from dlcourse.training import accuracy, standardized_digits_split, train

__all__ = ["lottery_ticket", "magnitude_masks", "prune_accuracy"]


def _weight_names(params: Mapping[str, np.ndarray]) -> list[str]:
    return [name for name in params if name.startswith("W")]


def magnitude_masks(
    params: Mapping[str, np.ndarray], keep: float, output_keep: float | None = None
) -> dict[str, np.ndarray]:
    """0/1 masks that keep the ``keep`` fraction of largest-magnitude weights in every weight matrix.

    Biases are not pruned.  Frankle & Carbin (2019) prune the output layer at
    half the rate of the others; ``output_keep`` sets its fraction (default
    ``1 - (1 - keep) / 2``).  Ties at the threshold are broken by position, so
    exactly round(keep * size) weights survive in each matrix.

    Returns:
        dict W-name -> float array of 0s and 1s with the weight's shape.

    Example:
        >>> params = {"W1": np.array([[0.1, -2.0], [0.5, 0.05]]), "b1": np.zeros(2), "W2": np.array([[1.0], [-0.2]])}
        >>> masks = magnitude_masks(params, 0.5)           # the output layer keeps 75%: 2 of its 2 weights
        >>> masks["W1"], masks["W2"].ravel()
        (array([[0., 1.],
               [1., 0.]]), array([1., 1.]))
    """
    keep = check_range(keep, "keep", 0.0, 1.0)
    output_keep = 1 - (1 - keep) / 2 if output_keep is None else check_range(output_keep, "output_keep", 0.0, 1.0)
    names = _weight_names(params)
    masks = {}
    for name in names:
        weights = np.abs(params[name]).ravel()
        kept = round((output_keep if name == names[-1] else keep) * weights.size)
        mask = np.zeros(weights.size)
        mask[np.argsort(-weights, kind="stable")[:kept]] = 1.0
        masks[name] = mask.reshape(params[name].shape)
    return masks


def lottery_ticket(
    keep_fractions: Sequence[float] = (0.2, 0.1, 0.05), *, hidden: int = 128, epochs: int = 10, lr: float = 3e-3,
    seeds: Sequence[int] = (0, 1), progress: bool = False,
) -> dict[str, Any]:
    """Frankle & Carbin's experiment on the digits: train, prune by magnitude, rewind, retrain.

    For every seed: train a 64-``hidden``-10 MLP (Adam), compute
    ``magnitude_masks`` of the trained weights, then train two sparse networks
    with that mask for the same epochs and minibatches: the *ticket*, rewound to
    the original initial weights, and a *random reinitialization* (fresh
    weights, same mask).  The only difference between the two is where the
    surviving weights start.

    Returns:
        dict with "full": validation accuracy per epoch (len(seeds), epochs),
        "ticket" and "reinit": keep -> (len(seeds), epochs) arrays, and
        "kept": keep -> fraction of all weights kept (output layer included).

    Example:
        >>> tickets = lottery_ticket((0.2,), hidden=16, epochs=2, seeds=(0,))
        >>> tickets["full"].round(3), tickets["ticket"][0.2].round(3), tickets["reinit"][0.2].round(3)
        (array([[0.467, 0.641]]), array([[0.47 , 0.567]]), array([[0.315, 0.426]]))
        >>> round(float(tickets["kept"][0.2]), 3)
        0.254
    """
    data = standardized_digits_split()
    sizes = [data.X_train.shape[1], hidden, 10]
    monitor = {"val": (data.X_val, data.y_val)}
    full, ticket, reinit, kept = [], {k: [] for k in keep_fractions}, {k: [] for k in keep_fractions}, {}
    runs = [(seed, keep) for seed in seeds for keep in (None, *keep_fractions)]
    if progress:
        from tqdm.auto import tqdm

        runs = tqdm(runs, desc="networks")

    def fit(model: MLP, seed: int, masks: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        return train(model, data.X_train, data.y_train, epochs=epochs, lr=lr, rng=np.random.default_rng([seed, 7]),
                     masks=masks, monitor=monitor, progress=False)["val"]

    for seed, keep in runs:
        if keep is None:
            model = MLP(sizes, rng=np.random.default_rng([seed, 0]))
            initial = {name: value.copy() for name, value in model.params.items()}
            full.append(fit(model, seed))
            trained = model.params
            continue
        masks = magnitude_masks(trained, keep)
        kept[keep] = sum(m.sum() for m in masks.values()) / sum(m.size for m in masks.values())
        rewound = MLP(sizes, rng=np.random.default_rng([seed, 0]))
        rewound.params = {name: value.copy() for name, value in initial.items()}
        ticket[keep].append(fit(rewound, seed, masks))
        fresh = MLP(sizes, rng=np.random.default_rng([seed, 1]))  # another draw of the same init
        reinit[keep].append(fit(fresh, seed, masks))
    as_arrays = lambda runs_by_keep: {k: np.array(v) for k, v in runs_by_keep.items()}  # noqa: E731
    return {"full": np.array(full), "ticket": as_arrays(ticket), "reinit": as_arrays(reinit), "kept": kept}


def prune_accuracy(model: MLP, fractions_removed: Sequence[float], X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Accuracy of a trained network after removing each fraction of its smallest weights, without retraining.

    Every weight matrix loses the same fraction (``magnitude_masks`` with
    output_keep = keep); ``model`` is not modified.

    Example:
        >>> model = MLP([2, 4, 2], rng=np.random.default_rng(0))
        >>> X, y = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), np.array([0, 1, 1])
        >>> prune_accuracy(model, [0.0, 0.5, 1.0], X, y).round(3)
        array([0.667, 0.667, 0.333])
    """
    probe = MLP(model.sizes, model.activation, rng=np.random.default_rng(0), output_activation=model.output_activation)
    accuracies = []
    for removed in fractions_removed:
        keep = 1.0 - check_range(removed, "fractions_removed", 0.0, 1.0)
        masks = magnitude_masks(model.params, keep, output_keep=keep)
        probe.params = {name: value * masks[name] if name in masks else value.copy()
                        for name, value in model.params.items()}
        accuracies.append(accuracy(probe, X, y))
    return np.array(accuracies)
