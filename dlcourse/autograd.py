"""A small reverse-mode automatic differentiation engine over numpy arrays.

micrograd, but every value is an array: each operation on a :class:`Tensor`
records its inputs and a function that maps the upstream gradient dL/d(out)
to dL/d(input) for each input.  ``loss.backward()`` visits the recorded graph
in reverse topological order and applies these functions, summing the
gradients that reach a node along several paths::

    W = Tensor(rng.normal(size=(3, 2)), requires_grad=True)
    loss = (x @ W).tanh().mean()
    loss.backward()          # W.grad now holds dloss/dW

The graph is built on the fly while the forward pass runs (as in
torch.autograd), so ordinary Python control flow works.

Source: Georgia Tech CS 4644/7643 'Optimization' (computation graphs,
automatic differentiation, "a graph is created on the fly"); J. Adamczyk,
Deep learning lecture notes (computation graph, backprop).

Notes:
    Conventions follow torch, with these differences:

    * Data: floating numpy arrays keep their dtype; Python numbers, lists and
      integer or boolean arrays become float64 (torch would keep integer
      dtypes, which cannot require gradients anyway).  The constructor copies.
    * The graph is kept after ``backward()``, as if torch's
      ``retain_graph=True`` were always given, so calling ``backward()`` twice
      accumulates twice.  Gradients of gradients are not supported.
    * ``transpose(*axes)`` permutes axes like ``numpy.transpose`` and
      ``torch.permute``; torch's ``transpose(d0, d1)`` swaps two axes.
    * ``axis=()`` is rejected (numpy reads it as no axis, torch as every
      axis), and 0-d tensors accept only ``axis=None``.
    * ``zero_grad()`` sets ``.grad`` to None, torch's ``set_to_none=True``.
    * Floating-point edge cases follow IEEE arithmetic silently, as in torch:
      ``log(0) = -inf``, ``log(-1) = nan``, ``1 / 0 = inf``, ``exp(1000) = inf``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from dlcourse._checks import as_float_array, check_range, check_same_shape
from dlcourse.activations import sigmoid as _sigmoid

__all__ = ["Tensor", "no_grad", "is_grad_enabled", "zero_grad"]

_grad_enabled = True

# Gradient rule of one recorded operation: upstream gradient (out's shape) ->
# one gradient per parent, possibly in the broadcast shape (the engine sums it
# down), or None for a parent that needs no gradient.
BackwardFn = Callable[[np.ndarray], tuple[Any, ...]]


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Context manager (or decorator) under which operations record no graph.

    Results computed inside have ``requires_grad=False``: use it for
    parameter updates and evaluation, like ``torch.no_grad()``.
    """
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled() -> bool:
    """True unless inside :func:`no_grad`."""
    return _grad_enabled


def zero_grad(tensors: Iterable[Tensor]) -> None:
    """Set ``.grad`` of every tensor to None (e.g. all parameters of a model)."""
    for tensor in tensors:
        tensor.zero_grad()


def _ieee() -> np.errstate:
    """Silence numpy's warnings for inf/nan results, which torch returns silently."""
    return np.errstate(divide="ignore", invalid="ignore", over="ignore")


def _to_data(data: Any) -> np.ndarray:
    """Copy ``data`` into a float array (integers and bools become float64)."""
    if isinstance(data, Tensor):
        data = data.data
    array = np.array(data)
    if array.dtype.kind in "biu":
        return array.astype(np.float64)
    if array.dtype.kind != "f":
        raise TypeError(
            f"data must be numbers or a real numeric array, got {type(data).__name__} "
            f"with dtype {array.dtype}"
        )
    return array


