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
    their plain observables come back to be judged here.  The trials (plain
    data from which the observations build models, batches and tensors) are
    in :mod:`dlcourse.grading.topics._debugging_trials`.

Source of the exercise: VU Amsterdam DLVU lecture 4 'Tools of the trade'
(neural networks fail silently: broadcasting and keepdim; the memory leak of
``running_loss += l`` in a loop with ``opt.zero_grad()``, fixed by
``l.item()`` or ``detach()``; leakage by preprocessing with statistics other
than the training set's); Univ. of Macau 'Modern Techniques' (torch.optim).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from dlcourse.data import standardize
from dlcourse.grading._core import Caller, Target, Trial
from dlcourse.grading._guard import DEFAULT_FORBIDDEN, grader_code
from dlcourse.grading._report import GradingError
from dlcourse.grading.topics._common import one_role_target
from dlcourse.grading.topics._debugging_trials import epoch_loss_trials, mse_trials, prepare_trials, train_step_trials
from dlcourse.sandbox import torch_observe
from dlcourse.sandbox.torch_observe import ObservationError

__all__ = ["epoch_loss_reference", "mse_reference", "prepare_reference", "train_step_reference"]

ALLOWED = ("torch",)
CONSTANT_STD = 1e-12  # a training std at most this marks a constant feature: centred, not scaled


def _torch() -> Any:
    import torch  # lazily: importing torch takes seconds, and only these checks need it

    return torch


# --------------------------------------------------------------- references


def mse_reference(pred: Any, target: Any) -> Any:
    """Mean squared error of predictions ``pred`` (N, 1) against targets ``target`` (N,): a 0-dim tensor.

    >>> import torch
    >>> mse_reference(torch.tensor([[1.0], [3.0]]), torch.tensor([0.0, 1.0]))  # (1 + 4) / 2
    tensor(2.5000)
    """
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

    >>> import torch
    >>> X_train, X_test = torch.tensor([[0.0, 5.0], [2.0, 5.0]]), torch.tensor([[4.0, 6.0]])
    >>> prepare_reference(X_train, X_test)[1]  # mean (1, 5), std (1, 0 -> 1: a constant feature)
    tensor([[3., 1.]])
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


def _observer(role: str) -> Callable[[Caller, Trial], dict[str, Any]]:
    """The observation of ``torch_observe.OBSERVERS[role]``: here, or in the sandbox for a proxied function.

    A proxy into the sandbox (``dlcourse grade``) runs the observation in the
    worker, next to the student's function, and returns only its plain
    observables; judging them stays here.
    """
    observe = torch_observe.OBSERVERS[role]

    def observe_here_or_there(call: Caller, trial: Trial) -> dict[str, Any]:
        function = call.functions[role]
        remote_observe = getattr(type(function), "remote_observe", None)
        if remote_observe is not None:
            target = call.target
            return function.remote_observe(role, role, trial, pure=target.pure if target else True,
                                           time_limit=target.time_limit if target else None)
        try:
            return observe(call, trial)
        except ObservationError as error:
            raise GradingError(str(error)) from None

    return observe_here_or_there


# the graph-watching loss runs inside the student's watched call: it is grader code, not a forbidden module
grader_code(torch_observe.GraphWatchingLoss.__call__)


def _debugging_target(name: str, role: str, reference: Callable[..., Any], trials: Callable[..., list[Trial]],
                      mistakes: Sequence[tuple[str, str, Callable]], what: str, pure: bool = True) -> Target:
    """A check of the student's torch function ``role``, observed by ``torch_observe.OBSERVERS[role]``."""
    return one_role_target(name, role, reference, trials, _single_threaded(_observer(role)), mistakes, what=what,
                           pure=pure, forbidden=DEFAULT_FORBIDDEN, allowed=ALLOWED)


# ----------------------------------------------------------------- catalogue
# Each function is written as the script's fixed code with named pieces; a
# mistake swaps the pieces a student gets wrong (the planted bug comes first).


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


def _no_grad() -> Any:
    return _torch().no_grad()


def _epoch_loss(
    context: Callable[[], Any] = _no_grad,
    value: Callable[[Any], Any] = lambda loss: loss.item(),
    average: Callable[[Any, int], Any] = lambda total, count: total / count,
) -> Callable[..., Any]:
    """``total += loss.item()`` over the batches under ``torch.no_grad()``, then ``total / len(batches)``.

    ``context`` is what the loop runs in, ``value`` what is added per batch,
    ``average`` what is returned: each may be swapped.
    """

    def epoch_loss(model, batches, loss_fn):
        total = 0.0
        with context():
            for x, y in batches:
                total += value(loss_fn(model(x), y))
        return average(total, len(batches))

    return epoch_loss


_EPOCH_LOSS_MISTAKES = [
    ("epoch_loss_sums_tensors",
     "total += loss adds TENSORS: total becomes one graph that holds every batch's computation (memory grows with "
     "each batch) and the result is a tensor; add loss.item(), a Python float, instead (or compute under "
     "torch.no_grad()).", _epoch_loss(context=contextlib.nullcontext, value=lambda loss: loss)),
    ("epoch_loss_item_at_end",
     ".item() at the end is too late: while the loop runs, the sum of loss tensors (or a list of them) holds the "
     "graph of every batch; call loss.item() inside the loop, once per batch.",
     _epoch_loss(context=contextlib.nullcontext, value=lambda loss: loss,
                 average=lambda total, count: (total / count).item())),
    ("epoch_loss_detached_tensor",
     "Return a Python float: .detach() frees the graph, but the result is still a tensor; use loss.item() for each "
     "batch.", _epoch_loss(context=contextlib.nullcontext, value=lambda loss: loss.detach())),
    ("epoch_loss_sum",
     "Divide by the number of batches: epoch_loss returns the AVERAGE of the per-batch losses, not their sum.",
     _epoch_loss(average=lambda total, count: total / count * count)),
]


def _zero_grad(optimizer: Any) -> None:
    optimizer.zero_grad()


def _nothing(optimizer: Any) -> None:
    return None


def _train_step(
    before_forward: Callable[[Any], None] = _zero_grad,
    before_step: Callable[[Any], None] = _nothing,
    result: Callable[[Any], Any] = lambda loss: loss.item(),
) -> Callable[..., Any]:
    """``optimizer.zero_grad()``, forward, ``loss.backward()``, ``optimizer.step()``, return ``loss.item()``.

    ``before_forward`` and ``before_step`` are where a ``zero_grad`` may
    stand, ``result`` what is returned: each may be swapped.
    """

    def train_step(model, optimizer, x, y, loss_fn):
        before_forward(optimizer)
        loss = loss_fn(model(x), y)
        loss.backward()
        before_step(optimizer)
        optimizer.step()
        return result(loss)

    return train_step


_TRAIN_STEP_MISTAKES = [
    ("train_step_no_zero_grad",
     "optimizer.zero_grad() is missing: loss.backward() ADDS to each parameter's .grad, so every step uses the sum "
     "of all gradients so far; call optimizer.zero_grad() before loss.backward().",
     _train_step(before_forward=_nothing)),
    ("train_step_zero_grad_before_step",
     "optimizer.zero_grad() between loss.backward() and optimizer.step() erases the gradient just computed, so the "
     "parameters never change: zero the gradients before loss.backward() (or after optimizer.step()).",
     _train_step(before_forward=_nothing, before_step=_zero_grad)),
    ("train_step_returns_tensor",
     "Return loss.item(), a Python float: the loss tensor carries its graph, and a loop that collects the returned "
     "losses would keep every step's graph alive.", _train_step(result=lambda loss: loss)),
]


def _training_statistics(X_train: Any, X_test: Any) -> tuple[Any, Any]:
    return X_train, X_train


def _one_where_constant(std: Any) -> Any:
    torch = _torch()
    return torch.where(std <= CONSTANT_STD, torch.ones_like(std), std)


def _prepare(
    sources: Callable[[Any, Any], tuple[Any, Any]] = _training_statistics,
    correction: int = 0,
    safe_std: Callable[[Any], Any] = _one_where_constant,
) -> Callable[..., tuple[Any, Any]]:
    """Each set minus ``mean`` over ``std`` (``correction=0``: the population std, 1 where it is <= 1e-12),
    both taken from the sets ``sources`` names (the training set for both): each may be swapped."""

    def prepare(X_train, X_test):
        def standardize_with(X, source):
            mean, std = source.mean(dim=0), safe_std(source.std(dim=0, correction=correction))
            return (X - mean) / std

        train_source, test_source = sources(X_train, X_test)
        return standardize_with(X_train, train_source), standardize_with(X_test, test_source)

    return prepare


_PREPARE_MISTAKES = [
    ("prepare_test_own_statistics",
     "The test set was standardized with its OWN mean and std: standardize both sets with the TRAINING mean and "
     "std (the model was trained on data scaled that way, and a test batch of one example would become all zeros).",
     _prepare(sources=lambda X_train, X_test: (X_train, X_test))),
    ("prepare_combined_statistics",
     "The mean and std came from training and test data together, which leaks test information into training: "
     "compute them on X_train only.", _prepare(sources=lambda X_train, X_test: (_torch().cat([X_train, X_test]),) * 2)),
    ("prepare_unbiased_std",
     "torch's .std() divides by N - 1 by default; the population std divides by N: use "
     "X_train.std(dim=0, correction=0).", _prepare(correction=1)),
    ("prepare_constant_features_unguarded",
     "Some pixels are constant on the training set (std = 0) and 0 / 0 gives nan: where std <= 1e-12 use std = 1, "
     "e.g. torch.where(std <= 1e-12, torch.ones_like(std), std).", _prepare(safe_std=lambda std: std)),
    ("prepare_plus_eps",
     "Adding 1e-8 to the std turns a constant pixel into a division by 1e-8 (huge test values): instead use std = 1 "
     "where std <= 1e-12, e.g. torch.where(std <= 1e-12, torch.ones_like(std), std).",
     _prepare(safe_std=lambda std: std + 1e-8)),
]


TARGETS: tuple[Target, ...] = (
    _debugging_target("debugging.mse", "mse", mse_reference, mse_trials, _MSE_MISTAKES, "losses"),
    _debugging_target("debugging.epoch_loss", "epoch_loss", epoch_loss_reference, epoch_loss_trials,
                      _EPOCH_LOSS_MISTAKES, "evaluation passes"),
    _debugging_target("debugging.train_step", "train_step", train_step_reference, train_step_trials,
                      _TRAIN_STEP_MISTAKES, "training runs", pure=False),
    _debugging_target("debugging.prepare", "prepare", prepare_reference, prepare_trials, _PREPARE_MISTAKES, "splits"),
)
