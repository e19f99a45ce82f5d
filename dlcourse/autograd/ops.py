"""The operations of :class:`~dlcourse.autograd.Tensor`: forward and local backward side by side.

Each operation computes its output from the inputs' ``data`` and defines
``backward(g)``: given the upstream gradient g = dL/d(out), return
dL/d(input) = g * d(out)/d(input) for each input (the chain rule, one local
derivative at a time), then records both with ``_from_op``.  A gradient may
come back in the broadcast shape of the output; the engine sums it down to
the input's shape with :func:`unbroadcast`.

======================  =========================  ==================================
operation               forward                    local backward (g = dL/d out)
======================  =========================  ==================================
``a + b``               a + b                      g,  g
``a - b``               a - b                      g,  -g
``a * b``               a b                        g b,  g a
``a / b``               a / b                      g / b,  -g a / b^2
``a ** p``              a^p                        g p a^(p-1)     (+ g a^b log a for a tensor b)
``a @ b``               A B                        G B^T,  A^T G
``sum`` / ``mean``      sum (/ count)              g copied to every summed entry (/ count)
``reshape``             same data, new shape       g reshaped back
``transpose``           permuted axes              g permuted back
``exp``, ``log``        e^a,  log a                g e^a,  g / a
``tanh``, ``sigmoid``   t = tanh a,  s = sigma(a)  g (1 - t^2),  g s (1 - s)
``relu``                max(0, a)                  g [a > 0]
======================  =========================  ==================================

Source: Georgia Tech CS 4644/7643 'Optimization' (local gradients: add
distributes, multiply swaps, max routes); A. Karpathy, micrograd
(``Value.__mul__`` and its ``_backward``).
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np

from dlcourse._checks import check_range
from dlcourse.activations import sigmoid as _sigmoid
from dlcourse.autograd.shapes import axis_index, normalize_axes, unbroadcast

__all__ = ["Operations"]


def _ieee() -> np.errstate:
    """Silence numpy's warnings for inf/nan results, which torch returns silently."""
    return np.errstate(divide="ignore", invalid="ignore", over="ignore")


