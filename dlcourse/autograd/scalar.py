"""A scalar autograd engine: micrograd's ``Value``, one number per node.

Every ``Value`` holds a number (``data``), the gradient dL/d(value) that the
backward pass accumulates into it (``grad``), the values it was computed from
(its parents) and ``_backward``, a closure that applies the chain rule for one
operation.  Each operation writes its forward computation and its local
backward rule side by side; for ``out = a * b``::

    out.data = a.data * b.data             forward
    a.grad  += b.data * out.grad           dL/da += d(ab)/da * dL/d(out),  d(ab)/da = b
    b.grad  += a.data * out.grad           dL/db += d(ab)/db * dL/d(out),  d(ab)/db = a

``L.backward()`` puts the nodes of the graph in a topological order (every
node after the nodes it was computed from), sets dL/dL = 1 and calls the
nodes' ``_backward`` from the output back to the inputs, so that a node's
gradient is complete (every use of it has reported) before it is passed on.

The ``+=`` is the multivariable chain rule: a value used several times gets
the sum over its uses u of dL/du * du/d(value).  That includes ``a + a``,
where both parents are the same object: its two updates add up to
d(a + a)/da = 2.  With ``=`` instead of ``+=`` the second update would
overwrite the first and ``a.grad`` would be 1 (the bug that Karpathy's
micrograd walkthrough runs into and fixes this way).

==================  ==================  ======================================
operation           forward             local derivative(s)
==================  ==================  ======================================
``a + b``           a + b               1, 1
``a * b``           a b                 b, a
``a ** p``          a^p (p a number)    p a^(p - 1)
``-a``, ``a - b``   (-1) a, a + (-b)    composed from the two above
``a / b``           a b^(-1)            composed from ``*`` and ``**``
``a.exp()``         e^a                 e^a
``a.log()``         log a  (a > 0)      1 / a
``a.sin()``         sin a               cos a
``a.tanh()``        t = tanh a          1 - t^2
``a.relu()``        max(0, a)           1 if a > 0 else 0
==================  ==================  ======================================

Source: A. Karpathy, micrograd (``engine.py``: ``Value``, its ``_backward``
closures, ``backward`` with a topological sort); Georgia Tech CS 4644/7643
'Optimization' (gradients from multiple paths are summed).

Notes:
    Conventions follow micrograd and torch (float64), with these differences:

    * Every ``Value`` keeps its ``grad``, not only the leaves (torch keeps
      ``.grad`` on leaves only).  ``backward()`` first sets the gradients of
      the graph's non-leaf nodes to 0 and then accumulates into the leaves, so
      a second ``backward()`` adds the same gradients to the leaves again, as
      torch does with ``retain_graph=True``: set ``leaf.grad = 0.0`` between
      steps.  micrograd does not reset the inner nodes.
    * The topological sort is iterative (micrograd's ``build_topo`` is
      recursive and stops at Python's recursion limit, about a thousand nested
      operations).
    * The derivative of ``relu`` at 0 is 0, as in torch (micrograd's too).
    * Bad arithmetic raises instead of returning inf or nan as torch does:
      ``log`` of a number <= 0, a negative number to a non-integer power and
      0 to a negative power raise ``ValueError``; ``exp`` above about 709.78
      raises ``OverflowError`` (Python's ``math.exp``); the backward pass of
      ``0 ** p`` with 0 < p < 1, whose derivative at 0 is infinite, raises
      ``ZeroDivisionError``.
    * :class:`dlcourse.autograd.Tensor` is the same engine over numpy arrays.

Example:
    >>> x1, x2 = Value(2.0), Value(1.0)
    >>> f = x1 * x2 + x2.sin()               # x2 is used twice
    >>> f.backward()
    >>> x1.grad, round(x2.grad, 4)           # df/dx2 = x1 + cos(x2)
    (1.0, 2.5403)
"""

from __future__ import annotations

import math
import numbers
from typing import Any

__all__ = ["Value"]


def _number(data: Any, name: str) -> float:
    """``data`` as a float if it is a real number (not a bool), else a TypeError naming ``name``."""
    if isinstance(data, numbers.Real) and not isinstance(data, bool):
        return float(data)
    raise TypeError(f"{name} must be a real number (int or float), got {type(data).__name__} {data!r}")


def _as_value(other: Any) -> Value:
    """A Value as it is; a number becomes a constant Value."""
    return other if isinstance(other, Value) else Value(_number(other, "the other operand"))


