"""Checks for the debugging exercise (``debugging.NAME``): four bugs of a PyTorch script, each graded by its effect.

The exercise hands out a PyTorch script that trains a small network on the
8x8 digits, runs without an error, and holds four planted bugs.  The student
writes the fixed version of four functions; each check calls them on torch
objects and judges only what they return and what the call did to the model:

- ``debugging.mse``: ``mse(pred, target)``, pred (N, 1), target (N,), returns
  the 0-dim tensor ``F.mse_loss(pred[:, 0], target)`` (bug: ``pred - target``
  broadcasts to (N, N)).  Observed: the value, and its gradient with respect
  to pred, which also shows whether the result is still in the graph.
- ``debugging.epoch_loss``: ``epoch_loss(model, batches, loss_fn)`` returns the
  mean of the per-batch losses as a Python float and keeps no graph alive
  (bug: ``total += loss``).  The check's ``loss_fn`` adds ``0.0 * sentinel``
  (a fresh leaf tensor) to every loss that has a graph and keeps only a weak
  reference to the sentinel, which therefore lives exactly as long as that
  graph.  While batch k is evaluated, no graph older than batch k - 1 may be
  alive, and none after the call: CPython frees a graph as soon as nothing
  refers to it, so the count is deterministic.
- ``debugging.train_step``: ``train_step(model, optimizer, x, y, loss_fn)``
  makes one optimizer step and returns the loss as a float (bug: no
  ``optimizer.zero_grad()``).  Observed: every parameter after each of
  several calls on one model and optimizer (the same batch again or new
  ones; SGD, momentum, Nesterov, Adam) and the returned losses.
- ``debugging.prepare``: ``prepare(X_train, X_test)`` standardizes both sets
  with the training mean and population std, std = 1 where std <= 1e-12, as
  :func:`dlcourse.data.standardize` (bug: the test set standardized with its
  own statistics).

Notes:
    These checks depart from the plain-data rule of ``docs/grading.md``: the
    student's functions receive torch tensors, an ``nn.Module``, a
    ``torch.optim`` optimizer and a torch loss function, because the exercise
    is about a torch script; the observables are computed from what the
    functions return (and the model afterwards) and converted to numpy.  The
    targets allow torch (``allowed=("torch",)``) and keep ``dlcourse``
    forbidden.  ``guarded_call``'s purity snapshot copies only numpy arrays
    and containers (a tensor is kept as is and never found changed), so each
    ``observe`` clones the input tensors itself.  ``train_step`` is guarded
    with ``pure=False``: updating the model's parameters and the optimizer's
    state in place is its contract (its x and y are still checked).  torch is
    imported inside functions only, so ``import dlcourse.grading`` stays light.
    The observations themselves live in ``dlcourse.sandbox.torch_observe``
    (numpy and torch only): for a proxy into the sandbox (``dlcourse grade``)
    they run in the worker, where the student's torch code is, and only
    their plain observables come back to be judged here.

Source of the exercise: VU Amsterdam DLVU lecture 4 'Tools of the trade'
(neural networks fail silently: broadcasting and keepdim; the memory leak of
``running_loss += l`` in a loop with ``opt.zero_grad()``, fixed by
``l.item()`` or ``detach()``; leakage by preprocessing with statistics other
than the training set's); Univ. of Macau 'Modern Techniques' (torch.optim).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dlcourse.data import standardize
from dlcourse.grading._core import Caller, Mistake, Target, Trial
from dlcourse.grading._guard import DEFAULT_FORBIDDEN, grader_code
from dlcourse.grading._report import GradingError
from dlcourse.grading.topics._common import FLOAT32_TOLERANCE, random_array
from dlcourse.training import digits_split
from dlcourse.sandbox import torch_observe
from dlcourse.sandbox.torch_observe import CONNECTED_FLAG, FLOAT_FLAG, ObservationError  # noqa: F401  (the flags: re-exported for tests)

__all__ = ["mse_reference", "epoch_loss_reference", "train_step_reference", "prepare_reference"]

ALLOWED = ("torch",)
CONSTANT_STD = 1e-12  # a training std at most this marks a constant feature: centred, not scaled
LOSS_FUNCTIONS = {"cross_entropy": "torch.nn.functional.cross_entropy", "mse_loss": "torch.nn.functional.mse_loss"}


def _torch() -> Any:
    import torch  # lazily: importing torch takes seconds, and only these checks need it

    return torch


# --------------------------------------------------------------- references


def mse_reference(pred: Any, target: Any) -> Any:
    """Mean squared error of predictions ``pred`` (N, 1) against targets ``target`` (N,): a 0-dim tensor."""
    return _torch().nn.functional.mse_loss(pred[:, 0], target)


def epoch_loss_reference(model: Any, batches: Sequence[tuple[Any, Any]], loss_fn: Callable[..., Any]) -> float:
    """The mean over ``batches`` of ``loss_fn(model(x), y)``, as a Python float; no graph is built."""
    total = 0.0
    with _torch().no_grad():
        for x, y in batches:
            total += loss_fn(model(x), y).item()
    return total / len(batches)


def train_step_reference(model: Any, optimizer: Any, x: Any, y: Any, loss_fn: Callable[..., Any]) -> float:
    """One optimizer step on the batch (x, y); returns the loss before the step as a Python float."""
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def prepare_reference(X_train: Any, X_test: Any) -> tuple[Any, Any]:
    """Both sets standardized with the training mean and population std (``dlcourse.data.standardize``).

    Computed in float64 and rounded to the inputs' dtype, so that a float32
    result is judged against the exact values.
    """
    torch = _torch()
    train, test, _, _ = standardize(X_train.double().numpy(), X_test.double().numpy(), eps=CONSTANT_STD)
    return torch.from_numpy(train).to(X_train.dtype), torch.from_numpy(test).to(X_test.dtype)


# --------------------------------------------------------- shared helpers


def _single_threaded(observe: Callable[[Caller, Trial], dict[str, Any]]) -> Callable[[Caller, Trial], dict[str, Any]]:
    """``observe`` with torch on one thread, restored afterwards.

    On a busy machine (several notebooks graded at once) torch's idle
    intra-op threads make every tiny operation up to 100 times slower; the
    trials' tensors are far below torch's parallel grain size, so one thread
    changes no result.
    """

    def observe_single_threaded(call: Caller, trial: Trial) -> dict[str, Any]:
        torch = _torch()
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return observe(call, trial)
        finally:
            torch.set_num_threads(threads)

    return observe_single_threaded


def _observer(name: str) -> Callable[[Caller, Trial], dict[str, Any]]:
    """The observation of ``torch_observe.OBSERVERS[name]``: here, or in the sandbox for a proxied function.

    A proxy into the sandbox (``dlcourse grade``) runs the observation in the
    worker, next to the student's function, and returns only its plain
    observables; judging them stays here.
    """
    observe = torch_observe.OBSERVERS[name]

    def observe_here_or_there(call: Caller, trial: Trial) -> dict[str, Any]:
        function = call.functions[name]
        remote_observe = getattr(type(function), "remote_observe", None)
        if remote_observe is not None:
            target = call.target
            return function.remote_observe(name, name, trial, pure=target.pure if target else True,
                                           time_limit=target.time_limit if target else None)
        try:
            return observe(call, trial)
        except ObservationError as error:
            raise GradingError(str(error)) from None

    return observe_here_or_there


# the graph-watching loss runs inside the student's watched call: it is grader code, not a forbidden module
grader_code(torch_observe.GraphWatchingLoss.__call__)


def _target(name: str, reference: Callable[..., Any], trials: Callable[..., list[Trial]],
            observe: str, mistakes: Sequence[tuple[str, str, Callable]],
            what: str, pure: bool = True) -> Target:
    return Target(name=name, roles=(name.split(".")[1],), reference=(reference,), trials=trials,
                  observe=_single_threaded(_observer(observe)), what=what, pure=pure, forbidden=DEFAULT_FORBIDDEN,
                  allowed=ALLOWED, mistakes=tuple(Mistake(n, text, (fn,)) for n, text, fn in mistakes))








# Models and batches of a trial are numpy data in ``trial.extra``; observe builds fresh torch objects from them.








def _model_trial(rng: np.random.Generator, label: str, sizes: Sequence[int], activation: str, dtype: str,
                 count: int, size: int, same_batch: bool = False, optimizer: tuple[str, dict] | None = None) -> Trial:
    """A model with nn.Linear's default init, U(+-1/sqrt(fan_in)), and ``count`` batches of ``size`` examples.

    Sizes ending in 10 classify digits (cross-entropy); sizes ending in 1
    regress normal targets from normal inputs (mean squared error).
    """
    layers = [(rng.uniform(-1, 1, (fan_out, fan_in)) / np.sqrt(fan_in), rng.uniform(-1, 1, fan_out) / np.sqrt(fan_in))
              for fan_in, fan_out in zip(sizes[:-1], sizes[1:])]
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
    return Trial(label, args, extra=extra, tolerance=FLOAT32_TOLERANCE if dtype == "float32" else None)


# -------------------------------------------------------- debugging.mse


def _mse_trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
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
                  tolerance=FLOAT32_TOLERANCE if dtype == "float32" else None)
            for words, n, scale, dtype in cases]




_MSE_MISTAKES = [
    ("mse_broadcast",
     "pred has shape (N, 1) and target (N,), so pred - target broadcasts to an (N, N) matrix of every prediction "
     "minus every target: make the shapes equal first (pred.squeeze(1) or target.unsqueeze(1)) and assert them.",
     lambda pred, target: ((pred - target) ** 2).mean()),
    ("mse_sum", "The MSE is the MEAN of the squared errors: use .mean(), not .sum() (a sum grows with the batch size).",
     lambda pred, target: ((pred[:, 0] - target) ** 2).sum()),
    ("mse_mean_dim0",
     "The loss must be one number, a 0-dim tensor like F.mse_loss's: .mean() without dim averages over all "
     "elements, while mean(dim=0) of an (N, 1) tensor leaves shape (1,).",
     lambda pred, target: ((pred - target[:, None]) ** 2).mean(dim=0)),
    ("mse_mean_dim1",
     "The loss must be one number, a 0-dim tensor: mean(dim=1) averages over the single output column only and "
     "leaves one squared error per example; use .mean() over all elements.",
     lambda pred, target: ((pred - target[:, None]) ** 2).mean(dim=1)),
    ("mse_item",
     "Return the loss tensor itself: .item() (like float() or .detach()) cuts it off from the autograd graph, so "
     "loss.backward() could not reach the model.", lambda pred, target: ((pred[:, 0] - target) ** 2).mean().item()),
]


# ------------------------------------------------- debugging.epoch_loss




def _epoch_loss_trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
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




def _epoch_loss_sums_tensors(model, batches, loss_fn):
    total = 0.0
    for x, y in batches:
        total += loss_fn(model(x), y)
    return total / len(batches)


def _epoch_loss_detached(model, batches, loss_fn):
    total = 0.0
    for x, y in batches:
        total += loss_fn(model(x), y).detach()
    return total / len(batches)


_EPOCH_LOSS_MISTAKES = [
    ("epoch_loss_sums_tensors",
     "total += loss adds TENSORS: total becomes one graph that holds every batch's computation (memory grows with "
     "each batch) and the result is a tensor; add loss.item(), a Python float, instead (or compute under "
     "torch.no_grad()).", _epoch_loss_sums_tensors),
    ("epoch_loss_item_at_end",
     ".item() at the end is too late: while the loop runs, the sum of loss tensors (or a list of them) holds the "
     "graph of every batch; call loss.item() inside the loop, once per batch.",
     lambda model, batches, loss_fn: _epoch_loss_sums_tensors(model, batches, loss_fn).item()),
    ("epoch_loss_detached_tensor",
     "Return a Python float: .detach() frees the graph, but the result is still a tensor; use loss.item() for each "
     "batch.", _epoch_loss_detached),
    ("epoch_loss_sum",
     "Divide by the number of batches: epoch_loss returns the AVERAGE of the per-batch losses, not their sum.",
     lambda model, batches, loss_fn: epoch_loss_reference(model, batches, loss_fn) * len(batches)),
]


# ------------------------------------------------- debugging.train_step


def _train_step_trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
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




def _train_step_with(order: str) -> Callable[..., Any]:
    """A train_step doing ``order``'s words in turn ("zero forward backward step"), returning the loss or its value."""

    def train_step(model, optimizer, x, y, loss_fn):
        for word in order.split():
            if word == "zero":
                optimizer.zero_grad()
            elif word == "forward":
                loss = loss_fn(model(x), y)
            elif word == "backward":
                loss.backward()
            elif word == "step":
                optimizer.step()
        return loss if order.endswith("tensor") else loss.item()

    return train_step


