"""The ``Tensor``, the graph it records, and ``backward()``.

Every operation (see :mod:`dlcourse.autograd.ops`) creates its result with
:meth:`Tensor._from_op`, which records the inputs (the *parents*) and the
operation's local backward rule.  ``backward()`` then

1. orders the nodes that need gradients so that every node comes after its
   parents (a topological order, found by depth-first search), and
2. walks that order backwards from the output: each node's upstream gradient
   is complete by the time it is visited (every path to it has been summed),
   its backward rule turns it into one gradient per parent, and those are
   added to what the parents have received so far.

Leaves (tensors the user created with ``requires_grad=True``) accumulate the
result in ``.grad``.

Source: Georgia Tech CS 4644/7643 'Optimization' (backprop on a computation
graph: "gradients from multiple paths summed"); A. Karpathy, micrograd
(``Value.backward``: topological sort, then the chain rule in reverse).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from dlcourse._checks import as_float_array, check_same_shape
from dlcourse.autograd.ops import Operations
from dlcourse.autograd.shapes import unbroadcast

__all__ = ["Tensor", "is_grad_enabled", "no_grad", "zero_grad"]

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

    Example:
        >>> w = Tensor([1.0, 2.0], requires_grad=True)
        >>> with no_grad():
        ...     w_new = w - 0.1 * w
        >>> w_new.requires_grad, (w * 2.0).requires_grad
        (False, True)
    """
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled() -> bool:
    """True unless inside :func:`no_grad`.

    Example:
        >>> is_grad_enabled()
        True
        >>> with no_grad():
        ...     is_grad_enabled()
        False
    """
    return _grad_enabled


def zero_grad(tensors: Iterable[Tensor]) -> None:
    """Set ``.grad`` of every tensor to None (e.g. all parameters of a model).

    Example:
        >>> w, b = Tensor([1.0], requires_grad=True), Tensor([0.0], requires_grad=True)
        >>> (w * 3.0 + b).sum().backward()
        >>> w.grad, b.grad
        (array([3.]), array([1.]))
        >>> zero_grad([w, b])
        >>> w.grad is None and b.grad is None
        True
    """
    for tensor in tensors:
        tensor.zero_grad()


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


def _topological_order(root: Tensor) -> list[Tensor]:
    """Nodes that need gradients, each after all of its parents (iterative DFS).

    Iterative, not recursive like micrograd's ``build_topo``: a deep graph
    (thousands of operations) would exceed Python's recursion limit.
    """
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


class Tensor(Operations):
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

    Example:
        >>> x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> y = (x * x).sum()                  # y = sum x_i^2
        >>> y
        Tensor(14., op='sum')
        >>> y.backward()
        >>> x.grad                             # dy/dx = 2 x
        array([2., 4., 6.])
    """

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

    # -- the data -----------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

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
        """A tensor sharing ``data`` that is cut off from the graph (requires_grad=False).

        Example:
            >>> w = Tensor([1.0, 2.0], requires_grad=True)
            >>> d = (w * 2.0).detach()
            >>> d, d.requires_grad
            (Tensor([2., 4.]), False)
        """
        return Tensor._from_op(self.data, (), None, "")

    # -- backpropagation ----------------------------------------------------
    def retain_grad(self) -> None:
        """Also store ``.grad`` on this non-leaf tensor when ``backward()`` runs.

        Example:
            >>> x = Tensor([1.0, -2.0], requires_grad=True)
            >>> h = x * 3.0
            >>> h.retain_grad()
            >>> (h * h).sum().backward()
            >>> h.grad                          # dL/dh = 2 h
            array([  6., -12.])
        """
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

        For the nodes in reverse topological order, starting with
        ``upstream[self] = grad``::

            for each parent p of node:  upstream[p] += node's local rule(upstream[node])

        A parent's gradient is summed over the axes along which it was
        broadcast in the forward pass, so it has the parent's shape.

        Args:
            grad: dL/d(self), an array of ``self``'s shape.  May be omitted
                only for a one-element tensor (then it is 1), as in torch.

        Example:
            >>> x = Tensor(2.0, requires_grad=True)
            >>> y = x * x + x                   # two paths from x to y
            >>> y.backward()
            >>> x.grad                          # dy/dx = 2 x + 1
            array(5.)
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

        upstream = {id(self): grad}  # summed upstream gradient of each node not yet visited
        for node in reversed(_topological_order(self)):
            g = upstream.pop(id(node))
            if node._backward_fn is None or node._retains_grad:
                node._accumulate(g)
            if node._backward_fn is None:
                continue
            for parent, parent_grad in zip(node._parents, node._backward_fn(g), strict=True):
                if parent_grad is None or not parent.requires_grad:
                    continue
                parent_grad = unbroadcast(np.asarray(parent_grad), parent.shape)
                parent_grad = parent_grad.astype(parent.dtype, copy=False)
                key = id(parent)
                # Not +=: parent_grad may alias another node's gradient (add passes g on twice).
                upstream[key] = upstream[key] + parent_grad if key in upstream else parent_grad
