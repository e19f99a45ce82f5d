"""Checks for the debugging exercise (``debugging.NAME``): four bugs of a PyTorch training script, each graded by its effect.

The exercise hands out a short PyTorch script that trains a small network on
the 8x8 digits and runs without an error, but has four planted bugs.  The
student writes the fixed version of four small functions of the script; each
check calls them on torch objects and judges what they RETURN (and what the
call did to the model), never how they are written:

- ``debugging.mse``: ``mse(pred, target)`` with pred (N, 1) and target (N,)
  must return the 0-dim loss tensor ``F.mse_loss(pred[:, 0], target)`` (the
  bug: ``pred - target`` broadcasts to an (N, N) matrix); observed: the value
  and its gradient with respect to pred (which also shows whether the result
  is still connected to the autograd graph).
- ``debugging.epoch_loss``: ``epoch_loss(model, batches, loss_fn)`` must
  return, as a Python float, the mean of the per-batch losses without keeping
  any batch's autograd graph alive (the bug: ``total += loss``).  The check's
  ``loss_fn`` ties a sentinel leaf tensor into the graph of every loss it
  returns and holds only a weak reference to it, so the sentinel lives exactly
  as long as that graph: while batch k is evaluated, graphs of batches before
  k - 1 must already be gone, and none may outlive the call (CPython frees an
  unreferenced graph at once, so the count is deterministic).
- ``debugging.train_step``: ``train_step(model, optimizer, x, y, loss_fn)``
  performs one optimizer step and returns the loss as a float (the bug: no
  ``optimizer.zero_grad()``, so gradients accumulate); observed: all
  parameters after each of several calls on one model and optimizer (the same
  batch again, or new ones), and the returned losses.
- ``debugging.prepare``: ``prepare(X_train, X_test)`` standardizes both sets
  with the TRAINING mean and population std, a constant feature (std <= 1e-12)
  getting std 1, as :func:`dlcourse.data.standardize` (the bug: the test set
  standardized with its own statistics).

Notes:
    These checks depart from the plain-data rule of ``docs/grading.md``: the
    student's functions receive torch tensors, a ``torch.nn.Module``, a
    ``torch.optim`` optimizer and a loss function, because the exercise is
    about a torch script.  The observables are still computed only from what
    the functions return and from the model afterwards, converted to numpy by
    the check.  The targets allow torch (``allowed=("torch",)``) and keep the
    reference library forbidden.  ``guarded_call``'s purity snapshot only
    copies numpy arrays and containers (a tensor is kept as is and never found
    changed), so each ``observe`` clones the input tensors itself and fails a
    function that changed them in place.  ``train_step`` is guarded with
    ``pure=False``: updating the model's parameters and the optimizer's state
    in place IS its contract; its x and y are still checked by the target.
    The check's ``loss_fn`` for ``epoch_loss`` runs inside the watched call
    and is marked :func:`~dlcourse.grading._guard.grader_code`.

    torch is imported inside the functions that use it, never when this
    module is imported (``import dlcourse.grading`` stays light).

Source of the exercise: VU Amsterdam DLVU lecture 4 'Tools of the trade'
(debugging: neural networks fail silently, broadcasting and keepdim, the
memory leak of ``running_loss += l`` fixed by ``l.item()`` or ``detach()``,
leakage through preprocessing with statistics other than the training set's);
Univ. of Macau 'Modern Techniques' (the training loop ``zero_grad``,
``backward``, ``step``).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dlcourse.data import standardize
from dlcourse.grading._core import Caller, Mistake, Target, Trial
from dlcourse.grading._guard import DEFAULT_FORBIDDEN, grader_code
from dlcourse.grading._report import GradingError
from dlcourse.grading.registry import register
from dlcourse.grading.topics._common import FLOAT32_TOLERANCE, expect_values, random_array
from dlcourse.grading.topics.model import digits_split

__all__ = ["mse_reference", "epoch_loss_reference", "train_step_reference", "prepare_reference"]

ALLOWED = ("torch",)
# A feature whose training std is at most this is constant: it is centred, not scaled (dlcourse.data.standardize).
CONSTANT_STD = 1e-12
FLOAT_FLAG = "returned a Python float (1 = yes; 0 = no, a tensor or an array)"
CONNECTED_FLAG = "returned a tensor connected to pred's autograd graph (1 = yes; 0 = no: a number, or .item()/.detach() cut it off)"


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

    Computed in float64 and rounded to the inputs' dtype, so a float32
    student result is judged against the exact values.
    """
    torch = _torch()
    train, test, _, _ = standardize(X_train.double().numpy(), X_test.double().numpy(), eps=CONSTANT_STD)
    return torch.from_numpy(train).to(X_train.dtype), torch.from_numpy(test).to(X_test.dtype)