_TRAIN_STEP_MISTAKES = [
    ("train_step_no_zero_grad",
     "optimizer.zero_grad() is missing: loss.backward() ADDS to each parameter's .grad, so every step uses the sum "
     "of all gradients so far; call optimizer.zero_grad() before loss.backward().",
     _train_step_with("forward backward step")),
    ("train_step_zero_grad_before_step",
     "optimizer.zero_grad() between loss.backward() and optimizer.step() erases the gradient just computed, so the "
     "parameters never change: zero the gradients before loss.backward() (or after optimizer.step()).",
     _train_step_with("forward backward zero step")),
    ("train_step_returns_tensor",
     "Return loss.item(), a Python float: the loss tensor carries its graph, and a loop that collects the returned "
     "losses would keep every step's graph alive.", _train_step_with("zero forward backward step tensor")),
]


# ---------------------------------------------------- debugging.prepare


def _prepare_trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
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
                  tolerance=FLOAT32_TOLERANCE if dtype == "float32" else None)
            for label, (X_train, X_test), dtype in cases]




def _prepare_variant(statistics: str = "train", correction: int = 0, constant: str = "one") -> Callable[..., Any]:
    """prepare with the statistics of ``statistics`` ("train", "own", "both"), std's ``correction``, and
    constant features handled by ``constant`` ("one": std = 1; "eps": std + 1e-8; "none": nothing)."""

    def prepare(X_train, X_test):
        torch = _torch()

        def standardize_with(X, source):
            mean, std = source.mean(dim=0), source.std(dim=0, correction=correction)
            if constant == "one":
                std = torch.where(std <= CONSTANT_STD, torch.ones_like(std), std)
            return (X - mean) / (std + 1e-8 if constant == "eps" else std)

        source = {"train": X_train, "own": X_test, "both": torch.cat([X_train, X_test])}[statistics]
        return standardize_with(X_train, X_train if statistics == "own" else source), standardize_with(X_test, source)

    return prepare