class Operations:
    """The differentiable operations of :class:`~dlcourse.autograd.Tensor` (its base class).

    Example:
        >>> from dlcourse.autograd import Tensor
        >>> a, b = Tensor([2.0, 3.0], requires_grad=True), Tensor([4.0, 5.0], requires_grad=True)
        >>> (a * b).sum().backward()            # multiply swaps: da = b, db = a
        >>> a.grad, b.grad
        (array([4., 5.]), array([2., 3.]))
    """

    __array_ufunc__ = None  # numpy operands defer to Tensor's reflected operators

    # -- operands -----------------------------------------------------------
    def _lift(self, other: Any) -> Self:
        """Wrap a number or array as a constant; Python numbers take this dtype (like torch)."""
        if isinstance(other, Operations):
            return other
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return type(self)(np.asarray(other, dtype=self.data.dtype))
        return type(self)(other)

    def _operand(self, other: Any, verb: str) -> Self:
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

    # -- arithmetic ---------------------------------------------------------
    def __add__(self, other: Any) -> Self:
        """a + b;  d/da = 1, d/db = 1 (add distributes the gradient)."""
        other = self._operand(other, "add")
        out = self.data + other.data

        def backward(g):
            return g, g

        return self._from_op(out, (self, other), backward, "add")

    def __sub__(self, other: Any) -> Self:
        """a - b;  d/da = 1, d/db = -1."""
        other = self._operand(other, "subtract")
        out = self.data - other.data

        def backward(g):
            return g, -g

        return self._from_op(out, (self, other), backward, "sub")

    def __mul__(self, other: Any) -> Self:
        """a * b;  d/da = b, d/db = a (multiply swaps its inputs)."""
        other = self._operand(other, "multiply")
        a, b = self.data, other.data
        out = a * b

        def backward(g):
            return g * b, g * a

        return self._from_op(out, (self, other), backward, "mul")

    def __truediv__(self, other: Any) -> Self:
        """a / b;  d/da = 1 / b, d/db = -a / b^2."""
        other = self._operand(other, "divide")
        a, b = self.data, other.data
        with _ieee():
            out = a / b

        def backward(g):
            with _ieee():
                return g / b, -g * a / (b * b)

        return self._from_op(out, (self, other), backward, "div")

    def __neg__(self) -> Self:
        """-a;  d/da = -1."""

        def backward(g):
            return (-g,)

        return self._from_op(-self.data, (self,), backward, "neg")

    def __pow__(self, exponent: Any) -> Self:
        """a ** p for a constant number p (d/da = p a^(p-1)), or elementwise a ** b for a tensor b.

        Example:
            >>> from dlcourse.autograd import Tensor
            >>> x = Tensor([1.0, 2.0], requires_grad=True)
            >>> (x ** 3).sum().backward()
            >>> x.grad                          # 3 x^2
            array([ 3., 12.])
        """
        if isinstance(exponent, (Operations, np.ndarray, list)):
            return self._pow_tensor(self._operand(exponent, "raise to the power of"))
        p = check_range(exponent, "exponent")
        a = self.data
        with _ieee():
            out = a**p

        def backward(g):
            if p == 0.0:  # torch: zero gradient, not 0 * 0^-1 = nan at a = 0
                return (np.zeros_like(g),)
            with _ieee():
                return (g * p * a ** (p - 1.0),)

        return self._from_op(out, (self,), backward, "pow")

    def _pow_tensor(self, exponent: Self) -> Self:
        """a ** b elementwise;  d/da = b a^(b-1), d/db = a^b log a."""
        a, b = self.data, exponent.data
        with _ieee():
            out = a**b

        def backward(g):
            with _ieee():
                # torch's masks: d/da is 0 where b == 0; d/db is 0 where a == 0 and b >= 0
                grad_a = np.where(b == 0, 0.0, g * b * a ** (b - 1.0))
                grad_b = np.where((a == 0) & (b >= 0), 0.0, g * out * np.log(a))
            return grad_a, grad_b

        return self._from_op(out, (self, exponent), backward, "pow")

    def __matmul__(self, other: Any) -> Self:
        """Matrix product C = A B with numpy's rules (1-D, 2-D and batched operands).

        Backward, with G = dL/dC:  dL/dA = G B^T,  dL/dB = A^T G.

        Example:
            >>> from dlcourse.autograd import Tensor
            >>> A = Tensor([[1.0, 2.0]], requires_grad=True)
            >>> B = Tensor([[3.0], [4.0]], requires_grad=True)
            >>> (A @ B).backward()              # G = [[1]]
            >>> A.grad, B.grad                  # G B^T, A^T G
            (array([[3., 4.]]), array([[1.],
                   [2.]]))
        """
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
        # rule serves every case.
        A = a[None, :] if a.ndim == 1 else a
        B = b[:, None] if b.ndim == 1 else b
        C_shape = (*np.broadcast_shapes(A.shape[:-2], B.shape[:-2]), A.shape[-2], B.shape[-1])

        def backward(g):
            G = g.reshape(C_shape)
            # Skip the matrix product for an operand that is data, not a parameter.
            grad_a = grad_b = None
            if self.requires_grad:
                grad_a = unbroadcast(G @ np.swapaxes(B, -1, -2), A.shape).reshape(a.shape)
            if other.requires_grad:
                grad_b = unbroadcast(np.swapaxes(A, -1, -2) @ G, B.shape).reshape(b.shape)
            return grad_a, grad_b

        return self._from_op(out, (self, other), backward, "matmul")

    __radd__ = __add__
    __rmul__ = __mul__

    def __rsub__(self, other: Any) -> Self:
        return self._lift(other) - self

    def __rtruediv__(self, other: Any) -> Self:
        return self._lift(other) / self

    def __rpow__(self, other: Any) -> Self:
        return self._lift(other) ** self

    def __rmatmul__(self, other: Any) -> Self:
        return self._lift(other) @ self

    # -- reductions and shape -----------------------------------------------
    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Self:
        """Sum over ``axis`` (None: all; an int or tuple, negatives allowed).

        Backward: every summed entry receives the upstream gradient of its sum.

        Example:
            >>> from dlcourse.autograd import Tensor
            >>> x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
            >>> x.sum(axis=0)
            Tensor([4., 6.], op='sum')
            >>> x.sum(axis=0).backward(np.array([1.0, 10.0]))
            >>> x.grad
            array([[ 1., 10.],
                   [ 1., 10.]])
        """
        axes = normalize_axes(axis, self.ndim)
        shape = self.shape
        out = self.data.sum(axis=axes, keepdims=keepdims)

        def backward(g):
            return (np.broadcast_to(g if keepdims else np.expand_dims(g, axes), shape),)

        return self._from_op(out, (self,), backward, "sum")

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Self:
        """Mean over ``axis``: the sum divided by the number of entries summed."""
        count = int(np.prod([self.shape[a] for a in normalize_axes(axis, self.ndim)]))
        return self.sum(axis, keepdims) / count

    def reshape(self, *shape: int | tuple[int, ...]) -> Self:
        """Same data in a new shape; ``reshape(2, 3)`` or ``reshape((2, 3))``, -1 allowed."""
        new_shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        old_shape = self.shape

        def backward(g):
            return (g.reshape(old_shape),)

        return self._from_op(self.data.reshape(new_shape), (self,), backward, "reshape")

    def transpose(self, *axes: int | tuple[int, ...]) -> Self:
        """Permute axes like ``numpy.transpose`` (no arguments: reverse them all)."""
        order = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        order = tuple(axis_index(a, self.ndim, "axes", order) for a in order) if order else None
        if order is None:
            order = tuple(reversed(range(self.ndim)))
        if sorted(order) != list(range(self.ndim)):
            raise ValueError(
                f"transpose axes must be a permutation of 0..{self.ndim - 1} (negatives "
                f"allowed) for shape {self.shape}, got {axes!r}"
            )
        inverse = tuple(int(i) for i in np.argsort(order))

        def backward(g):
            return (g.transpose(inverse),)

        return self._from_op(self.data.transpose(order), (self,), backward, "transpose")

    @property
    def T(self) -> Self:
        """All axes reversed (the matrix transpose for 2-D)."""
        return self.transpose()

    # -- elementwise functions ----------------------------------------------
    def exp(self) -> Self:
        """e^a;  d/da = e^a (the output itself)."""
        with _ieee():
            out = np.exp(self.data)

        def backward(g):
            return (g * out,)

        return self._from_op(out, (self,), backward, "exp")

    def log(self) -> Self:
        """Natural log;  d/da = 1/a.  log(0) = -inf and log(a < 0) = nan, as in torch."""
        a = self.data
        with _ieee():
            out = np.log(a)

        def backward(g):
            with _ieee():
                return (g / a,)

        return self._from_op(out, (self,), backward, "log")

    def tanh(self) -> Self:
        """t = tanh(a);  d/da = 1 - t^2."""
        t = np.tanh(self.data)

        def backward(g):
            return (g * (1.0 - t * t),)

        return self._from_op(t, (self,), backward, "tanh")

    def sigmoid(self) -> Self:
        """s = sigma(a) = 1 / (1 + e^-a);  d/da = s (1 - s)."""
        s = _sigmoid(self.data)

        def backward(g):
            return (g * s * (1.0 - s),)

        return self._from_op(s, (self,), backward, "sigmoid")

    def relu(self) -> Self:
        """max(0, a);  d/da = 1 for a > 0, else 0 (0 at a = 0, as in torch).

        Example:
            >>> from dlcourse.autograd import Tensor
            >>> x = Tensor([-1.0, 0.0, 2.0], requires_grad=True)
            >>> x.relu().sum().backward()
            >>> x.grad
            array([0., 0., 1.])
        """
        a = self.data
        out = np.maximum(a, 0)

        def backward(g):
            return (g * (a > 0),)

        return self._from_op(out, (self,), backward, "relu")
