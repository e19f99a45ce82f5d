"""What the debugging checks observe when the student's torch functions run (numpy and torch only).

The four ``debugging.*`` targets of :mod:`dlcourse.grading.topics.debugging`
hand the student's functions torch objects (tensors, an ``nn.Module``, an
optimizer, a loss function), which cannot cross the sandbox's plain-data
boundary.  So for these targets the *observation* runs where the student's
function lives: in the grading process for an in-notebook check, inside the
sandboxed worker for ``dlcourse grade``.  Each ``observe_*`` function builds
fresh torch objects from a trial's plain data (``trial.args``,
``trial.extra``), calls the function through ``call(role, args)`` and
returns plain observables (numbers and numpy arrays).  The verdict, the
comparison with the reference and the diagnosis of catalogued mistakes stay
in the trusted grader, which receives only those observables.

A wrong result the observation itself detects (a tensor modified in place, a
result of the wrong kind) raises :class:`ObservationError`, which the grader
reports as a ``GradingError`` with the same text.

This module imports nothing from dlcourse; inside the sandbox it is the
top-level module ``torch_observe``.  torch is imported on first use.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

FLOAT_FLAG = "returned a Python float (1 = yes; 0 = no, a tensor or an array)"
CONNECTED_FLAG = ("returned a tensor connected to pred's autograd graph "
                  "(1 = yes; 0 = no: a number, or cut off by .item()/.detach())")


class ObservationError(AssertionError):
    """The student's result or behaviour is wrong in a way the observation sees directly (the message is feedback)."""


def _torch() -> Any:
    import torch  # lazily: importing torch takes seconds

    return torch


def _two_values(result: Any, role: str, names: Sequence[str]) -> tuple[Any, ...]:
    listed = ", ".join(names)
    if result is None:
        raise ObservationError(f"{role} returned None : is `return {listed}` missing?")
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        got = (f"a {type(result).__name__} of {len(result)}" if isinstance(result, (tuple, list))
               else f"a {type(result).__name__}")
        raise ObservationError(f"{role} must return {len(names)} values ({listed}); it returned {got}. "
                               f"End it with: return {listed}")
    return tuple(result)


def snapshot_tensors(tensors: Sequence[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [(name, tensor.detach().clone()) for name, tensor in tensors]


def check_untouched(role: str, before: Sequence[tuple[str, Any]], after: Sequence[Any]) -> None:
    """ObservationError naming the first input tensor that ``role`` changed in place."""
    torch = _torch()
    for (name, old), new in zip(before, after, strict=True):
        if new.shape != old.shape or not torch.equal(new.detach(), old):
            raise ObservationError(f"{role} modified its input {name} in place. Leave the inputs untouched and compute "
                               f"new tensors (write `x = x - mean`, not `x -= mean`; avoid in-place methods ending "
                               f"in _, such as unsqueeze_ or sub_).")


def returned_number(result: Any, role: str, when: str = "") -> tuple[float, float]:
    """``(1.0 if result is a Python float else 0.0, its value)``; ObservationError when it is not one number."""
    torch = _torch()
    if result is None:
        raise ObservationError(f"{role} returned None{when}: is `return` missing?")
    if isinstance(result, (float, np.floating)):
        return 1.0, float(result)
    if isinstance(result, (int, np.integer)) and not isinstance(result, (bool, np.bool_)):
        return 0.0, float(result)
    if isinstance(result, (torch.Tensor, np.ndarray)):
        if int(np.prod(result.shape)) != 1:
            kind = "a tensor" if isinstance(result, torch.Tensor) else "an array"
            raise ObservationError(f"{role} returned {kind} of shape {tuple(result.shape)}{when}; it should return one "
                               f"number, a Python float")
        return 0.0, float(result.detach().reshape(()).item() if isinstance(result, torch.Tensor) else result.item())
    raise ObservationError(f"{role} returned a {type(result).__name__}{when}; it should return one number, a Python "
                           f"float")


def build_model(extra: dict[str, Any]) -> Any:
    """The trial's nn.Linear layers (tanh or relu between them), with its weights; the torch RNG is not used."""
    torch = _torch()
    nn = torch.nn
    modules = []
    for index, (W, b) in enumerate(extra["layers"]):
        if index:
            modules.append(nn.Tanh() if extra["activation"] == "tanh" else nn.ReLU())
        linear = nn.utils.skip_init(nn.Linear, W.shape[1], W.shape[0], dtype=getattr(torch, extra["dtype"]))
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W))
            linear.bias.copy_(torch.from_numpy(b))
        modules.append(linear)
    return nn.Sequential(*modules)


def batch_tensors(extra: dict[str, Any]) -> list[tuple[Any, Any]]:
    """The trial's batches as (x, y) tensors: x in the trial's dtype, y class labels or (B, 1) targets."""
    torch = _torch()
    dtype = getattr(torch, extra["dtype"])
    return [(torch.tensor(x, dtype=dtype), torch.tensor(y, dtype=torch.int64 if y.dtype.kind == "i" else dtype))
            for x, y in extra["batches"]]


def flat_parameters(model: Any) -> np.ndarray:
    torch = _torch()
    with torch.no_grad():
        return torch.cat([p.reshape(-1) for p in model.parameters()]).numpy().copy()


