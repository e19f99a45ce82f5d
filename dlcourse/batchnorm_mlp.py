"""A deep ReLU MLP with optional batch norm, and a recorded SGD run of it on the digits (lecture 07).

:class:`BatchNormMLP` is ``(linear -> [batch norm ->] ReLU) * depth -> linear``
built from ``dlcourse.layers`` and ``dlcourse.norm``; it follows the model
protocol of :func:`dlcourse.training.fit`, and keeps batch norm's running
statistics as torch's ``BatchNorm1d`` does.  :func:`train_deep_mlp` trains it
with :func:`~dlcourse.training.fit` and plain SGD and, between the steps,
records what the lecture's figures show: each minibatch's statistics, the
running averages, a probe batch's statistics and the validation accuracy in
evaluation mode and with batch statistics (forgetting ``model.eval()``).

Sources: Ioffe & Szegedy, "Batch Normalization", ICML 2015; Georgia Tech
CS 4644/7643 'Optimization'; VU Amsterdam DLVU lecture 4 'Tools of the trade'.
"""

from __future__ import annotations

import itertools
from functools import cache
from typing import Any, NamedTuple

import numpy as np

from dlcourse._checks import check_choice, check_int, check_range, check_rng
from dlcourse.data import Split, load_digits
from dlcourse.init import he_normal
from dlcourse.layers import linear_backward, linear_forward, relu_backward, relu_forward
from dlcourse.norm import batchnorm_backward, batchnorm_forward, groupnorm_forward
from dlcourse.training import fit, one_blas_thread, standardized_digits_split

__all__ = ["VAL_SIZE", "BatchNormMLP", "MLPRun", "batchnorm_digits_split", "batchnorm_runs", "train_deep_mlp"]

VAL_SIZE = 256  # divisible by every batch size of the lecture, so validation splits into whole batches
_MODES = ("train", "eval", "batch_stats")


def batchnorm_digits_split() -> Split:
    """The digits split into 1541 training and 256 validation examples (no test set), standardized.

    ``dlcourse.training.standardized_digits_split(0, 256 / 1797, 0.0)``: a
    validation set that batches of 2, 8 and 64 cut into whole batches.
    Cached and read-only.

    Example:
        >>> split = batchnorm_digits_split()
        >>> split.X_train.shape, split.X_val.shape, split.X_test.shape
        ((1541, 64), (256, 64), (0, 64))
    """
    return standardized_digits_split(0, VAL_SIZE / len(load_digits()[1]), 0.0)


