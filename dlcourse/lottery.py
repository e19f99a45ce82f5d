"""Lottery tickets: magnitude pruning, and sparse networks that train well from their original initial weights.

Frankle & Carbin (2019), "The lottery ticket hypothesis": train, remove the
smallest weights, rewind the survivors to their initial values and retrain;
the sparse *ticket* learns as fast as the full network, while the same mask
with fresh random weights does not.  Their main method is *iterative*
magnitude pruning (:func:`iterative_magnitude_pruning`): several rounds of
train, prune a fraction of the surviving weights (:func:`prune_surviving`),
rewind.  Pruning to the target in one step (:func:`lottery_ticket`, masks
from :func:`magnitude_masks`) is their simpler *one-shot* variant.

Source: VU Amsterdam DLVU lecture 4 'Tools of the trade' (lottery tickets, pruning).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dlcourse._checks import check_int, check_range
from dlcourse.layers import MLP
from dlcourse.training import accuracy, standardized_digits_split, train

__all__ = ["iterative_magnitude_pruning", "lottery_ticket", "magnitude_masks", "prune_accuracy", "prune_surviving"]


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


def prune_surviving(
    params: Mapping[str, np.ndarray], masks: Mapping[str, np.ndarray] | None, rate: float,
    output_rate: float | None = None,
) -> dict[str, np.ndarray]:
    """One round of iterative magnitude pruning: remove the ``rate`` fraction of each layer's SURVIVING weights.

    For every weight matrix W_l with mask m_l (1 = kept):

        S_l = {i : m_l[i] = 1}                       the surviving weights
        k_l = round(rate_l * |S_l|)                   how many to remove
        m'_l[i] = 0 for the k_l entries of S_l with the smallest |W_l[i]|, m'_l = m_l elsewhere

    with rate_l = ``rate`` and, for the output layer (the last weight matrix),
    ``output_rate`` (default ``rate / 2``: Frankle & Carbin prune the output
    layer at half the rate of the others; 20% and 10% per round for their
    fully connected networks).  Pruned weights never come back.  Ties are
    broken by position.  Biases are not pruned.

    Args:
        params: name -> trained parameters (``model.params``).
        masks: the masks of the previous round (name -> 0/1 array), or None for
            the first round (every weight survives).
        rate, output_rate: fractions in [0, 1].

    Returns:
        dict W-name -> float array of 0s and 1s with the weight's shape.

    Example:
        >>> params = {"W1": np.array([[0.1, -2.0], [0.5, 0.05]]), "b1": np.zeros(2), "W2": np.array([[1.0], [-0.2]])}
        >>> first = prune_surviving(params, None, 0.5, output_rate=0.5)
        >>> first["W1"], first["W2"].ravel()
        (array([[0., 1.],
               [1., 0.]]), array([1., 0.]))
        >>> prune_surviving(params, first, 0.5, output_rate=0.0)["W1"]     # half of the 2 survivors
        array([[0., 1.],
               [0., 0.]])
    """
    rate = check_range(rate, "rate", 0.0, 1.0)
    output_rate = rate / 2 if output_rate is None else check_range(output_rate, "output_rate", 0.0, 1.0)
    names = _weight_names(params)
    new_masks = {}
    for name in names:
        weights = np.abs(params[name]).ravel()
        old = np.ones(weights.size) if masks is None else np.asarray(masks[name], dtype=np.float64).ravel()
        if old.size != weights.size:
            raise ValueError(f"masks[{name!r}] must have the shape of params[{name!r}], "
                             f"{params[name].shape}; got {np.shape(masks[name])}")
        surviving = np.flatnonzero(old)
        removed = round((output_rate if name == names[-1] else rate) * surviving.size)
        mask = old.copy()
        mask[surviving[np.argsort(weights[surviving], kind="stable")[:removed]]] = 0.0
        new_masks[name] = mask.reshape(params[name].shape)
    return new_masks


def iterative_magnitude_pruning(
    rounds: int = 10, rate: float = 0.2, *, output_rate: float | None = None, hidden: int = 128, epochs: int = 5,
    lr: float = 3e-3, seed: int = 0, progress: bool = False,
) -> dict[str, Any]:
    """Frankle & Carbin's iterative magnitude pruning (IMP) with rewinding to the initial weights, on the digits.

        theta_0 = the initial weights of a 64-``hidden``-10 MLP;  m_0 = all ones
        for r = 1 .. rounds:
            theta_r = train(m_{r-1} * theta_0)                  (the weights of round r - 1, rewound, trained)
            m_r = prune_surviving(theta_r, m_{r-1}, rate, output_rate)
        ticket r:  train(m_r * theta_0)        control r:  train(m_r * theta'_0), theta'_0 a fresh draw

    so ``rounds`` rounds of ``rate`` = 20% keep 0.8^rounds of the hidden
    layer's weights (0.9^rounds of the output layer's).  The ticket trained in
    round r is the network that round r + 1 prunes.  For comparison, the
    *one-shot* ticket prunes the first trained network straight to the final
    fractions (``magnitude_masks`` with keep 0.8^rounds, output_keep 0.9^rounds)
    and is rewound and trained the same way.  Every training uses the same
    minibatches (Adam, batch 64), so only the mask and the initial weights differ.

    Args:
        rounds: pruning rounds (>= 1).
        rate, output_rate: per-round fractions of the surviving weights removed
            (``output_rate`` defaults to ``rate / 2``).
        hidden, epochs, lr: the network and each of its trainings.
        seed: seeds the initial weights ([seed, 0]), the control's ([seed, 1])
            and the minibatches ([seed, 7]), as in :func:`lottery_ticket`.
        progress: a tqdm bar over the trainings.

    Returns:
        dict with "kept" (rounds + 1,), the fraction of all weights kept after
        round r (1 for r = 0); "ticket" and "reinit" (rounds + 1, epochs), the
        validation accuracy after every epoch of ticket r and control r (row 0:
        the full network, and nan for the control); "one_shot" (epochs,) and
        "one_shot_kept" (a float).

    Example:
        >>> imp = iterative_magnitude_pruning(rounds=2, hidden=16, epochs=2)
        >>> imp["kept"].round(3)
        array([1.   , 0.813, 0.663])
        >>> imp["ticket"].round(3)             # row 0: the full network
        array([[0.467, 0.641],
               [0.526, 0.637],
               [0.552, 0.637]])
        >>> imp["reinit"][1:].round(3), imp["one_shot"].round(3)
        (array([[0.344, 0.6  ],
               [0.311, 0.574]]), array([0.53, 0.63]))
    """
    rounds = check_int(rounds, "rounds", 1)
    rate = check_range(rate, "rate", 0.0, 1.0)
    output_rate = rate / 2 if output_rate is None else check_range(output_rate, "output_rate", 0.0, 1.0)
    data = standardized_digits_split()
    sizes = [data.X_train.shape[1], hidden, 10]
    monitor = {"val": (data.X_val, data.y_val)}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=2 * rounds + 2, desc="networks")

    def train_from(initial: Mapping[str, np.ndarray], masks: Mapping[str, np.ndarray] | None) -> tuple[np.ndarray, MLP]:
        model = MLP(sizes, rng=np.random.default_rng([seed, 0]))
        model.params = {name: value.copy() for name, value in initial.items()}
        curve = train(model, data.X_train, data.y_train, epochs=epochs, lr=lr, rng=np.random.default_rng([seed, 7]),
                      masks=masks, monitor=monitor, progress=False)["val"]
        if bar is not None:
            bar.update()
        return curve, model

    def kept_fraction(masks: Mapping[str, np.ndarray]) -> float:
        return sum(m.sum() for m in masks.values()) / sum(m.size for m in masks.values())

    theta_0 = MLP(sizes, rng=np.random.default_rng([seed, 0])).params
    fresh_0 = MLP(sizes, rng=np.random.default_rng([seed, 1])).params
    curve, trained = train_from(theta_0, None)
    first_trained = trained.params
    ticket, reinit, kept, masks = [curve], [np.full(epochs, np.nan)], [1.0], None
    for _ in range(rounds):
        masks = prune_surviving(trained.params, masks, rate, output_rate)
        curve, trained = train_from(theta_0, masks)
        ticket.append(curve)
        reinit.append(train_from(fresh_0, masks)[0])
        kept.append(kept_fraction(masks))
    one_shot_masks = magnitude_masks(first_trained, (1 - rate) ** rounds, output_keep=(1 - output_rate) ** rounds)
    one_shot = train_from(theta_0, one_shot_masks)[0]
    if bar is not None:
        bar.close()
    return {"kept": np.array(kept), "ticket": np.array(ticket), "reinit": np.array(reinit), "one_shot": one_shot,
            "one_shot_kept": kept_fraction(one_shot_masks)}


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