# --------------------------------------------------------- shared helpers


def _describe_model(layers: Sequence[tuple[np.ndarray, np.ndarray]], activation: str, dtype: str) -> str:
    sizes = "-".join(str(n) for n in [layers[0][0].shape[1], *(W.shape[0] for W, _ in layers)])
    if len(layers) == 1:
        return f"a linear model {sizes}, {dtype}"
    return f"a {sizes} MLP with {activation}, {dtype}"


def _random_layers(rng: np.random.Generator, sizes: Sequence[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Weights and biases drawn like nn.Linear's default, U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        layers.append((rng.uniform(-bound, bound, (fan_out, fan_in)), rng.uniform(-bound, bound, fan_out)))
    return layers


def _build_model(extra: dict[str, Any]) -> Any:
    """The trial's model: nn.Linear layers with the trial's weights (the global torch RNG is not touched)."""
    torch = _torch()
    nn = torch.nn
    dtype = getattr(torch, extra["dtype"])
    modules = []
    for index, (W, b) in enumerate(extra["layers"]):
        if index:
            modules.append(nn.Tanh() if extra["activation"] == "tanh" else nn.ReLU())
        linear = nn.utils.skip_init(nn.Linear, W.shape[1], W.shape[0], dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W))
            linear.bias.copy_(torch.from_numpy(b))
        modules.append(linear)
    return nn.Sequential(*modules)


def _tensors(extra: dict[str, Any], batch: tuple[np.ndarray, np.ndarray]) -> tuple[Any, Any]:
    """A batch (x, y) as torch tensors: x in the trial's dtype, y class labels or (B, 1) regression targets."""
    torch = _torch()
    x, y = batch
    dtype = getattr(torch, extra["dtype"])
    return torch.tensor(x, dtype=dtype), torch.tensor(y, dtype=torch.int64 if y.dtype.kind == "i" else dtype)


def _loss_function(extra: dict[str, Any]) -> Callable[..., Any]:
    return getattr(_torch().nn.functional, extra["loss"])


def _flat_parameters(model: Any) -> np.ndarray:
    torch = _torch()
    with torch.no_grad():
        return torch.cat([p.reshape(-1) for p in model.parameters()]).numpy().copy()


def _snapshot(tensors: Sequence[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [(name, tensor.detach().clone()) for name, tensor in tensors]


def _check_untouched(role: str, before: Sequence[tuple[str, Any]], after: Sequence[Any]) -> None:
    """GradingError naming the first input tensor that ``role`` changed in place."""
    torch = _torch()
    for (name, old), new in zip(before, after):
        if new.shape != old.shape or not torch.equal(new.detach(), old):
            raise GradingError(
                f"{role} modified its input {name} in place. Leave the inputs untouched and compute new "
                f"tensors (write `x = x - mean`, not `x -= mean`; avoid in-place methods ending in _, such as "
                f"unsqueeze_ or sub_)."
            )


def _returned_number(result: Any, role: str, when: str = "") -> tuple[float, float]:
    """``(1.0 if result is a Python float else 0.0, its value)``; GradingError when it is not one number."""
    torch = _torch()
    if result is None:
        raise GradingError(f"{role} returned None{when}: is `return` missing?")
    if isinstance(result, (float, np.floating)):
        return 1.0, float(result)
    if isinstance(result, (int, np.integer)) and not isinstance(result, (bool, np.bool_)):
        return 0.0, float(result)
    if isinstance(result, (torch.Tensor, np.ndarray)):
        kind = "a tensor" if isinstance(result, torch.Tensor) else "an array"
        if result.shape != () and int(np.prod(result.shape)) != 1:
            raise GradingError(f"{role} returned {kind} of shape {tuple(result.shape)}{when}; it should return one "
                               f"number, a Python float")
        value = result.detach().reshape(()).item() if isinstance(result, torch.Tensor) else result.reshape(()).item()
        return 0.0, float(value)
    raise GradingError(f"{role} returned a {type(result).__name__}{when}; it should return one number, a Python float")


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


def _target(name: str, role: str, reference: Callable[..., Any], trials: Callable[..., list[Trial]],
            observe: Callable[[Caller, Trial], dict[str, Any]], mistakes: Sequence[tuple[str, str, Callable]],
            what: str, pure: bool = True) -> Target:
    return Target(name=name, roles=(role,), reference=(reference,), trials=trials, observe=_single_threaded(observe),
                  mistakes=tuple(Mistake(n, message, (fn,)) for n, message, fn in mistakes), what=what, pure=pure,
                  forbidden=DEFAULT_FORBIDDEN, allowed=ALLOWED)


# -------------------------------------------------------- debugging.mse


def _mse_trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
    # (label, N, scale, dtype): batch of one, odd sizes, tiny and huge values
    cases = [("7 predictions", 7, 1.0, "float64"), ("a batch of one prediction", 1, 1.0, "float64"),
             ("64 float32 predictions of size ~3", 64, 3.0, "float32")]
    if hidden:
        cases += [("3 predictions", 3, 1.0, "float64"), ("100 predictions", 100, 2.0, "float64"),
                  ("5 tiny predictions (~1e-6)", 5, 1e-6, "float64"), ("9 huge predictions (~1e3)", 9, 1e3, "float64"),
                  ("2 predictions", 2, 1.0, "float64"), ("33 float32 predictions", 33, 1.0, "float32")]
    trials = []
    for label, n, scale, dtype in cases:
        pred = random_array(rng, (n, 1), scale, np.dtype(dtype))
        target = random_array(rng, (n,), scale, np.dtype(dtype))
        trials.append(Trial(f"{label}: pred (N, 1) and target (N,) as torch {dtype} tensors",
                            [("pred", pred), ("target", target)],
                            tolerance=FLOAT32_TOLERANCE if dtype == "float32" else None))
    return trials


def _mse_observe(call: Caller, trial: Trial) -> dict[str, Any]:
    torch = _torch()
    (_, pred_np), (_, target_np) = trial.args
    pred = torch.tensor(pred_np, requires_grad=True)
    target = torch.tensor(target_np)
    before = _snapshot([("pred", pred), ("target", target)])
    result = call("mse", [("pred", pred), ("target", target)])
    _check_untouched("mse", before, [pred, target])
    if isinstance(result, torch.Tensor):
        value = result.detach().numpy().copy()
        connected = result.requires_grad and result.grad_fn is not None
        gradient = torch.autograd.grad(result.sum(), pred, allow_unused=True)[0] if connected else None
    else:
        value = np.asarray(_returned_number(result, "mse")[1])
        connected, gradient = False, None
    if gradient is None:  # the result does not depend on pred through the graph
        connected, gradient = False, torch.zeros_like(pred)
    return {
        CONNECTED_FLAG: 1.0 if connected else 0.0,
        "mse(pred, target)": value,
        "gradient of the loss with respect to pred": gradient.numpy().copy(),
    }


def _mse_broadcast(pred, target):
    return ((pred - target) ** 2).mean()


def _mse_sum(pred, target):
    return ((pred[:, 0] - target) ** 2).sum()


def _mse_mean_dim0(pred, target):
    return ((pred - target[:, None]) ** 2).mean(dim=0)


def _mse_mean_dim1(pred, target):
    return ((pred - target[:, None]) ** 2).mean(dim=1)


def _mse_item(pred, target):
    return ((pred[:, 0] - target) ** 2).mean().item()


_MSE_MISTAKES = [
    ("mse_broadcast",
     "pred has shape (N, 1) and target (N,), so pred - target broadcasts to an (N, N) matrix of every prediction "
     "minus every target: make the shapes equal first (pred.squeeze(1) or target.unsqueeze(1)) and assert them.",
     _mse_broadcast),
    ("mse_sum", "The MSE is the MEAN of the squared errors: use .mean(), not .sum() (a sum grows with the batch size).",
     _mse_sum),
    ("mse_mean_dim0",
     "The loss must be one number, a 0-dim tensor like F.mse_loss's: .mean() without dim averages over all "
     "elements, while mean(dim=0) of an (N, 1) tensor leaves shape (1,).", _mse_mean_dim0),
    ("mse_mean_dim1",
     "The loss must be one number, a 0-dim tensor: mean(dim=1) averages over the single output column only and "
     "leaves one squared error per example; use .mean() over all elements.", _mse_mean_dim1),
    ("mse_item",
     "Return the loss tensor itself: .item() (like float() or .detach()) cuts it off from the autograd graph, so "
     "loss.backward() could not reach the model.", _mse_item),
]


# ------------------------------------------------- debugging.epoch_loss


class _GraphWatchingLoss:
    """The ``loss_fn`` given to epoch_loss: a torch loss that counts the batches whose graph is still alive.

    Every loss that is part of a graph gets ``+ 0.0 * sentinel``, a fresh
    leaf tensor, added (the value is unchanged).  The graph holds the
    sentinel and this object holds only a weak reference, so the sentinel
    dies with the graph.  When batch k arrives, the graph of batch k - 1 may
    still be alive (the caller's ``loss`` variable), older ones may not.
    """

    def __init__(self, loss_name: str) -> None:
        torch = _torch()
        self.loss = getattr(torch.nn.functional, loss_name)
        self.zeros = torch.zeros
        self.sentinels: list[weakref.ref] = []
        self.most_alive = 0

    @grader_code  # runs inside the student's watched call: only torch and builtins here
    def __call__(self, output: Any, target: Any) -> Any:
        alive = 0
        for reference in self.sentinels[:-1]:
            if reference() is not None:
                alive += 1
        self.most_alive = max(self.most_alive, alive)
        loss = self.loss(output, target)
        if not loss.requires_grad:  # computed without a graph (torch.no_grad, detached outputs): nothing to hold
            return loss
        sentinel = self.zeros((), dtype=loss.dtype, requires_grad=True)
        self.sentinels.append(weakref.ref(sentinel))
        return loss + 0.0 * sentinel

    def alive(self) -> int:
        return sum(reference() is not None for reference in self.sentinels)


def _batch_words(batches: Sequence[tuple[np.ndarray, np.ndarray]], loss: str) -> str:
    x, y = batches[0]
    kind = "class labels" if loss == "cross_entropy" else "regression targets"
    return f"{len(batches)} batch(es): x {x.shape}, y {y.shape} {kind}"


def _digits_batches(rng: np.random.Generator, count: int, size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    split = digits_split()
    rows = rng.choice(len(split.X_train), count * size, replace=False).reshape(count, size)
    return [(split.X_train[r], split.y_train[r]) for r in rows]


def _regression_batches(rng: np.random.Generator, count: int, size: int, features: int) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(rng.standard_normal((size, features)), rng.standard_normal((size, 1))) for _ in range(count)]


def _model_trial(rng: np.random.Generator, label: str, sizes: Sequence[int], activation: str, dtype: str,
                 batches: list[tuple[np.ndarray, np.ndarray]], loss: str, **extra: Any) -> Trial:
    layers = _random_layers(rng, sizes)
    loss_words = {"cross_entropy": "torch.nn.functional.cross_entropy", "mse_loss": "torch.nn.functional.mse_loss"}
    args = [("model", _describe_model(layers, activation, dtype)), ("batches", _batch_words(batches, loss)),
            ("loss_fn", loss_words[loss])]
    extra = {"layers": layers, "activation": activation, "dtype": dtype, "batches": batches, "loss": loss, **extra}
    return Trial(label, args, extra=extra, tolerance=FLOAT32_TOLERANCE if dtype == "float32" else None)


def _epoch_loss_trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
    trials = [
        _model_trial(rng, "5 batches of 8 digits, an MLP", (64, 16, 10), "tanh", "float64",
                     _digits_batches(rng, 5, 8), "cross_entropy"),
        _model_trial(rng, "4 batches of one example, a linear regression", (3, 1), "tanh", "float64",
                     _regression_batches(rng, 4, 1, 3), "mse_loss"),
        _model_trial(rng, "6 batches of 5 digits, float32 MLP", (64, 8, 10), "relu", "float32",
                     _digits_batches(rng, 6, 5), "cross_entropy"),
    ]
    if hidden:
        trials += [
            _model_trial(rng, "a single batch of 16 digits", (64, 10), "tanh", "float64",
                         _digits_batches(rng, 1, 16), "cross_entropy"),
            _model_trial(rng, "12 batches of 7 digits", (64, 12, 10), "relu", "float64",
                         _digits_batches(rng, 12, 7), "cross_entropy"),
            _model_trial(rng, "3 batches of 20, a regression MLP", (5, 9, 1), "tanh", "float64",
                         _regression_batches(rng, 3, 20, 5), "mse_loss"),
            _model_trial(rng, "2 batches of 3 digits", (64, 4, 10), "tanh", "float64",
                         _digits_batches(rng, 2, 3), "cross_entropy"),
        ]
    return trials


def _check_model_unchanged(role: str, model: Any, extra: dict[str, Any]) -> None:
    if any(p.grad is not None for p in model.parameters()):
        raise GradingError(f"{role} changed the model's gradients (.grad): it only measures the loss, so it must not "
                           f"call loss.backward() (those gradients would be added to the next training step's)")
    layers = [array for layer in extra["layers"] for array in layer]
    if not np.array_equal(_flat_parameters(model), np.concatenate([a.reshape(-1) for a in layers]).astype(extra["dtype"])):
        raise GradingError(f"{role} changed the model's parameters: it only measures the loss, it must not train")


def _epoch_loss_observe(call: Caller, trial: Trial) -> dict[str, Any]:
    model = _build_model(trial.extra)
    batches = [_tensors(trial.extra, batch) for batch in trial.extra["batches"]]
    loss_fn = _GraphWatchingLoss(trial.extra["loss"])
    before = _snapshot([(f"batches[{i}][{j}]", t) for i, batch in enumerate(batches) for j, t in enumerate(batch)])
    result = call("epoch_loss", [("model", model), ("batches", batches), ("loss_fn", loss_fn)])
    _check_untouched("epoch_loss", before, [t for batch in batches for t in batch])
    _check_model_unchanged("epoch_loss", model, trial.extra)
    is_float, value = _returned_number(result, "epoch_loss")
    kept = max(loss_fn.most_alive, loss_fn.alive())  # alive() > 0 after the call: the result holds graphs
    return {
        FLOAT_FLAG: is_float,
        "average loss over the batches": value,
        "graphs of earlier batches kept alive (most at any time; 0 = each freed once its loss is read)": kept,
    }


def _epoch_loss_sums_tensors(model, batches, loss_fn):
    total = 0.0
    for x, y in batches:
        total += loss_fn(model(x), y)
    return total / len(batches)


def _epoch_loss_item_at_end(model, batches, loss_fn):
    return (_epoch_loss_sums_tensors(model, batches, loss_fn)).item()


def _epoch_loss_detached(model, batches, loss_fn):
    total = 0.0
    for x, y in batches:
        total += loss_fn(model(x), y).detach()
    return total / len(batches)


def _epoch_loss_sum(model, batches, loss_fn):
    return epoch_loss_reference(model, batches, loss_fn) * len(batches)


_EPOCH_LOSS_MISTAKES = [
    ("epoch_loss_sums_tensors",
     "total += loss adds TENSORS: total becomes one graph that holds every batch's computation (memory grows with "
     "each batch) and the result is a tensor; add loss.item(), a Python float, instead (or compute under "
     "torch.no_grad()).", _epoch_loss_sums_tensors),
    ("epoch_loss_item_at_end",
     ".item() at the end is too late: while the loop runs, the sum of loss tensors (or a list of them) holds the "
     "graph of every batch; call loss.item() inside the loop, once per batch.", _epoch_loss_item_at_end),
    ("epoch_loss_detached_tensor",
     "Return a Python float: .detach() frees the graph, but the result is still a tensor; use loss.item() for each "
     "batch.", _epoch_loss_detached),
    ("epoch_loss_sum",
     "Divide by the number of batches: epoch_loss returns the AVERAGE of the per-batch losses, not their sum.",
     _epoch_loss_sum),
]


# ------------------------------------------------- debugging.train_step


_OPTIMIZER_WORDS = {"SGD": "torch.optim.SGD", "Adam": "torch.optim.Adam"}


def _train_step_trial(rng: np.random.Generator, label: str, sizes: Sequence[int], activation: str, dtype: str,
                      batches: list[tuple[np.ndarray, np.ndarray]], loss: str, optimizer: str,
                      options: dict[str, Any]) -> Trial:
    trial = _model_trial(rng, label, sizes, activation, dtype, batches, loss, optimizer=optimizer, options=options)
    settings = ", ".join(f"{key}={value}" for key, value in options.items())
    trial.args.insert(1, ("optimizer", f"{_OPTIMIZER_WORDS[optimizer]}({settings})"))
    trial.args[2] = ("x, y", f"{len(batches)} calls, one per batch: " + _batch_words(batches, loss))
    return trial


def _train_step_trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
    def same(batches: list, times: int) -> list:
        return batches * times

    trials = [
        _train_step_trial(rng, "the same batch of 8 digits 3 times, SGD", (64, 16, 10), "tanh", "float64",
                          same(_digits_batches(rng, 1, 8), 3), "cross_entropy", "SGD", {"lr": 0.5}),
        _train_step_trial(rng, "3 batches of one example, SGD with momentum", (3, 1), "tanh", "float64",
                          _regression_batches(rng, 3, 1, 3), "mse_loss", "SGD", {"lr": 0.1, "momentum": 0.9}),
        _train_step_trial(rng, "4 batches of 6 digits, float32 MLP, SGD", (64, 8, 10), "relu", "float32",
                          _digits_batches(rng, 4, 6), "cross_entropy", "SGD", {"lr": 0.2}),
    ]
    if hidden:
        trials += [
            _train_step_trial(rng, "the same batch of 5 digits 4 times, Adam", (64, 12, 10), "relu", "float64",
                              same(_digits_batches(rng, 1, 5), 4), "cross_entropy", "Adam", {"lr": 0.01}),
            _train_step_trial(rng, "5 batches of 7 digits, SGD with weight decay", (64, 10), "tanh", "float64",
                              _digits_batches(rng, 5, 7), "cross_entropy", "SGD", {"lr": 0.3, "weight_decay": 0.01}),
            _train_step_trial(rng, "2 batches of 20, a regression MLP, SGD", (5, 9, 1), "tanh", "float64",
                              _regression_batches(rng, 2, 20, 5), "mse_loss", "SGD", {"lr": 0.05}),
            _train_step_trial(rng, "a single call", (64, 10), "tanh", "float64",
                              _digits_batches(rng, 1, 9), "cross_entropy", "SGD", {"lr": 0.5}),
            _train_step_trial(rng, "6 batches of 3 digits, Nesterov momentum", (64, 6, 10), "tanh", "float64",
                              _digits_batches(rng, 6, 3), "cross_entropy", "SGD",
                              {"lr": 0.1, "momentum": 0.8, "nesterov": True}),
        ]
    return trials


def _train_step_observe(call: Caller, trial: Trial) -> dict[str, Any]:
    torch = _torch()
    model = _build_model(trial.extra)
    optimizer = getattr(torch.optim, trial.extra["optimizer"])(model.parameters(), **trial.extra["options"])
    loss_fn = _loss_function(trial.extra)
    flags, losses, parameters = [], [], [_flat_parameters(model)]
    for number, batch in enumerate(trial.extra["batches"], 1):
        x, y = _tensors(trial.extra, batch)
        before = _snapshot([("x", x), ("y", y)])
        result = call("train_step", [("model", model), ("optimizer", optimizer), ("x", x), ("y", y),
                                     ("loss_fn", loss_fn)])
        _check_untouched("train_step", before, [x, y])
        is_float, value = _returned_number(result, "train_step", f" at call {number}")
        flags.append(is_float)
        losses.append(value)
        parameters.append(_flat_parameters(model))
    return {
        FLOAT_FLAG: min(flags),
        "loss returned by each call": np.array(losses),
        "all parameters, flattened (row k = after k calls; row 0 = the start)": np.stack(parameters),
    }


def _train_step_no_zero_grad(model, optimizer, x, y, loss_fn):
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def _train_step_zero_grad_before_step(model, optimizer, x, y, loss_fn):
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()


def _train_step_returns_tensor(model, optimizer, x, y, loss_fn):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss


_TRAIN_STEP_MISTAKES = [
    ("train_step_no_zero_grad",
     "optimizer.zero_grad() is missing: loss.backward() ADDS to each parameter's .grad, so every step uses the sum "
     "of all gradients so far; call optimizer.zero_grad() before loss.backward().", _train_step_no_zero_grad),
    ("train_step_zero_grad_before_step",
     "optimizer.zero_grad() between loss.backward() and optimizer.step() erases the gradient just computed, so the "
     "parameters never change: zero the gradients before loss.backward() (or after optimizer.step()).",
     _train_step_zero_grad_before_step),
    ("train_step_returns_tensor",
     "Return loss.item(), a Python float: the loss tensor carries its graph, and a loop that collects the returned "
     "losses would keep every step's graph alive.", _train_step_returns_tensor),
]


# ---------------------------------------------------- debugging.prepare


def _prepare_trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
    split = digits_split()

    def digits(n_train: int, n_test: int) -> tuple[np.ndarray, np.ndarray]:
        return (split.X_train[rng.choice(len(split.X_train), n_train, replace=False)],
                split.X_test[rng.choice(len(split.X_test), n_test, replace=False)])

    def shifted(n_train: int, n_test: int, features: int) -> tuple[np.ndarray, np.ndarray]:
        # offsets and scales per feature, a test set drawn a little off, and exactly constant features
        offset, scale = rng.normal(0.0, 100.0, features), rng.uniform(0.1, 10.0, features)
        X_train = offset + scale * rng.standard_normal((n_train, features))
        X_test = offset + scale * (0.5 + rng.standard_normal((n_test, features)))
        X_train[:, 0], X_train[:, -1] = 0.0, 2.5
        return X_train, X_test

    cases = [("40 training and 15 test digits", digits(40, 15), "float64"),
             ("7 training and 3 test rows of 5 features with offsets, two of them constant", shifted(7, 3, 5),
              "float64"),
             ("30 training and 10 test digits in float32", digits(30, 10), "float32")]
    if hidden:
        cases += [("the whole digits split (1257 training, 270 test)", (split.X_train, split.X_test), "float64"),
                  ("a test set of one digit", digits(25, 1), "float64"),
                  ("a training set of one digit", digits(1, 6), "float64"),
                  ("50 training and 20 test rows of 9 features with offsets", shifted(50, 20, 9), "float64"),
                  ("the whole digits split in float32", (split.X_train, split.X_test), "float32")]
    return [Trial(f"{label}, torch {dtype} tensors",
                  [("X_train", X_train.astype(dtype)), ("X_test", X_test.astype(dtype))],
                  tolerance=FLOAT32_TOLERANCE if dtype == "float32" else None)
            for label, (X_train, X_test), dtype in cases]


def _prepare_observe(call: Caller, trial: Trial) -> dict[str, Any]:
    torch = _torch()
    inputs = [(name, torch.from_numpy(array.copy())) for name, array in trial.args]
    before = _snapshot(inputs)
    result = call("prepare", inputs)
    _check_untouched("prepare", before, [tensor for _, tensor in inputs])
    outputs = expect_values(result, "prepare", ("X_train_std", "X_test_std"))
    for name, value in zip(("X_train_std", "X_test_std"), outputs):
        if not isinstance(value, torch.Tensor):
            raise GradingError(f"prepare must return torch tensors (the script feeds them to the model), but "
                               f"{name} is a {type(value).__name__}")
    return {"X_train standardized": outputs[0].detach().numpy().copy(),
            "X_test standardized": outputs[1].detach().numpy().copy()}


def _standardize_with(X: Any, statistics_of: Any, unbiased: bool = False, guard: str = "ones") -> Any:
    torch = _torch()
    mean = statistics_of.mean(dim=0)
    std = statistics_of.std(dim=0, correction=1 if unbiased else 0)
    if guard == "ones":
        std = torch.where(std <= CONSTANT_STD, torch.ones_like(std), std)
    elif guard == "plus_eps":
        std = std + 1e-8
    return (X - mean) / std


def _prepare_test_own_statistics(X_train, X_test):
    return _standardize_with(X_train, X_train), _standardize_with(X_test, X_test)


def _prepare_combined_statistics(X_train, X_test):
    both = _torch().cat([X_train, X_test])
    return _standardize_with(X_train, both), _standardize_with(X_test, both)


def _prepare_unbiased_std(X_train, X_test):
    return _standardize_with(X_train, X_train, unbiased=True), _standardize_with(X_test, X_train, unbiased=True)


def _prepare_unguarded(X_train, X_test):
    return _standardize_with(X_train, X_train, guard=""), _standardize_with(X_test, X_train, guard="")


def _prepare_plus_eps(X_train, X_test):
    return _standardize_with(X_train, X_train, guard="plus_eps"), _standardize_with(X_test, X_train, guard="plus_eps")


_PREPARE_MISTAKES = [
    ("prepare_test_own_statistics",
     "The test set was standardized with its OWN mean and std: standardize both sets with the TRAINING mean and "
     "std (the model was trained on data scaled that way, and a test batch of one example would become all zeros).",
     _prepare_test_own_statistics),
    ("prepare_combined_statistics",
     "The mean and std came from training and test data together, which leaks test information into training: "
     "compute them on X_train only.", _prepare_combined_statistics),
    ("prepare_unbiased_std",
     "torch's .std() divides by N - 1 by default; the population std divides by N: use "
     "X_train.std(dim=0, correction=0).", _prepare_unbiased_std),
    ("prepare_constant_features_unguarded",
     "Some pixels are constant on the training set (std = 0) and 0 / 0 gives nan: where std <= 1e-12 use std = 1, "
     "e.g. torch.where(std <= 1e-12, torch.ones_like(std), std).", _prepare_unguarded),
    ("prepare_plus_eps",
     "Adding 1e-8 to the std turns a constant pixel into a division by 1e-8 (huge test values): instead use std = 1 "
     "where std <= 1e-12, e.g. torch.where(std <= 1e-12, torch.ones_like(std), std).", _prepare_plus_eps),
]


register(
    _target("debugging.mse", "mse", mse_reference, _mse_trials, _mse_observe, _MSE_MISTAKES, "losses"),
    _target("debugging.epoch_loss", "epoch_loss", epoch_loss_reference, _epoch_loss_trials, _epoch_loss_observe,
            _EPOCH_LOSS_MISTAKES, "evaluation passes"),
    _target("debugging.train_step", "train_step", train_step_reference, _train_step_trials, _train_step_observe,
            _TRAIN_STEP_MISTAKES, "training runs", pure=False),
    _target("debugging.prepare", "prepare", prepare_reference, _prepare_trials, _prepare_observe, _PREPARE_MISTAKES,
            "splits"),
)