class BatchNormMLP:
    """``(linear -> [batch norm ->] ReLU) * depth -> linear``, He-normal weights, zero biases.

    Forward (layer l = 1..depth; h^0 = x)::

        z^l = h^{l-1} W^l + b^l
        a^l = gamma^l (z^l - mu) / sqrt(sigma^2 + eps) + beta^l     (batch norm; a^l = z^l without it)
        h^l = relu(a^l)
        logits = h^depth W^{depth+1} + b^{depth+1}

    mu and sigma^2 are, by ``mode``: "train", the batch's mean and biased
    variance per unit (and the running averages move toward them by
    ``momentum``, torch's convention); "eval", the running averages;
    "batch_stats", the statistics of consecutive groups of ``batch_size``
    rows, without touching the running averages (train mode applied to many
    batches at once).

    Noise after batch norm (Santurkar et al. 2018, section 2.1): when
    ``noise`` holds one ``(s^l, n^l)`` pair of (width,) arrays per hidden
    layer, "train" mode uses ``a^l = s^l * (batch norm of z^l) + n^l`` (per
    unit), and ``backward`` multiplies by s^l on the way back; the caller
    draws new pairs between updates.  "eval" and "batch_stats" ignore it.

    Args:
        depth, width: number and width of the hidden layers (>= 1).
        batchnorm: insert batch norm (torch ``BatchNorm1d`` defaults) before every ReLU.
        momentum: weight of the NEW batch statistic in the running averages, in [0, 1].
        rng: numpy Generator for the weights, drawn W1, W2, ... in order.
        sizes: (inputs, classes).

    Attributes:
        params: W1, b1, [gamma1, beta1,] ..., W{depth+1}, b{depth+1}.
        grads: same keys, filled by ``backward``.
        running: per hidden layer (running mean, running var); empty without batch norm.
        pre_activations, hidden: z^l and h^l of every hidden layer in the last ``forward``.
        noise: None, or per hidden layer the (scale, shift) applied after batch norm in "train" mode.

    Notes:
        With batch norm the linear biases are kept for a like-for-like
        comparison, but they do nothing: batch norm subtracts the batch mean,
        so their gradient is zero (torch code writes ``Linear(..., bias=False)``).

    Example:
        >>> model = BatchNormMLP(2, 3, batchnorm=True, rng=np.random.default_rng(0), sizes=(4, 2))
        >>> sorted(model.params)
        ['W1', 'W2', 'W3', 'b1', 'b2', 'b3', 'beta1', 'beta2', 'gamma1', 'gamma2']
        >>> model.forward(np.random.default_rng(1).normal(size=(5, 4))).shape
        (5, 2)
        >>> model.running[0][0].round(3)          # moved 10% toward the batch's mean
        array([-0.026, -0.031,  0.028])
    """

    def __init__(self, depth: int = 6, width: int = 32, *, batchnorm: bool = True, momentum: float = 0.1,
                 rng: np.random.Generator, sizes: tuple[int, int] = (64, 10)) -> None:
        self.depth, self.width = check_int(depth, "depth", 1), check_int(width, "width", 1)
        self.batchnorm, self.momentum = bool(batchnorm), check_range(momentum, "momentum", 0.0, 1.0)
        rng = check_rng(rng)
        widths = [sizes[0]] + [width] * depth + [sizes[1]]
        self.params: dict[str, np.ndarray] = {}
        for layer, shape in enumerate(itertools.pairwise(widths), start=1):
            self.params[f"W{layer}"], self.params[f"b{layer}"] = he_normal(shape, rng), np.zeros(shape[1])
            if batchnorm and layer <= depth:
                self.params[f"gamma{layer}"], self.params[f"beta{layer}"] = np.ones(width), np.zeros(width)
        self.grads: dict[str, np.ndarray] = {}
        self.running = [(np.zeros(width), np.ones(width)) for _ in range(depth)] if batchnorm else []
        self.pre_activations: list[np.ndarray] = []
        self.hidden: list[np.ndarray] = []
        self.noise: list[tuple[np.ndarray, np.ndarray]] | None = None
        self._caches: tuple[list[tuple], tuple] | None = None

    def _normalize(self, z: np.ndarray, layer: int, mode: str, batch_size: int) -> tuple[np.ndarray, Any]:
        gamma, beta = self.params[f"gamma{layer}"], self.params[f"beta{layer}"]
        if mode == "batch_stats":
            # batch statistics of consecutive groups of batch_size rows are instance norm
            # on the (n_batches, C, batch_size) view
            zb = z.reshape(-1, batch_size, z.shape[1]).transpose(0, 2, 1)
            out = groupnorm_forward(zb, z.shape[1], gamma, beta)[0]
            return out.transpose(0, 2, 1).reshape(z.shape), None
        out, cache, mean, var = batchnorm_forward(z, gamma, beta, *self.running[layer - 1],
                                                  training=mode == "train", momentum=self.momentum)
        if mode == "train":
            self.running[layer - 1] = (mean, var)
        return out, cache

    def forward(self, X: np.ndarray, mode: str = "train", batch_size: int | None = None) -> np.ndarray:
        """Logits for X (N, inputs); see the class for ``mode`` ("batch_stats" needs ``batch_size`` dividing N)."""
        check_choice(mode, "mode", _MODES)
        batch_size = len(X) if batch_size is None else check_int(batch_size, "batch_size", 1)
        h, caches, self.pre_activations, self.hidden = X, [], [], []
        for layer in range(1, self.depth + 1):
            z, linear_cache = linear_forward(h, self.params[f"W{layer}"], self.params[f"b{layer}"])
            a, norm_cache = self._normalize(z, layer, mode, batch_size) if self.batchnorm else (z, None)
            scale = None
            if self.noise is not None and self.batchnorm and mode == "train":
                scale, shift = self.noise[layer - 1]
                a = scale * a + shift
            h, relu_cache = relu_forward(a)
            caches.append((linear_cache, norm_cache, scale, relu_cache))
            self.pre_activations.append(z)
            self.hidden.append(h)
        last = self.depth + 1
        logits, out_cache = linear_forward(h, self.params[f"W{last}"], self.params[f"b{last}"])
        self._caches = (caches, out_cache)
        return logits

    def backward(self, dlogits: np.ndarray) -> np.ndarray:
        """Backpropagate dL/dlogits of the last ("train") ``forward``; fills ``grads`` and returns dL/dX."""
        if self._caches is None:
            raise RuntimeError("backward called before forward")
        layer_caches, out_cache = self._caches
        last = self.depth + 1
        d, self.grads[f"W{last}"], self.grads[f"b{last}"] = linear_backward(dlogits, out_cache)
        for layer in range(self.depth, 0, -1):
            linear_cache, norm_cache, scale, relu_cache = layer_caches[layer - 1]
            d = relu_backward(d, relu_cache)
            if scale is not None:
                d = d * scale
            if norm_cache is not None:
                d, self.grads[f"gamma{layer}"], self.grads[f"beta{layer}"] = batchnorm_backward(d, norm_cache)
            d, self.grads[f"W{layer}"], self.grads[f"b{layer}"] = linear_backward(d, linear_cache)
        return d