class Value:
    """One number in a computation graph, with the gradient that ``backward()`` accumulates into it.

    Args:
        data: a real number (int or float; numpy scalars too), stored as a float.

    Attributes:
        data: the number.
        grad: dL/d(this value) after ``L.backward()``; 0.0 before.

    Example:
        >>> a = Value(3.0)
        >>> b = a + a                           # the same object twice
        >>> b.backward()
        >>> a.grad                              # d(a + a)/da = 2: the two updates add up
        2.0
    """

    def __init__(self, data: Any, _parents: tuple[Value, ...] = ()) -> None:
        self.data = _number(data, "data")
        self.grad = 0.0
        self._parents = _parents
        self._backward = lambda: None   # a leaf has nothing to pass on

    def __repr__(self) -> str:
        return f"Value(data={self.data!r}, grad={self.grad!r})"

    def __add__(self, other: Any) -> Value:
        """a + b; local derivatives 1 and 1."""
        other = _as_value(other)
        out = Value(self.data + other.data, (self, other))

        def _backward() -> None:
            self.grad += out.grad           # d(a + b)/da = 1
            other.grad += out.grad          # d(a + b)/db = 1

        out._backward = _backward
        return out

    def __mul__(self, other: Any) -> Value:
        """a * b; local derivatives b and a."""
        other = _as_value(other)
        out = Value(self.data * other.data, (self, other))

        def _backward() -> None:
            self.grad += other.data * out.grad    # d(ab)/da = b
            other.grad += self.data * out.grad    # d(ab)/db = a

        out._backward = _backward
        return out

    def __pow__(self, exponent: Any) -> Value:
        """a ** p for a number p; local derivative p a^(p - 1)."""
        p = _number(exponent, "exponent")
        if self.data < 0 and not p.is_integer():
            raise ValueError(f"a ** p with a < 0 needs an integer exponent, got a = {self.data}, p = {p}")
        if self.data == 0 and p < 0:
            raise ValueError(f"0 ** p with a negative exponent p = {p} is a division by zero")
        out = Value(self.data**p, (self,))

        def _backward() -> None:
            if p != 0:                  # a ** 0 = 1 is a constant (and 0 ** -1 does not exist)
                self.grad += p * self.data ** (p - 1) * out.grad

        out._backward = _backward
        return out

    def exp(self) -> Value:
        """e^a; local derivative e^a."""
        out = Value(math.exp(self.data), (self,))

        def _backward() -> None:
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def log(self) -> Value:
        """log a (natural, a > 0); local derivative 1 / a."""
        if self.data <= 0:
            raise ValueError(f"log needs a positive number, got data = {self.data}")
        out = Value(math.log(self.data), (self,))

        def _backward() -> None:
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

    def sin(self) -> Value:
        """sin a; local derivative cos a."""
        out = Value(math.sin(self.data), (self,))

        def _backward() -> None:
            self.grad += math.cos(self.data) * out.grad

        out._backward = _backward
        return out

    def tanh(self) -> Value:
        """t = tanh a; local derivative 1 - t^2."""
        out = Value(math.tanh(self.data), (self,))

        def _backward() -> None:
            self.grad += (1.0 - out.data**2) * out.grad

        out._backward = _backward
        return out

    def relu(self) -> Value:
        """max(0, a); local derivative 1 for a > 0, else 0."""
        out = Value(max(0.0, self.data), (self,))

        def _backward() -> None:
            self.grad += (self.data > 0) * out.grad

        out._backward = _backward
        return out

    # composed from the operations above: their backward comes for free
    def __neg__(self) -> Value:
        return self * -1.0

    def __sub__(self, other: Any) -> Value:
        return self + (-_as_value(other))

    def __truediv__(self, other: Any) -> Value:
        return self * _as_value(other) ** -1

    def __radd__(self, other: Any) -> Value:   # number + Value
        return self + other

    def __rmul__(self, other: Any) -> Value:   # number * Value
        return self * other

    def __rsub__(self, other: Any) -> Value:   # number - Value
        return _as_value(other) - self

    def __rtruediv__(self, other: Any) -> Value:   # number / Value
        return _as_value(other) / self

    def backward(self) -> None:
        """Accumulate dL/dv into ``v.grad`` for every value v this one (L) was computed from."""
        order, visited, stack = [], set(), [(self, False)]
        while stack:                    # depth-first; a node is appended after all its parents
            node, parents_done = stack.pop()
            if parents_done:
                order.append(node)
            elif node not in visited:
                visited.add(node)
                stack.append((node, True))
                stack.extend((parent, False) for parent in node._parents)
        for node in order:
            if node._parents:
                node.grad = 0.0         # inner nodes start from 0; leaves accumulate
        self.grad += 1.0                # dL/dL = 1 (added: a leaf L accumulates too)
        for node in reversed(order):    # from the output back to the inputs
            node._backward()
