"""Loss landscapes of trained networks: straight lines, random slices, permutation symmetry, equally good minima.

The training loss of a network is not convex: reordering the hidden units of
a trained network gives another network that computes the same function
(``permute_hidden_units``), and the straight line between the two rises in
between (``loss_along_line``).  Yet for large networks the minima that
training finds are about equally good (``final_loss_spread``, Choromanska et
al. 2015).

Source: VU Amsterdam DLVU lecture 4 'Tools of the trade'; Univ. of Macau
'Modern Techniques' (deep learning as a science, Choromanska et al.); Li et
al. (2018), "Visualizing the loss landscape of neural nets".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dlcourse._checks import check_int, check_rng
from dlcourse.layers import MLP, softmax_cross_entropy
from dlcourse.stacked import stack_params, stacked_loss_and_grads, train_stacked
from dlcourse.training import one_blas_thread

__all__ = ["final_loss_spread", "loss_along_line", "permute_hidden_units", "random_direction"]


def _weight_names(params: Mapping[str, np.ndarray]) -> list[str]:
    return [name for name in params if name.startswith("W")]


def loss_along_line(
    model: MLP, start: Mapping[str, np.ndarray], direction: Mapping[str, np.ndarray], X: np.ndarray, y: np.ndarray,
    ts: Any,
) -> np.ndarray:
    """Cross-entropy of the network with parameters ``start + t * direction``, for every t in ``ts``.

    With direction = theta_B - theta_A this is the straight line between two
    solutions (t = 0 is A, t = 1 is B); with a random direction, a 1-D slice of
    the loss landscape around ``start``.  ``model`` only supplies the
    architecture: it is not modified.

    Returns:
        float array of shape (len(ts),).

    Example:
        >>> model = MLP([2, 4, 2], rng=np.random.default_rng(0))
        >>> X, y = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), np.array([0, 1, 1])
        >>> direction = random_direction(model.params, np.random.default_rng(1))
        >>> loss_along_line(model, model.params, direction, X, y, [0.0, 0.5, 1.0]).round(4)
        array([0.9669, 1.4625, 2.0896])
    """
    probe = MLP(model.sizes, model.activation, rng=np.random.default_rng(0), output_activation=model.output_activation)
    losses = []
    with one_blas_thread():
        for t in np.asarray(ts, dtype=np.float64):
            probe.params = {name: start[name] + t * direction[name] for name in start}
            losses.append(softmax_cross_entropy(probe.forward(X), y)[0])
    return np.array(losses)


def random_direction(params: Mapping[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A Gaussian direction in parameter space, scaled layer by layer to the norm of that layer's weights.

    Scaling each layer (Li et al. 2018, "Visualizing the loss landscape of
    neural nets", do it per filter) makes t = 1 a change as large as the
    weights themselves in every layer, whatever their scale.  Biases get 0.

    Example:
        >>> params = MLP([2, 4, 2], rng=np.random.default_rng(0)).params
        >>> direction = random_direction(params, np.random.default_rng(1))
        >>> round(float(np.linalg.norm(direction["W1"]) / np.linalg.norm(params["W1"])), 6)
        1.0
        >>> float(abs(direction["b1"]).max())
        0.0
    """
    rng = check_rng(rng)
    direction = {}
    for name, value in params.items():
        if name.startswith("W"):
            d = rng.standard_normal(value.shape)
            direction[name] = d * (np.linalg.norm(value) / np.linalg.norm(d))
        else:
            direction[name] = np.zeros_like(value)
    return direction