_PREPARE_MISTAKES = [
    ("prepare_test_own_statistics",
     "The test set was standardized with its OWN mean and std: standardize both sets with the TRAINING mean and "
     "std (the model was trained on data scaled that way, and a test batch of one example would become all zeros).",
     _prepare_variant(statistics="own")),
    ("prepare_combined_statistics",
     "The mean and std came from training and test data together, which leaks test information into training: "
     "compute them on X_train only.", _prepare_variant(statistics="both")),
    ("prepare_unbiased_std",
     "torch's .std() divides by N - 1 by default; the population std divides by N: use "
     "X_train.std(dim=0, correction=0).", _prepare_variant(correction=1)),
    ("prepare_constant_features_unguarded",
     "Some pixels are constant on the training set (std = 0) and 0 / 0 gives nan: where std <= 1e-12 use std = 1, "
     "e.g. torch.where(std <= 1e-12, torch.ones_like(std), std).", _prepare_variant(constant="none")),
    ("prepare_plus_eps",
     "Adding 1e-8 to the std turns a constant pixel into a division by 1e-8 (huge test values): instead use std = 1 "
     "where std <= 1e-12, e.g. torch.where(std <= 1e-12, torch.ones_like(std), std).",
     _prepare_variant(constant="eps")),
]


TARGETS: tuple[Target, ...] = (
    _target("debugging.mse", mse_reference, _mse_trials, "mse", _MSE_MISTAKES, "losses"),
    _target("debugging.epoch_loss", epoch_loss_reference, _epoch_loss_trials, "epoch_loss",
            _EPOCH_LOSS_MISTAKES, "evaluation passes"),
    _target("debugging.train_step", train_step_reference, _train_step_trials, "train_step",
            _TRAIN_STEP_MISTAKES, "training runs", pure=False),
    _target("debugging.prepare", prepare_reference, _prepare_trials, "prepare", _PREPARE_MISTAKES, "splits"),
)