class MLPRun(NamedTuple):
    """What ``train_deep_mlp`` records.  S = steps, K = checkpoints, D = depth, W = width."""

    loss: np.ndarray             # (S,) minibatch loss of every update (NaN after a divergence)
    checkpoints: np.ndarray      # (K,) number of updates done when the rows below were recorded
    val_accuracy: np.ndarray     # (K,) evaluation mode (running statistics)
    val_accuracy_batch_stats: np.ndarray  # (K,) validation batches of batch_size normalized by their own statistics
    unit_mean: np.ndarray        # (K, D, W) mean of each hidden unit's ReLU output over the probe batch
    unit_std: np.ndarray         # (K, D, W) its standard deviation
    probe_mean: np.ndarray       # (K, D, W) mean of each pre-activation z = h W + b over the probe batch
    probe_var: np.ndarray        # (K, D, W) its (biased) variance
    batch_mean: np.ndarray       # (S, D, W) mean of z over the minibatch of each update
    batch_var: np.ndarray        # (S, D, W) its biased variance
    running_mean: np.ndarray     # (S + 1, D, W) after 0, 1, ..., S updates (batch norm only, else NaN)
    running_var: np.ndarray      # (S + 1, D, W)
    batch_indices: np.ndarray    # (S, batch_size) training examples of every update
    initial_params: dict[str, np.ndarray]
    final_params: dict[str, np.ndarray]