def permute_hidden_units(params: Mapping[str, np.ndarray], permutation: Any, layer: int = 1) -> dict[str, np.ndarray]:
    """The same network with the units of hidden layer ``layer`` reordered: it computes the same function.

    W{layer} columns, b{layer} entries and W{layer+1} rows are permuted together.
    Every network thus has (width!) equivalent copies per hidden layer: a loss
    with that many separate minima cannot be convex.

    Returns:
        a new dict of parameters (the input is not modified).

    Example:
        >>> model, copy = MLP([2, 4, 2], rng=np.random.default_rng(0)), MLP([2, 4, 2], rng=np.random.default_rng(1))
        >>> copy.params = permute_hidden_units(model.params, [3, 2, 1, 0])
        >>> X = np.array([[0.0, 1.0], [1.0, 0.0]])
        >>> bool(np.allclose(copy.forward(X), model.forward(X)))
        True
    """
    permutation = np.asarray(permutation)
    width = params[f"W{layer}"].shape[1]
    if f"W{layer + 1}" not in params or sorted(permutation.tolist()) != list(range(width)):
        raise ValueError(
            f"permutation must reorder the {width} units of hidden layer {layer} (a permutation of 0..{width - 1}), "
            f"and layer {layer} must be followed by another layer; got {permutation!r} for layers "
            f"{_weight_names(params)}"
        )
    permuted = {name: value.copy() for name, value in params.items()}
    permuted[f"W{layer}"] = params[f"W{layer}"][:, permutation]
    permuted[f"b{layer}"] = params[f"b{layer}"][permutation]
    permuted[f"W{layer + 1}"] = params[f"W{layer + 1}"][permutation, :]
    return permuted


def final_loss_spread(
    widths: Sequence[int], n_seeds: int, X: np.ndarray, y: np.ndarray, *, epochs: int = 100, lr: float = 0.01,
    batch_size: int = 50, seed: int = 0, progress: bool = False,
) -> dict[int, dict[str, np.ndarray]]:
    """Final training losses and gradient norms of ``n_seeds`` randomly initialized one-hidden-layer MLPs per width.

    Every network sees the same data and minibatches (Adam, ``train_stacked``);
    only the initialization differs.  After ``epochs`` epochs, for every network:

        loss      = L(theta; X, y)                          (mean cross-entropy on all of X)
        grad_norm = ||dL/dtheta (theta; X, y)||_2           (all parameters as one vector)

    Choromanska et al. (2015): for large networks the minima found are about
    equally good; small networks often end in a poor one.  The runs stop after
    a fixed number of epochs, not at a minimum: a gradient norm far from 0
    says that a run was still moving, so a spread of final losses mixes what a
    width can fit at all (capacity), how far a run got in the time (speed),
    and where it got stuck.

    Returns:
        dict width -> {"loss": final losses (n_seeds,), sorted; "grad_norm": the
        gradient norms (n_seeds,) of the same networks, in the same order;
        "curve": (n_seeds, epochs + 1) their training losses at the start and
        after every epoch, in the same order}.

    Example:
        >>> from dlcourse.data import spirals
        >>> X, y = spirals(60, 3, 0.2, rng=np.random.default_rng(0))
        >>> spread = final_loss_spread((2, 16), 3, X, y, epochs=5)
        >>> {width: result["loss"].round(3) for width, result in spread.items()}
        {2: array([1.143, 1.151, 1.221]), 16: array([0.949, 0.974, 1.022])}
        >>> spread[16]["grad_norm"].round(3)
        array([0.263, 0.291, 0.26 ])
    """
    n_seeds = check_int(n_seeds, "n_seeds", 1)
    n_classes = int(y.max()) + 1
    spread = {}
    iterator = widths
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(widths, desc="widths")
    for width in iterator:
        models = [MLP([X.shape[1], width, n_classes], rng=np.random.default_rng([seed, width, s]))
                  for s in range(n_seeds)]
        params, losses = train_stacked(stack_params(models), X, y, lrs=lr, epochs=epochs,
                                       rng=np.random.default_rng(seed), batch_size=batch_size)
        with one_blas_thread():
            _, grads = stacked_loss_and_grads(params, X, y)
        grad_norm = np.sqrt(sum((g.reshape(n_seeds, -1) ** 2).sum(axis=1) for g in grads))
        order = np.argsort(losses[:, -1], kind="stable")
        spread[width] = {"loss": losses[order, -1], "grad_norm": grad_norm[order], "curve": losses[order]}
    return spread
