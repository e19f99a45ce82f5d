"""Transfer learning on the 8x8 digits: a case where it fails and a case where it works (lecture 08).

* :func:`frozen_features_probe`: train on the digits 0-4, freeze the hidden
  layer, and train only a new last layer for 5-9 from k examples per class,
  next to the same last layer on raw pixels and on a frozen random layer.
  The features of 0-4 do not help 5-9.
* :func:`finetune_vs_scratch`: train on all ten digits, then adapt to the
  same digits scanned washed out (less contrast, grey background) from k
  examples per class: fine-tuning the pretrained network against training the
  same network from scratch.

Every network is a ``dlcourse.layers.MLP`` trained by
:func:`dlcourse.training.fit` with Adam on :func:`dlcourse.training.digits_split`
(pixels in [0, 1]).

Source: VU Amsterdam DLVU lecture 4 'Tools of the trade' (transfer learning:
remove the last layer, add a new one, train only that layer); Yosinski,
Clune, Bengio & Lipson, "How transferable are features in deep neural
networks?", NeurIPS 2014 (the last layers are the most task-specific).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dlcourse._checks import check_int, check_range
from dlcourse.layers import MLP, relu_forward
from dlcourse.optim import Optimizer
from dlcourse.training import accuracy, digits_split, fit

__all__ = ["finetune_vs_scratch", "frozen_features_probe", "washed_out"]


def _train(model: MLP, X: np.ndarray, y: np.ndarray, *, epochs: int, lr: float, batch_size: int, seed) -> MLP:
    fit(model, Optimizer(model.params, "adam", lr=lr).step, X, y, epochs=epochs, batch_size=batch_size,
        rng=np.random.default_rng(seed), progress=False)
    return model


def _few(y: np.ndarray, classes: Sequence[int], k: int, seed) -> np.ndarray:
    """k random example indices of every class, class by class."""
    pick = np.random.default_rng(seed)
    return np.concatenate([pick.choice(np.flatnonzero(y == c), k, replace=False) for c in classes])


def _check_ks(ks: Sequence[int], largest: int) -> tuple[int, ...]:
    ks = tuple(check_int(k, "ks", 1) for k in ks)
    if not ks or max(ks) > largest:
        raise ValueError(f"ks must be a non-empty list of examples per class, each 1 to {largest}, got {ks}")
    return ks


def frozen_features_probe(
    ks: Sequence[int] = (1, 3, 10), *, repeats: int = 6, hidden: int = 256, source_epochs: int = 20, seed: int = 0
) -> dict[int, dict[str, float]]:
    """Features learned on the digits 0-4, frozen, as the input of a new last layer for 5-9.

    Source network: 64-``hidden``-5 ReLU MLP trained on the training digits
    0-4 (Adam, lr 1e-3, batches of 32, ``source_epochs`` epochs).  Its hidden
    layer is then frozen:

        features(x) = relu(x W1 + b1)        (computed once; W1, b1 never change again)

    For k examples of each of 5-9 (``repeats`` random draws), a new softmax
    layer (Adam, lr 1e-2, 100 full-batch steps) is the only thing trained,
    on three inputs: the raw pixels ("pixels, linear"), a frozen random
    hidden layer of the same width ("random features", He-normal weights,
    zero biases) and the frozen features of 0-4 ("features from 0-4").
    Accuracy: on the validation digits 5-9.

    Args:
        ks: labelled examples per class, each 1 to 100.
        repeats: draws of the labelled examples per k, >= 1.
        hidden: width of the hidden layer, >= 1.
        source_epochs: epochs of the source network, >= 1.
        seed: seeds the networks and the draws.

    Returns:
        k -> {"pixels, linear", "random features", "features from 0-4"} -> mean validation accuracy.

    Example:
        >>> result = frozen_features_probe((1,), repeats=1, hidden=16, source_epochs=2)
        >>> {name: round(value, 3) for name, value in result[1].items()}
        {'pixels, linear': 0.496, 'random features': 0.533, 'features from 0-4': 0.385}
    """
    ks, repeats = _check_ks(ks, 100), check_int(repeats, "repeats", 1)
    hidden, source_epochs = check_int(hidden, "hidden", 1), check_int(source_epochs, "source_epochs", 1)
    split = digits_split()
    source = split.y_train < 5
    body = _train(MLP([64, hidden, 5], rng=np.random.default_rng([seed, 0])), split.X_train[source],
                  split.y_train[source], epochs=source_epochs, lr=1e-3, batch_size=32, seed=[seed, 1])
    random_body = MLP([64, hidden, 5], rng=np.random.default_rng([seed, 2]))
    target_val = split.y_val >= 5

    def frozen(W: np.ndarray, b: np.ndarray):
        return lambda X: relu_forward(X @ W + b)[0]

    inputs = {"pixels, linear": lambda X: X,
              "random features": frozen(random_body.params["W1"], random_body.params["b1"]),
              "features from 0-4": frozen(body.params["W1"], body.params["b1"])}
    result = {}
    for k in ks:
        accuracies: dict[str, list[float]] = {name: [] for name in inputs}
        for repeat in range(repeats):
            few = _few(split.y_train, range(5, 10), k, [seed, 3, k, repeat])
            for name, features in inputs.items():
                F_train, F_val = features(split.X_train[few]), features(split.X_val[target_val])
                head = _train(MLP([F_train.shape[1], 5], rng=np.random.default_rng([seed, 4, repeat])), F_train,
                              split.y_train[few] - 5, epochs=100, lr=1e-2, batch_size=len(few),
                              seed=[seed, 5, repeat])
                accuracies[name].append(accuracy(head, F_val, split.y_val[target_val] - 5))
        result[k] = {name: float(np.mean(values)) for name, values in accuracies.items()}
    return result


def washed_out(X: np.ndarray, contrast: float = 0.5) -> np.ndarray:
    """Digits scanned with less contrast on a grey background: ``contrast * x + (1 - contrast) / 2``.

    Pixels in [0, 1] stay in [0, 1]: black (0) becomes (1 - contrast) / 2, white (1) becomes (1 + contrast) / 2.

    Example:
        >>> washed_out(np.array([0.0, 0.5, 1.0]))
        array([0.25, 0.5 , 0.75])
    """
    contrast = check_range(contrast, "contrast", 0.0, 1.0)
    return contrast * X + (1 - contrast) / 2


def finetune_vs_scratch(
    ks: Sequence[int] = (1, 5),
    *,
    contrast: float = 0.5,
    repeats: int = 3,
    hidden: int = 64,
    epochs: int = 30,
    source_epochs: int = 20,
    seed: int = 0,
) -> dict[int, dict[str, float]]:
    """Pretrain on the ten digits, then learn the washed-out digits from k examples per class.

    Source network: 64-``hidden``-10 ReLU MLP trained on all training digits
    (Adam, lr 1e-3, batches of 32, ``source_epochs`` epochs).  Target task: the
    same ten classes, inputs :func:`washed_out` (``contrast``), k labelled
    examples per class (``repeats`` random draws).  Three networks, evaluated
    on the washed-out validation digits:

        "from scratch":               a new network of the same shape, trained on the k examples (Adam, lr 1e-2)
        "pretrained, not fine-tuned": the source network as it is
        "pretrained, fine-tuned":     the source network, every layer trained on the k examples (Adam, lr 3e-3)

    Both trainings run ``epochs`` epochs with batches of 10.

    Args:
        ks: labelled examples per class, each 1 to 100.
        contrast: of :func:`washed_out`, in [0, 1].
        repeats: draws of the labelled examples per k, >= 1.
        hidden: width of the hidden layer, >= 1.
        epochs: training epochs on the target task, >= 1.
        source_epochs: epochs of the source network, >= 1.
        seed: seeds the networks and the draws.

    Returns:
        k -> {"from scratch", "pretrained, not fine-tuned", "pretrained, fine-tuned"} -> mean validation accuracy.

    Example:
        >>> result = finetune_vs_scratch((1,), repeats=1, epochs=2, source_epochs=2)
        >>> {name: round(value, 3) for name, value in result[1].items()}
        {'from scratch': 0.144, 'pretrained, not fine-tuned': 0.563, 'pretrained, fine-tuned': 0.774}
    """
    ks, repeats = _check_ks(ks, 100), check_int(repeats, "repeats", 1)
    hidden, epochs = check_int(hidden, "hidden", 1), check_int(epochs, "epochs", 1)
    source_epochs = check_int(source_epochs, "source_epochs", 1)
    split = digits_split()
    X_train, X_val = washed_out(split.X_train, contrast), washed_out(split.X_val, contrast)
    source = _train(MLP([64, hidden, 10], rng=np.random.default_rng([seed, 0])), split.X_train, split.y_train,
                    epochs=source_epochs, lr=1e-3, batch_size=32, seed=[seed, 1])
    result = {}
    for k in ks:
        accuracies: dict[str, list[float]] = {"from scratch": [], "pretrained, not fine-tuned": [],
                                              "pretrained, fine-tuned": []}
        for repeat in range(repeats):
            few = _few(split.y_train, range(10), k, [seed, 3, k, repeat])
            scratch = _train(MLP([64, hidden, 10], rng=np.random.default_rng([seed, 4, repeat])), X_train[few],
                             split.y_train[few], epochs=epochs, lr=1e-2, batch_size=10, seed=[seed, 5, repeat])
            tuned = MLP([64, hidden, 10], rng=np.random.default_rng(0))
            tuned.params = {name: value.copy() for name, value in source.params.items()}
            tuned.grads = {name: np.zeros_like(value) for name, value in tuned.params.items()}
            _train(tuned, X_train[few], split.y_train[few], epochs=epochs, lr=3e-3, batch_size=10,
                   seed=[seed, 5, repeat])
            accuracies["from scratch"].append(accuracy(scratch, X_val, split.y_val))
            accuracies["pretrained, not fine-tuned"].append(accuracy(source, X_val, split.y_val))
            accuracies["pretrained, fine-tuned"].append(accuracy(tuned, X_val, split.y_val))
        result[k] = {name: float(np.mean(values)) for name, values in accuracies.items()}
    return result