def train_deep_mlp(
    lr: float,
    batch_size: int,
    batchnorm: bool,
    *,
    steps: int = 200,
    record_every: int = 10,
    depth: int = 6,
    width: int = 32,
    momentum: float = 0.1,
    seed: int = 0,
    noise: float = 0.0,
) -> MLPRun:
    """Train a :class:`BatchNormMLP` on the digits with plain SGD and record its statistics.

    ``rng = default_rng(seed)`` draws the He-normal weights (the same draw with
    and without batch norm) and then a stream of permutations of the training
    set, cut into ``steps`` minibatches of ``batch_size`` examples (a batch may
    straddle two permutations).  :func:`dlcourse.training.fit` runs
    ``theta <- theta - lr * grad`` on softmax cross-entropy over them
    (plain SGD, in place) and stops at a non-finite loss.  Every
    ``record_every`` updates it records the validation accuracy in evaluation
    mode and with the validation set cut into batches of ``batch_size``
    normalized by their own statistics (what forgetting ``model.eval()``
    does), and the hidden units' statistics on a probe batch (the first 256
    training examples, batch statistics).

    With ``noise = c > 0`` (batch norm only), before every update each unit of
    every hidden layer gets a new scale s ~ U(1 - c/2, 1 + c/2) and shift
    n ~ U(-c, c) applied after batch norm (``BatchNormMLP.noise``), drawn
    from ``default_rng([seed, 1])``: the weights and minibatches stay those
    of the run without noise.

    Args:
        lr: learning rate, > 0.
        batch_size: examples per update, >= 2 (batch norm needs two), dividing 256.
        batchnorm: insert batch norm (torch ``BatchNorm1d`` defaults) before every ReLU.
        steps: number of updates, >= 1.
        record_every: updates between checkpoints, >= 1.
        depth, width: number and width of the hidden layers.
        momentum: batch norm's running-average weight of the NEW statistic (torch's convention).
        seed: seeds the weights and the minibatch order.
        noise: c in [0, 1], the size of the noise injected after batch norm (0: none).

    Returns:
        An :class:`MLPRun`.  A run whose loss stops being finite stops there;
        its later entries are NaN.

    Example:
        >>> run = train_deep_mlp(0.3, 64, True, steps=20, record_every=10, depth=2, width=8)
        >>> run.checkpoints, run.val_accuracy.round(3)
        (array([ 0, 10, 20]), array([0.156, 0.383, 0.48 ]))
    """
    lr = check_range(lr, "lr", 0.0, None, low_inclusive=False)
    batch_size = check_int(batch_size, "batch_size", 2)
    if VAL_SIZE % batch_size:
        raise ValueError(f"batch_size must divide the {VAL_SIZE} validation examples, got {batch_size}")
    steps, record_every = check_int(steps, "steps", 1), check_int(record_every, "record_every", 1)
    noise = check_range(noise, "noise", 0.0, 1.0)
    if noise and not batchnorm:
        raise ValueError(f"noise is injected after batch norm: use batchnorm=True with noise={noise}")
    X_train, y_train, X_val, y_val, _, _ = batchnorm_digits_split()
    rng = np.random.default_rng(seed)
    model = BatchNormMLP(depth, width, batchnorm=batchnorm, momentum=momentum, rng=rng)
    initial_params = {k: v.copy() for k, v in model.params.items()}
    epochs = -(-steps * batch_size // len(X_train))
    order = np.concatenate([rng.permutation(len(X_train)) for _ in range(epochs + 1)])
    batch_indices = order[: steps * batch_size].reshape(steps, batch_size)
    probe = X_train[:256]

    checkpoints = np.arange(0, steps + 1, record_every)
    stats = {name: np.full((len(checkpoints), depth, width), np.nan)
             for name in ("unit_mean", "unit_std", "probe_mean", "probe_var")}
    val_accuracy, val_accuracy_batch_stats = np.full(len(checkpoints), np.nan), np.full(len(checkpoints), np.nan)
    batch_mean, batch_var = np.full((steps, depth, width), np.nan), np.full((steps, depth, width), np.nan)
    running_mean, running_var = np.full((steps + 1, depth, width), np.nan), np.full((steps + 1, depth, width), np.nan)

    def record(step: int) -> None:
        """The statistics after ``step`` updates."""
        if batchnorm:
            running_mean[step], running_var[step] = np.array(model.running).transpose(1, 0, 2)
        if step % record_every:
            return
        k = step // record_every
        model.forward(probe, "batch_stats")
        zs, hs = model.pre_activations, model.hidden
        for name, stat in [("unit_mean", np.mean(hs, axis=1)), ("unit_std", np.std(hs, axis=1)),
                           ("probe_mean", np.mean(zs, axis=1)), ("probe_var", np.var(zs, axis=1))]:
            stats[name][k] = stat
        val_accuracy[k] = (model.forward(X_val, "eval").argmax(1) == y_val).mean()
        if batchnorm:
            val_accuracy_batch_stats[k] = (model.forward(X_val, "batch_stats", batch_size).argmax(1) == y_val).mean()

    noise_rng = np.random.default_rng([seed, 1])

    def draw_noise() -> None:
        if noise:
            model.noise = [(noise_rng.uniform(1 - noise / 2, 1 + noise / 2, width),
                            noise_rng.uniform(-noise, noise, width)) for _ in range(depth)]

    def sgd_in_place(grads: dict[str, np.ndarray]) -> None:
        # dlcourse.optim's "sgd" without its per-call argument checks (18 runs of 200 updates in the lecture)
        for name, grad in grads.items():
            model.params[name] -= lr * grad

    def after_update(step: int, _loss: float) -> None:
        # the pre-activations of the training batch, still held from the update's forward pass
        batch_mean[step - 1] = np.mean(model.pre_activations, axis=1)
        batch_var[step - 1] = np.var(model.pre_activations, axis=1)
        record(step)
        draw_noise()

    with np.errstate(all="ignore"), one_blas_thread():  # a diverging run overflows: fit stops it
        record(0)
        draw_noise()
        history = fit(model, sgd_in_place, X_train, y_train, epochs=1,
                      batches=batch_indices, on_step=after_update, stop_if_not_finite=True, progress=False)
    return MLPRun(history["step_loss"], checkpoints, val_accuracy, val_accuracy_batch_stats, stats["unit_mean"],
                  stats["unit_std"], stats["probe_mean"], stats["probe_var"], batch_mean, batch_var, running_mean,
                  running_var, batch_indices, initial_params, {k: v.copy() for k, v in model.params.items()})


@cache
def batchnorm_runs(lr: float, batch_size: int) -> dict[str, MLPRun]:
    """The cached pair ``{"plain": ..., "batch norm": ...}`` of ``train_deep_mlp`` runs (default sizes).

    Example:
        >>> sorted(batchnorm_runs(0.3, 64))
        ['batch norm', 'plain']
    """
    return {"plain": train_deep_mlp(lr, batch_size, False), "batch norm": train_deep_mlp(lr, batch_size, True)}
