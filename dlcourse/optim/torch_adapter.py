"""Turn a numpy ``(init_fn, step_fn)`` pair into a real ``torch.optim.Optimizer``.

So a student's own numpy Adam can train a torch model::

    opt = as_torch_optimizer(model.parameters(), my_adam_step, my_adam_init, lr=1e-3)
    loss.backward(); opt.step(); opt.zero_grad()

torch is imported only when the class is first needed (``import dlcourse.optim``
stays cheap), which is why the class is built by a function.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from dlcourse.optim.wrappers import check_hyperparameters, hyperparameter_names, resolve_optimizer

if TYPE_CHECKING:
    import torch

__all__ = ["as_torch_optimizer", "numpy_step_optimizer_class"]


def as_torch_optimizer(
    params: Iterable[Any], step_fn: Callable[..., Any] | str, init_fn: Callable[..., Any] | None = None, **defaults: Any
) -> torch.optim.Optimizer:
    """Return a ``torch.optim.Optimizer`` whose update is ``step_fn`` run in numpy.

    Args:
        params: what torch optimizers take: an iterable of tensors or of param
            group dicts (``[{"params": ..., "lr": 1e-2}, ...]``), whose keys
            override ``defaults`` per group.
        step_fn, init_fn: the numpy pair (``adam_step``, ``adam_init``); as in
            ``Optimizer``, ``init_fn`` may be left out for the step functions
            of ``dlcourse.optim`` and is required for your own.
        **defaults: hyperparameters passed to every ``step_fn`` call.

    Each ``step(closure=None)`` converts ``p`` and ``p.grad`` to float64 numpy,
    calls ``step_fn`` and copies the result back into ``p`` (cast to ``p``'s
    dtype); parameters whose ``.grad`` is None are skipped.  The numpy state
    is kept in ``optimizer.state[p]`` with its arrays as tensors sharing their
    memory (so ``state_dict``/``load_state_dict`` work).  Learning-rate
    schedulers work: they edit ``param_groups[i]["lr"]``, which is read at
    every step.
    """
    return numpy_step_optimizer_class()(params, step_fn, init_fn, **defaults)


@functools.cache
def numpy_step_optimizer_class() -> type:
    """The ``NumpyStepOptimizer(torch.optim.Optimizer)`` class (imports torch)."""
    import torch

    class NumpyStepOptimizer(torch.optim.Optimizer):
        """A torch optimizer running a pure numpy ``step_fn`` (see ``as_torch_optimizer``)."""

        def __init__(self, params: Iterable[Any], step_fn: Any, init_fn: Any = None, **defaults: Any) -> None:
            self.init_fn, self.step_fn = resolve_optimizer(step_fn, init_fn)
            check_hyperparameters(self.step_fn, defaults)
            # Only the step function's own keywords are passed from a group:
            # schedulers add keys such as "initial_lr" to the groups.
            self._hyperparameter_names = hyperparameter_names(self.step_fn) or frozenset(defaults)
            super().__init__(params, defaults)

        def add_param_group(self, param_group: dict[str, Any]) -> None:
            check_hyperparameters(self.step_fn, {k: v for k, v in param_group.items() if k != "params"})
            super().add_param_group(param_group)

        @torch.no_grad()
        def step(self, closure: Callable[[], Any] | None = None) -> Any:
            loss = None
            if closure is not None:
                with torch.enable_grad():
                    loss = closure()
            for group in self.param_groups:
                hyperparameters = {name: group[name] for name in self._hyperparameter_names if name in group}
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if p.grad.is_sparse:
                        raise RuntimeError("NumpyStepOptimizer does not support sparse gradients")
                    # float64 numpy copies (views for float64 CPU tensors; the step is
                    # pure, so they are not written); 0-d parameters become shape (1,).
                    theta = np.atleast_1d(np.asarray(p.detach().cpu().numpy(), dtype=np.float64))
                    grad = np.atleast_1d(np.asarray(p.grad.detach().cpu().numpy(), dtype=np.float64))
                    state = self.state[p]
                    numpy_state = (
                        {key: _to_numpy(value) for key, value in state.items()} if state else self.init_fn(theta)
                    )
                    new_theta, new_state = self.step_fn(theta, grad, numpy_state, **hyperparameters)
                    p.copy_(torch.from_numpy(np.ascontiguousarray(new_theta)).reshape(p.shape))
                    self.state[p] = {key: _to_tensor(value) for key, value in new_state.items()}
            return loss

    def _to_tensor(value: Any) -> Any:
        return torch.from_numpy(np.ascontiguousarray(value)) if isinstance(value, np.ndarray) else value

    def _to_numpy(value: Any) -> Any:
        if not isinstance(value, torch.Tensor):
            return value
        array = value.detach().cpu().numpy()
        return array.astype(np.float64, copy=False) if np.issubdtype(array.dtype, np.floating) else array

    NumpyStepOptimizer.__module__ = __name__
    NumpyStepOptimizer.__qualname__ = "NumpyStepOptimizer"
    return NumpyStepOptimizer
