"""Why batch norm helps, measured on the deep MLP of lecture 07: shift, noise and frozen statistics.

Three experiments on the networks of :mod:`dlcourse.batchnorm_mlp`:

* :func:`distribution_shift`: how far the inputs of each batch-norm layer
  move between consecutive updates, the "internal covariate shift" that Ioffe
  & Szegedy (2015) set out to reduce;
* :func:`noise_injection_runs`: Santurkar, Tsipras, Ilyas & Madry (2018),
  "How Does Batch Normalization Help Optimization?", section 2.1: noise
  injected after every batch norm makes that shift larger than without batch
  norm, and the network still trains like the batch-norm one;
* :func:`finetune_frozen_batchnorm`: fine-tuning a batch-norm network with
  small batches, with its layers in train mode or with their statistics
  frozen (eval mode), as detection and segmentation code does.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from dlcourse._checks import check_int, check_range
from dlcourse.batchnorm_mlp import VAL_SIZE, BatchNormMLP, MLPRun, batchnorm_runs, train_deep_mlp
from dlcourse.data import load_digits, standardize, train_val_test_split
from dlcourse.optim import Optimizer
from dlcourse.training import fit

__all__ = ["FrozenStatistics", "distribution_shift", "finetune_frozen_batchnorm", "noise_injection_runs"]


def distribution_shift(run: MLPRun) -> np.ndarray:
    """How much the pre-activations of layers 2..D move between consecutive updates, per layer.

    With mu_t and sigma_t^2 the mean and variance of a unit's pre-activation
    z over the minibatch of update t (``run.batch_mean``, ``run.batch_var``):

        d_t   = (mu_t - mu_{t-1}) / sigma_t
        shift = sqrt(mean of d_t^2 over the updates t >= 2 and the units of the layer)

    Layer 1 is left out: its input is the data, which no update changes.  Each
    d_t mixes the change of the weights with the change of the minibatch;
    both are what the next layer sees.  Updates after a divergence (NaN) are
    skipped.

    Args:
        run: a :class:`~dlcourse.batchnorm_mlp.MLPRun` with at least 2 updates and depth >= 2.

    Returns:
        (D - 1,) array: the shift of layers 2, ..., D, in units of their standard deviation.

    Source: Ioffe & Szegedy, "Batch Normalization", ICML 2015 (internal
    covariate shift: the change of a layer's input distribution as the
    earlier layers learn).  Santurkar et al. (2018) measure it differently,
    by the change of each layer's gradient.

    Example:
        >>> run = train_deep_mlp(0.3, 64, True, steps=20, record_every=10, depth=3, width=8)
        >>> distribution_shift(run).round(3)
        array([0.042, 0.051])
    """
    if not isinstance(run, MLPRun):
        raise TypeError(f"run must be an MLPRun (from train_deep_mlp), got {type(run).__name__}")
    mean, var = run.batch_mean[:, 1:], run.batch_var[:, 1:]
    if mean.shape[0] < 2 or mean.shape[1] < 1:
        raise ValueError(f"run needs at least 2 updates and depth >= 2, got batch_mean of shape {run.batch_mean.shape}")
    d = np.diff(mean, axis=0) / np.sqrt(var[1:])
    with np.errstate(invalid="ignore"):
        return np.sqrt(np.nanmean(d**2, axis=(0, 2)))


@functools.cache
def noise_injection_runs(lr: float = 1.0, batch_size: int = 64, noise: float = 1.0) -> dict[str, MLPRun]:
    """Santurkar et al.'s experiment: the deep MLP without batch norm, with it, and with noise after it.

    ``{"plain": ..., "batch norm": ...}`` are ``batchnorm_runs(lr, batch_size)``
    (the runs of the lecture's widget); ``"batch norm + noise"`` is
    ``train_deep_mlp(lr, batch_size, True, noise=noise)``: the same weights and
    minibatches, and before every update every unit gets a new random scale in
    [1 - noise/2, 1 + noise/2] and shift in [-noise, noise] after its batch norm.
    Cached.

    Args:
        lr: learning rate, one of the widget's (0.03, 0.3, 1.0) or any > 0.
        batch_size: examples per update, >= 2, dividing 256.
        noise: c in [0, 1], the size of the injected noise.

    Returns:
        dict name -> :class:`~dlcourse.batchnorm_mlp.MLPRun`.

    Notes:
        Santurkar et al. (2018, section 2.1, figure 2) add noise of random,
        changing mean and variance to each activation of each example after
        every batch norm of a VGG on CIFAR-10; here one scale and one shift
        per unit and update, shared by the batch, so the distribution the next
        layer sees jumps at every step.

    Example:
        >>> sorted(noise_injection_runs(0.3, 64, 0.5))
        ['batch norm', 'batch norm + noise', 'plain']
    """
    runs = batchnorm_runs(lr, batch_size)
    return {"plain": runs["plain"], "batch norm": runs["batch norm"],
            "batch norm + noise": train_deep_mlp(lr, batch_size, True, noise=noise)}


class FrozenStatistics:
    """A :class:`~dlcourse.batchnorm_mlp.BatchNormMLP` that trains with its batch norm in eval mode.

    ``forward(X)`` is ``model.forward(X, "eval")``: every batch norm layer
    normalizes with its running statistics, which stay fixed, so a batch of
    two is normalized exactly like a batch of a thousand; ``backward`` is the
    model's (through eval mode, the running statistics are constants).
    ``params`` and ``grads`` are the model's, so :func:`dlcourse.training.fit`
    trains the model itself.  In torch: ``model.train()`` and then
    ``m.eval()`` for every ``BatchNorm`` module ``m`` (again after every
    ``model.train()``), or ``torchvision.ops.FrozenBatchNorm2d``, which also
    freezes gamma and beta.

    Example:
        >>> model = BatchNormMLP(2, 4, rng=np.random.default_rng(0), sizes=(3, 2))
        >>> frozen = FrozenStatistics(model)
        >>> X, y = np.random.default_rng(1).normal(size=(8, 3)), np.array([0, 1] * 4)
        >>> _ = fit(frozen, Optimizer(model.params, "sgd", lr=0.1).step, X, y, epochs=2, batch_size=2,
        ...         rng=np.random.default_rng(2), progress=False)
        >>> model.running[0]                   # never updated: torch's initial statistics
        (array([0., 0., 0., 0.]), array([1., 1., 1., 1.]))
    """

    def __init__(self, model: BatchNormMLP) -> None:
        self.model = model

    @property
    def params(self) -> dict[str, np.ndarray]:
        return self.model.params

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return self.model.grads

    def forward(self, X: np.ndarray) -> np.ndarray:
        return self.model.forward(X, "eval")

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return self.model.backward(dout)


def _pretrained(run: MLPRun) -> BatchNormMLP:
    depth, width = run.running_mean.shape[1:]
    model = BatchNormMLP(depth, width, batchnorm=True, rng=np.random.default_rng(0))
    model.params = {name: value.copy() for name, value in run.final_params.items()}
    model.running = [(run.running_mean[-1, layer].copy(), run.running_var[-1, layer].copy())
                     for layer in range(depth)]
    return model


def finetune_frozen_batchnorm(
    contrast: float = 0.6,
    per_class: int = 10,
    batch_sizes: tuple[int, ...] = (2, 20),
    *,
    lr: float = 0.01,
    epochs: int = 3,
    seed: int = 0,
) -> dict[str, Any]:
    """Fine-tune a pretrained batch-norm MLP on dimmer digits, with batch norm in train mode or frozen.

    The pretrained network is the batch-norm run of ``batchnorm_runs(0.3, 64)``
    (6 hidden layers, trained on the digits), with its running statistics.
    The new task: the same digits with every pixel times ``contrast``, fed
    through the source's standardization (training mean and std of the
    original pixels), ``per_class`` labelled examples per class.  For each
    batch size, ``epochs`` of plain SGD (``dlcourse.training.fit``, seeded) from
    the pretrained weights, once per mode:

        train mode:         normalize with the batch statistics; running statistics updated
        frozen statistics:  normalize with the running statistics (eval mode); they stay fixed

    In both modes every weight, gamma and beta is trained (frozen: through
    :class:`FrozenStatistics`).  Accuracy: on the
    256 validation digits (dimmed the same way), in eval mode.

    Args:
        contrast: factor of every pixel, in (0, 1].
        per_class: labelled examples of each digit, >= 1 (at most 120).
        batch_sizes: fine-tuning batch sizes, each >= 2.
        lr: SGD learning rate, > 0.
        epochs: passes over the labelled examples, >= 1.
        seed: picks the examples and the order of the minibatches.

    Returns:
        dict: "before", the pretrained network's accuracy on the dimmed digits,
        and "after": batch size -> {"train mode": accuracy, "frozen statistics": accuracy}.

    Source: torchvision.ops.FrozenBatchNorm2d and the practice it encodes
    (detection and segmentation fine-tune with one or two images per GPU and
    keep batch norm's statistics, and often gamma and beta, frozen); Wu & He,
    "Group Normalization", ECCV 2018, section 1.

    Example:
        >>> result = finetune_frozen_batchnorm(per_class=2, batch_sizes=(2,), epochs=1)
        >>> round(result["before"], 3), {k: round(v, 3) for k, v in result["after"][2].items()}
        (0.895, {'train mode': 0.762, 'frozen statistics': 0.902})
    """
    contrast = check_range(contrast, "contrast", 0.0, 1.0, low_inclusive=False)
    per_class, epochs = check_int(per_class, "per_class", 1), check_int(epochs, "epochs", 1)
    batch_sizes = tuple(check_int(b, "batch_sizes", 2) for b in batch_sizes)
    lr = check_range(lr, "lr", 0.0, None, low_inclusive=False)
    X, y = load_digits()
    split = train_val_test_split(X, y, VAL_SIZE / len(y), 0.0, rng=np.random.default_rng(0))
    _, _, mean, std = standardize(split.X_train, split.X_val)  # the source's statistics
    X_train, X_val = (contrast * split.X_train - mean) / std, (contrast * split.X_val - mean) / std
    pick = np.random.default_rng(seed)
    labelled = np.concatenate([pick.choice(np.flatnonzero(split.y_train == c), per_class, replace=False)
                               for c in range(10)])
    source = batchnorm_runs(0.3, 64)["batch norm"]

    def accuracy(model: BatchNormMLP) -> float:
        return float(np.mean(model.forward(X_val, "eval").argmax(1) == split.y_val))

    after = {}
    for batch_size in batch_sizes:
        after[batch_size] = {}
        for mode in ("train mode", "frozen statistics"):
            model = _pretrained(source)
            trained = model if mode == "train mode" else FrozenStatistics(model)
            with np.errstate(all="ignore"):
                fit(trained, Optimizer(model.params, "sgd", lr=lr).step, X_train[labelled], split.y_train[labelled],
                    epochs=epochs, batch_size=batch_size, rng=np.random.default_rng([seed, batch_size]),
                    progress=False)
                after[batch_size][mode] = accuracy(model)
    return {"before": accuracy(_pretrained(source)), "after": after}