class GraphWatchingLoss:
    """The ``loss_fn`` given to epoch_loss: a torch loss that counts how many batches' graphs are alive.

    Every loss that has a graph gets ``0.0 * sentinel`` added, a fresh leaf
    tensor (the value is unchanged).  The graph holds the sentinel and this
    object only a weak reference, so the sentinel dies with the graph.  When
    batch k arrives, the graph of batch k - 1 may still be alive (the
    caller's ``loss`` variable), older ones may not.
    """

    def __init__(self, loss_name: str) -> None:
        torch = _torch()
        self.loss, self.zeros = getattr(torch.nn.functional, loss_name), torch.zeros
        self.sentinels: list[weakref.ref] = []
        self.most_alive = 0

    def __call__(self, output: Any, target: Any) -> Any:
        alive = 0
        for reference in self.sentinels[:-1]:
            if reference() is not None:
                alive += 1
        self.most_alive = max(self.most_alive, alive)
        loss = self.loss(output, target)
        if not loss.requires_grad:  # computed without a graph (no_grad, detached outputs): nothing to hold
            return loss
        sentinel = self.zeros((), dtype=loss.dtype, requires_grad=True)
        self.sentinels.append(weakref.ref(sentinel))
        return loss + 0.0 * sentinel

    def alive(self) -> int:
        return sum(reference() is not None for reference in self.sentinels)


def observe_mse(call: Callable[..., Any], trial: Any) -> dict[str, Any]:
    torch = _torch()
    pred, target = torch.tensor(trial.args[0][1], requires_grad=True), torch.tensor(trial.args[1][1])
    before = snapshot_tensors([("pred", pred), ("target", target)])
    result = call("mse", [("pred", pred), ("target", target)])
    check_untouched("mse", before, [pred, target])
    gradient = None
    if isinstance(result, torch.Tensor):
        value = result.detach().numpy().copy()
        if result.grad_fn is not None:
            gradient = torch.autograd.grad(result.sum(), pred, allow_unused=True)[0]
    else:
        value = np.asarray(returned_number(result, "mse")[1])
    return {
        CONNECTED_FLAG: 0.0 if gradient is None else 1.0,
        "mse(pred, target)": value,
        # a result that does not depend on pred through the graph has gradient 0
        "gradient of the loss with respect to pred": np.zeros(pred.shape) if gradient is None else gradient.numpy(),
    }


def observe_epoch_loss(call: Callable[..., Any], trial: Any) -> dict[str, Any]:
    model, batches = build_model(trial.extra), batch_tensors(trial.extra)
    start = flat_parameters(model)
    loss_fn = GraphWatchingLoss(trial.extra["loss"])
    named = [(f"batches[{i}][{j}]", tensor) for i, batch in enumerate(batches) for j, tensor in enumerate(batch)]
    before = snapshot_tensors(named)
    result = call("epoch_loss", [("model", model), ("batches", batches), ("loss_fn", loss_fn)])
    check_untouched("epoch_loss", before, [tensor for _, tensor in named])
    if any(p.grad is not None for p in model.parameters()):
        raise ObservationError("epoch_loss changed the model's gradients (.grad): it only measures the loss, so it "
                               "must not call loss.backward() (those gradients would be added to the next training "
                               "step's)")
    if not np.array_equal(flat_parameters(model), start):
        raise ObservationError("epoch_loss changed the model's parameters: it only measures the loss, it must not "
                               "train")
    is_float, value = returned_number(result, "epoch_loss")
    return {
        FLOAT_FLAG: is_float,
        "average loss over the batches": value,
        # graphs still alive after the call are held by the result
        "graphs of earlier batches kept alive (most at any time; 0 = each freed once its loss is read)":
            max(loss_fn.most_alive, loss_fn.alive()),
    }


def observe_train_step(call: Callable[..., Any], trial: Any) -> dict[str, Any]:
    torch = _torch()
    model = build_model(trial.extra)
    optimizer = getattr(torch.optim, trial.extra["optimizer"])(model.parameters(), **trial.extra["options"])
    loss_fn = getattr(torch.nn.functional, trial.extra["loss"])
    flags, losses, parameters = [], [], [flat_parameters(model)]
    for number, (x, y) in enumerate(batch_tensors(trial.extra), 1):
        before = snapshot_tensors([("x", x), ("y", y)])
        result = call("train_step", [("model", model), ("optimizer", optimizer), ("x", x), ("y", y),
                                     ("loss_fn", loss_fn)])
        check_untouched("train_step", before, [x, y])
        is_float, value = returned_number(result, "train_step", f" at call {number}")
        flags.append(is_float)
        losses.append(value)
        parameters.append(flat_parameters(model))
    return {
        FLOAT_FLAG: min(flags),
        "loss returned by each call": np.array(losses),
        "all parameters, flattened (row k = after k calls; row 0 = the start)": np.stack(parameters),
    }


def observe_prepare(call: Callable[..., Any], trial: Any) -> dict[str, Any]:
    torch = _torch()
    inputs = [(name, torch.from_numpy(array.copy())) for name, array in trial.args]
    before = snapshot_tensors(inputs)
    result = call("prepare", inputs)
    check_untouched("prepare", before, [tensor for _, tensor in inputs])
    outputs = _two_values(result, "prepare", ("X_train_std", "X_test_std"))
    for name, value in zip(("X_train_std", "X_test_std"), outputs, strict=True):
        if not isinstance(value, torch.Tensor):
            raise ObservationError(f"prepare must return torch tensors (the script feeds them to the model), but "
                               f"{name} is a {type(value).__name__}")
    return {"X_train standardized": outputs[0].detach().numpy().copy(),
            "X_test standardized": outputs[1].detach().numpy().copy()}


OBSERVERS: dict[str, Callable[[Callable[..., Any], Any], dict[str, Any]]] = {
    "mse": observe_mse, "epoch_loss": observe_epoch_loss, "train_step": observe_train_step, "prepare": observe_prepare,
}

__all__ = [
    "CONNECTED_FLAG",
    "FLOAT_FLAG",
    "OBSERVERS",
    "GraphWatchingLoss",
    "ObservationError",
    "batch_tensors",
    "build_model",
    "flat_parameters",
]
