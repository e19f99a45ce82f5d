"""The trials of the debugging checks: what the student's four torch functions are handed.

Trials hold plain data only (numpy arrays, names, numbers), so that they can
cross into the sandbox; the observations in :mod:`dlcourse.sandbox.torch_observe`
build fresh torch objects from them for every call:

- ``mse``: ``pred`` (N, 1) and ``target`` (N,) drawn as normal values;
- ``epoch_loss`` and ``train_step``: a model as its layers' weights in
  ``trial.extra`` (nn.Linear's default init, U(+-1/sqrt(fan_in))) with tanh
  or ReLU between layers, and batches of the 8x8 digits (cross-entropy) or of
  normal regression data (mean squared error); ``train_step`` also names a
  ``torch.optim`` optimizer and its settings;
- ``prepare``: a training and a test set, digits or features with offsets,
  scales and exactly constant columns.

``args`` name what the feedback shows ("a 64-16-10 MLP with tanh, float64");
every case has a batch of one, odd sizes or float32 among the visible trials.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from dlcourse.grading._core import Trial
from dlcourse.grading.topics._common import FLOAT32_TOLERANCE, random_array
from dlcourse.training import digits_split

# the loss_fn handed to the student's functions, as the feedback names it
LOSS_FUNCTIONS = {"cross_entropy": "torch.nn.functional.cross_entropy", "mse_loss": "torch.nn.functional.mse_loss"}


def _tolerance(dtype: str):
    return FLOAT32_TOLERANCE if dtype == "float32" else None


def _model_trial(rng: np.random.Generator, label: str, sizes: Sequence[int], activation: str, dtype: str,
                 count: int, size: int, same_batch: bool = False, optimizer: tuple[str, dict] | None = None) -> Trial:
    """A model with nn.Linear's default init, U(+-1/sqrt(fan_in)), and ``count`` batches of ``size`` examples.

    Sizes ending in 10 classify digits (cross-entropy); sizes ending in 1
    regress normal targets from normal inputs (mean squared error).
    """
    layers = [(rng.uniform(-1, 1, (fan_out, fan_in)) / np.sqrt(fan_in), rng.uniform(-1, 1, fan_out) / np.sqrt(fan_in))
              for fan_in, fan_out in itertools.pairwise(sizes)]
    drawn = 1 if same_batch else count
    if sizes[-1] == 10:
        split, loss = digits_split(), "cross_entropy"
        rows = rng.choice(len(split.X_train), drawn * size, replace=False).reshape(drawn, size)
        batches = [(split.X_train[r], split.y_train[r]) for r in rows]
    else:
        loss = "mse_loss"
        batches = [(rng.standard_normal((size, sizes[0])), rng.standard_normal((size, 1))) for _ in range(drawn)]
    batches = batches * count if same_batch else batches
    shape = "-".join(map(str, sizes))
    model = f"a linear model {shape}" if len(sizes) == 2 else f"a {shape} MLP with {activation}"
    targets = "class labels" if loss == "cross_entropy" else "regression targets"
    args = [("model", f"{model}, {dtype}"),
            ("batches", f"{count} batches: x {batches[0][0].shape}, y {batches[0][1].shape} {targets}"),
            ("loss_fn", LOSS_FUNCTIONS[loss])]
    extra = {"layers": layers, "activation": activation, "dtype": dtype, "batches": batches, "loss": loss}
    if optimizer is not None:
        name, options = optimizer
        settings = ", ".join(f"{key}={value}" for key, value in options.items())
        args[1:2] = [("optimizer", f"torch.optim.{name}({settings})"),
                     ("x, y", args[1][1].replace("batches:", "calls, one batch each:"))]
        extra.update(optimizer=name, options=options)
    return Trial(label, args, extra=extra, tolerance=_tolerance(dtype))


def mse_trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
    # (words, N, scale, dtype): a batch of one, odd sizes, tiny and huge values, float32
    cases = [("7 predictions", 7, 1.0, "float64"), ("a batch of one prediction", 1, 1.0, "float64"),
             ("64 predictions of size ~3", 64, 3.0, "float32")]
    if hidden:
        cases += [("3 predictions", 3, 1.0, "float64"), ("100 predictions", 100, 2.0, "float64"),
                  ("5 tiny predictions (~1e-6)", 5, 1e-6, "float64"), ("9 huge predictions (~1e3)", 9, 1e3, "float64"),
                  ("2 predictions", 2, 1.0, "float64"), ("33 predictions", 33, 1.0, "float32")]
    return [Trial(f"{words}: pred (N, 1) and target (N,) as torch {dtype} tensors",
                  [("pred", random_array(rng, (n, 1), scale, dtype)),
                   ("target", random_array(rng, (n,), scale, dtype))],
                  tolerance=_tolerance(dtype))
            for words, n, scale, dtype in cases]


def epoch_loss_trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
    # (label, layer sizes, activation, dtype, batches, batch size)
    cases = [("5 batches of 8 digits, an MLP", (64, 16, 10), "tanh", "float64", 5, 8),
             ("4 batches of one example, a linear regression", (3, 1), "tanh", "float64", 4, 1),
             ("6 batches of 5 digits, a float32 MLP", (64, 8, 10), "relu", "float32", 6, 5)]
    if hidden:
        cases += [("a single batch of 16 digits", (64, 10), "tanh", "float64", 1, 16),
                  ("12 batches of 7 digits", (64, 12, 10), "relu", "float64", 12, 7),
                  ("3 batches of 20, a regression MLP", (5, 9, 1), "tanh", "float64", 3, 20),
                  ("2 batches of 3 digits", (64, 4, 10), "tanh", "float64", 2, 3)]
    return [_model_trial(rng, *case) for case in cases]


def train_step_trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
    # (label, layer sizes, activation, dtype, calls, batch size, same batch every call, optimizer)
    cases = [("the same batch of 8 digits 3 times, SGD", (64, 16, 10), "tanh", "float64", 3, 8, True,
              ("SGD", {"lr": 0.5})),
             ("3 batches of one example, SGD with momentum", (3, 1), "tanh", "float64", 3, 1, False,
              ("SGD", {"lr": 0.1, "momentum": 0.9})),
             ("4 batches of 6 digits, a float32 MLP, SGD", (64, 8, 10), "relu", "float32", 4, 6, False,
              ("SGD", {"lr": 0.2}))]
    if hidden:
        cases += [("the same batch of 5 digits 4 times, Adam", (64, 12, 10), "relu", "float64", 4, 5, True,
                   ("Adam", {"lr": 0.01})),
                  ("5 batches of 7 digits, SGD with weight decay", (64, 10), "tanh", "float64", 5, 7, False,
                   ("SGD", {"lr": 0.3, "weight_decay": 0.01})),
                  ("2 batches of 20, a regression MLP, SGD", (5, 9, 1), "tanh", "float64", 2, 20, False,
                   ("SGD", {"lr": 0.05})),
                  ("a single call", (64, 10), "tanh", "float64", 1, 9, False, ("SGD", {"lr": 0.5})),
                  ("6 batches of 3 digits, Nesterov momentum", (64, 6, 10), "tanh", "float64", 6, 3, False,
                   ("SGD", {"lr": 0.1, "momentum": 0.8, "nesterov": True}))]
    return [_model_trial(rng, *case) for case in cases]


def prepare_trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
    split = digits_split()

    def digits(n_train: int, n_test: int) -> tuple[np.ndarray, np.ndarray]:
        return (split.X_train[rng.choice(len(split.X_train), n_train, replace=False)],
                split.X_test[rng.choice(len(split.X_test), n_test, replace=False)])

    def shifted(n_train: int, n_test: int, features: int) -> tuple[np.ndarray, np.ndarray]:
        # offsets and scales per feature, a test set drawn a little off, and two exactly constant features
        offset, scale = rng.normal(0.0, 100.0, features), rng.uniform(0.1, 10.0, features)
        X_train = offset + scale * rng.standard_normal((n_train, features))
        X_train[:, 0], X_train[:, -1] = 0.0, 2.5
        return X_train, offset + scale * (0.5 + rng.standard_normal((n_test, features)))

    cases = [("40 training and 15 test digits", digits(40, 15), "float64"),
             ("7 training and 3 test rows of 5 features with offsets, two of them constant", shifted(7, 3, 5),
              "float64"),
             ("30 training and 10 test digits", digits(30, 10), "float32")]
    if hidden:
        cases += [("the whole digits split (1257 training, 270 test)", (split.X_train, split.X_test), "float64"),
                  ("a test set of one digit", digits(25, 1), "float64"),
                  ("a training set of one digit", digits(1, 6), "float64"),
                  ("50 training and 20 test rows of 9 features with offsets", shifted(50, 20, 9), "float64"),
                  ("the whole digits split", (split.X_train, split.X_test), "float32")]
    return [Trial(f"{label}, torch {dtype} tensors",
                  [("X_train", X_train.astype(dtype)), ("X_test", X_test.astype(dtype))],
                  tolerance=_tolerance(dtype))
            for label, (X_train, X_test), dtype in cases]