def _unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` over the axes along which an operand of ``shape`` was broadcast."""
    if grad.shape == shape:
        return grad
    leading = grad.ndim - len(shape)
    stretched = tuple(
        leading + i for i, n in enumerate(shape) if n == 1 and grad.shape[leading + i] != 1
    )
    return grad.sum(axis=tuple(range(leading)) + stretched, keepdims=True).reshape(shape)


def _axis_index(axis: Any, ndim: int, name: str, given: Any) -> int:
    """One axis (negatives allowed) as a non-negative int, or a ValueError naming ``name``."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -ndim <= axis < ndim:
        raise ValueError(
            f"{name} must be an int (or ints) in [-ndim, ndim) = [{-ndim}, {ndim}) for a {ndim}-d "
            f"Tensor, got {given!r}"
        )
    return int(axis) % ndim


def _normalize_axes(axis: int | tuple[int, ...] | None, ndim: int) -> tuple[int, ...]:
    """Return ``axis`` (None, an int or a tuple, negatives allowed) as sorted non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    if not axes:
        raise ValueError(
            "axis=() is ambiguous (numpy reduces no axis, torch reduces all of them); "
            "pass axis=None to reduce every axis"
        )
    normalized = sorted(_axis_index(a, ndim, "axis", axis) for a in axes)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"axis must not repeat an axis, got {axis!r}")
    return tuple(normalized)


def _topological_order(root: Tensor) -> list[Tensor]:
    """Nodes that need gradients, each after all of its parents (iterative DFS)."""
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        stack.extend((p, False) for p in node._parents if p.requires_grad and id(p) not in visited)
    return order


class Tensor:
    """An array that records the operations applied to it, for backprop.

    Args:
        data: numbers or an array; copied (float dtypes are kept, integers and
            bools become float64).
        requires_grad: whether ``backward()`` should compute ``.grad`` for
            this tensor (default False: data, not parameters).

    Attributes:
        data: the numpy array.
        grad: numpy array of ``data``'s shape, or None until a ``backward()``
            reaches this tensor; accumulates over ``backward()`` calls.  Only
            leaves (tensors created by the user with ``requires_grad=True``)
            and tensors marked with :meth:`retain_grad` get one.
        requires_grad: True for such leaves, and for every result of an
            operation with an input that requires grad (outside ``no_grad``).
    """

    __array_ufunc__ = None  # numpy operands defer to Tensor's reflected operators

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        self.data = _to_data(data)
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self._parents: tuple[Tensor, ...] = ()
        self._backward_fn: BackwardFn | None = None
        self._op = ""
        self._retains_grad = False

    @classmethod
    def _from_op(
        cls, data: Any, parents: tuple[Tensor, ...], backward_fn: BackwardFn | None, op: str
    ) -> Tensor:
        """Result of an operation; records the graph edge unless no input needs grad."""
        out = cls.__new__(cls)
        out.data = np.asarray(data)  # ops on 0-d arrays return numpy scalars
        out.grad = None
        out.requires_grad = _grad_enabled and any(p.requires_grad for p in parents)
        out._parents = parents if out.requires_grad else ()
        out._backward_fn = backward_fn if out.requires_grad else None
        out._op = op if out.requires_grad else ""
        out._retains_grad = False
        return out

    # -- conversion helpers -------------------------------------------------
    def _lift(self, other: Any) -> Tensor:
        """Wrap a number or array as a constant; Python numbers take this dtype (like torch)."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return Tensor(np.asarray(other, dtype=self.data.dtype))
        return Tensor(other)

    def _operand(self, other: Any, verb: str) -> Tensor:
        """``other`` as a Tensor whose shape broadcasts with ours, else a clear ValueError."""
        other = self._lift(other)
        try:
            np.broadcast_shapes(self.shape, other.shape)
        except ValueError:
            raise ValueError(
                f"cannot {verb} Tensors of shapes {self.shape} and {other.shape}: shapes "
                f"broadcast only if each trailing dimension is equal or 1; reshape one "
                f"operand (e.g. .reshape(-1, 1)) or check which axis you reduced"
            ) from None
        return other

    # -- properties ---------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def T(self) -> Tensor:
        """All axes reversed (the matrix transpose for 2-D)."""
        return self.transpose()

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        if self.data.size != 1:
            raise ValueError(
                f"item() needs a Tensor with exactly one element, got shape {self.shape}; "
                f"reduce it first (e.g. .sum()) or index .data"
            )
        return self.data.item()

    def __float__(self) -> float:
        return float(self.item())

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        if self._op:
            return f"Tensor({body}, op={self._op!r})"
        return f"Tensor({body}{', requires_grad=True' if self.requires_grad else ''})"

    def detach(self) -> Tensor:
        """A tensor sharing ``data`` that is cut off from the graph (requires_grad=False)."""
        return Tensor._from_op(self.data, (), None, "")

    # -- arithmetic ---------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        other = self._operand(other, "add")
        return Tensor._from_op(self.data + other.data, (self, other), lambda g: (g, g), "add")

    def __sub__(self, other: Any) -> Tensor:
        other = self._operand(other, "subtract")
        return Tensor._from_op(self.data - other.data, (self, other), lambda g: (g, -g), "sub")

    def __mul__(self, other: Any) -> Tensor:
        other = self._operand(other, "multiply")
        a, b = self.data, other.data
        return Tensor._from_op(a * b, (self, other), lambda g: (g * b, g * a), "mul")

    def __truediv__(self, other: Any) -> Tensor:
        other = self._operand(other, "divide")
        a, b = self.data, other.data

        def backward(g):
            with _ieee():
                return g / b, -g * a / (b * b)

        with _ieee():
            return Tensor._from_op(a / b, (self, other), backward, "div")

    def __neg__(self) -> Tensor:
        return Tensor._from_op(-self.data, (self,), lambda g: (-g,), "neg")

    def __pow__(self, exponent: Any) -> Tensor:
        """``x ** p`` for a constant number p, or elementwise ``x ** y`` for a tensor y."""
        if isinstance(exponent, (Tensor, np.ndarray, list)):
            return self._pow_tensor(self._operand(exponent, "raise to the power of"))
        p = check_range(exponent, "exponent")
        a = self.data

        def backward(g):
            if p == 0.0:  # torch: zero gradient, not 0 * 0^-1 = nan at x = 0
                return (np.zeros_like(g),)
            with _ieee():
                return (g * p * a ** (p - 1.0),)

        with _ieee():
            return Tensor._from_op(a**p, (self,), backward, "pow")

    def _pow_tensor(self, exponent: Tensor) -> Tensor:
        a, b = self.data, exponent.data
        with _ieee():
            out = a**b

        def backward(g):
            with _ieee():
                # torch's masks: d/da is 0 where b == 0; d/db is 0 where a == 0 and b >= 0
                grad_a = np.where(b == 0, 0.0, g * b * a ** (b - 1.0))
                grad_b = np.where((a == 0) & (b >= 0), 0.0, g * out * np.log(a))
            return grad_a, grad_b

        return Tensor._from_op(out, (self, exponent), backward, "pow")

    def __matmul__(self, other: Any) -> Tensor:
        """Matrix product with numpy's rules: 1-D, 2-D and batched (broadcast) operands."""
        other = self._lift(other)
        a, b = self.data, other.data
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(
                f"matmul needs operands with at least 1 dimension, got shapes {a.shape} "
                f"and {b.shape}; use * to scale by a scalar"
            )
        try:
            out = a @ b
        except ValueError:
            inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
            raise ValueError(
                f"cannot matmul Tensors of shapes {a.shape} and {b.shape}: the last dimension "
                f"of the left operand ({a.shape[-1]}) must equal the "
                f"{'length' if b.ndim == 1 else 'second-to-last dimension'} of the right "
                f"operand ({inner_b}), and batch dimensions must broadcast"
            ) from None
        # Treat a vector as a 1-row (left) or 1-column (right) matrix, so one
        # rule serves every case: dA = G B^T, dB = A^T G.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        out2_shape = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]) + (a2.shape[-2], b2.shape[-1])

        def backward(g):
            g2 = g.reshape(out2_shape)
            # Skip the matrix product for an operand that is data, not a parameter.
            grad_a = grad_b = None
            if self.requires_grad:
                grad_a = _unbroadcast(g2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
            if other.requires_grad:
                grad_b = _unbroadcast(np.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape)
            return grad_a, grad_b

        return Tensor._from_op(out, (self, other), backward, "matmul")

    __radd__ = __add__
    __rmul__ = __mul__

    def __rsub__(self, other: Any) -> Tensor:
        return self._lift(other) - self

    def __rtruediv__(self, other: Any) -> Tensor:
        return self._lift(other) / self

    def __rpow__(self, other: Any) -> Tensor:
        return self._lift(other) ** self

    def __rmatmul__(self, other: Any) -> Tensor:
        return self._lift(other) @ self

    # -- reductions and shape -----------------------------------------------
    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (None: all; an int or tuple, negatives allowed)."""
        axes = _normalize_axes(axis, self.ndim)
        shape = self.shape

        def backward(g):
            # Every summed entry receives the upstream gradient of its sum.
            return (np.broadcast_to(g if keepdims else np.expand_dims(g, axes), shape),)

        return Tensor._from_op(self.data.sum(axis=axes, keepdims=keepdims), (self,), backward, "sum")

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Mean over ``axis``: the sum divided by the number of entries summed."""
        count = int(np.prod([self.shape[a] for a in _normalize_axes(axis, self.ndim)]))
        return self.sum(axis, keepdims) / count

    def reshape(self, *shape: int | tuple[int, ...]) -> Tensor:
        """Same data in a new shape; ``reshape(2, 3)`` or ``reshape((2, 3))``, -1 allowed."""
        new_shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        old_shape = self.shape
        backward = lambda g: (g.reshape(old_shape),)  # noqa: E731
        return Tensor._from_op(self.data.reshape(new_shape), (self,), backward, "reshape")

    def transpose(self, *axes: int | tuple[int, ...]) -> Tensor:
        """Permute axes like ``numpy.transpose`` (no arguments: reverse them all)."""
        order = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        order = tuple(_axis_index(a, self.ndim, "axes", order) for a in order) if order else None
        if order is None:
            order = tuple(reversed(range(self.ndim)))
        if sorted(order) != list(range(self.ndim)):
            raise ValueError(
                f"transpose axes must be a permutation of 0..{self.ndim - 1} (negatives "
                f"allowed) for shape {self.shape}, got {axes!r}"
            )
        inverse = tuple(int(i) for i in np.argsort(order))
        backward = lambda g: (g.transpose(inverse),)  # noqa: E731
        return Tensor._from_op(self.data.transpose(order), (self,), backward, "transpose")

    # -- elementwise functions ----------------------------------------------
    def exp(self) -> Tensor:
        """e^x;  d/dx = e^x."""
        with _ieee():
            out = np.exp(self.data)
        return Tensor._from_op(out, (self,), lambda g: (g * out,), "exp")

    def log(self) -> Tensor:
        """Natural log;  d/dx = 1/x.  log(0) = -inf and log(x < 0) = nan, as in torch."""
        a = self.data

        def backward(g):
            with _ieee():
                return (g / a,)

        with _ieee():
            return Tensor._from_op(np.log(a), (self,), backward, "log")

    def tanh(self) -> Tensor:
        """tanh(x);  d/dx = 1 - tanh(x)^2."""
        out = np.tanh(self.data)
        return Tensor._from_op(out, (self,), lambda g: (g * (1.0 - out * out),), "tanh")

    def sigmoid(self) -> Tensor:
        """sigma(x) = 1 / (1 + e^-x);  d/dx = sigma(x) (1 - sigma(x))."""
        out = _sigmoid(self.data)
        return Tensor._from_op(out, (self,), lambda g: (g * (1.0 - out) * out,), "sigmoid")

    def relu(self) -> Tensor:
        """max(0, x);  d/dx = 1 for x > 0, else 0 (0 at x = 0, as in torch)."""
        a = self.data
        return Tensor._from_op(np.maximum(a, 0), (self,), lambda g: (g * (a > 0),), "relu")

    # -- backpropagation ----------------------------------------------------
    def retain_grad(self) -> None:
        """Also store ``.grad`` on this non-leaf tensor when ``backward()`` runs."""
        if not self.requires_grad:
            raise RuntimeError(
                "retain_grad() on a Tensor that does not require grad; it is not part of "
                "a graph (create the leaves with requires_grad=True, outside no_grad())"
            )
        self._retains_grad = True

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``.grad = None``, like torch's set_to_none)."""
        self.grad = None

    def _accumulate(self, grad: np.ndarray) -> None:
        # Copy the first time: grad may be a read-only broadcast view or the
        # caller's array passed to backward().
        self.grad = np.array(grad, dtype=self.dtype) if self.grad is None else self.grad + grad

    def backward(self, grad: Any = None) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires grad.

        Args:
            grad: dL/d(self), an array of ``self``'s shape.  May be omitted
                only for a one-element tensor (then it is 1), as in torch.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a Tensor that does not require grad: no input of the "
                "computation had requires_grad=True, or it was computed under no_grad(); "
                "create the parameters with Tensor(..., requires_grad=True)"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without grad works only for a one-element output, but this "
                    f"Tensor has shape {self.shape}; reduce it to a scalar loss first "
                    f"(e.g. .sum() or .mean()) or pass grad=dL/d(output) of shape {self.shape}"
                )
            grad = np.ones_like(self.data)
        else:
            grad = as_float_array(grad.data if isinstance(grad, Tensor) else grad, "grad")
            check_same_shape(self.data, grad, "the output", "grad")

        pending = {id(self): grad}  # summed upstream gradient of each node not yet visited
        for node in reversed(_topological_order(self)):
            g = pending.pop(id(node))
            if node._backward_fn is None or node._retains_grad:
                node._accumulate(g)
            if node._backward_fn is None:
                continue
            for parent, parent_grad in zip(node._parents, node._backward_fn(g)):
                if parent_grad is None or not parent.requires_grad:
                    continue
                parent_grad = _unbroadcast(np.asarray(parent_grad), parent.shape)
                parent_grad = parent_grad.astype(parent.dtype, copy=False)
                key = id(parent)
                # Not +=: parent_grad may alias another node's gradient (add passes g on twice).
                pending[key] = pending[key] + parent_grad if key in pending else parent_grad
