"""Backpropagation with modular gates: a forward/backward API per operation.

Every gate caches in ``forward`` what its local derivative needs, and in
``backward`` multiplies that local derivative by the upstream gradient
``dout`` (the chain rule), returning one gradient per input::

    class MultiplyGate:
        def forward(x, y):
            z = x * y
            self.x = x          # must keep these around!
            self.y = y
            return z
        def backward(dz):
            dx = self.y * dz    # [dz/dx * dL/dz]
            dy = self.x * dz    # [dz/dy * dL/dz]
            return [dx, dy]

Gates work on Python numbers and elementwise on float arrays.  Two worked
examples from the lecture are built from them: ``f(x1, x2) = x1 x2 + sin(x2)``
(gradients from two paths are summed) and the logistic ``L = 1 / sigma(w.x)``.

Source: Georgia Tech CS 4644/7643 'Optimization' (modularized forward/backward
API, computation graphs, backprop worked examples).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dlcourse._checks import as_float_array, check_range, check_same_shape
from dlcourse.activations import sigmoid

__all__ = [
    "Gate",
    "MultiplyGate",
    "AddGate",
    "SinGate",
    "CosGate",
    "ExpGate",
    "SigmoidGate",
    "ReciprocalGate",
    "MaxGate",
    "DotGate",
    "PowGate",
    "WorkedExample",
    "worked_example",
    "LogisticExample",
    "logistic_example",
]


class Gate:
    """Base class: validates inputs, remembers that forward ran, checks ``dout``.

    Subclasses list their inputs in ``input_names`` and implement
    ``_forward(*inputs)`` (compute the output, cache what the backward pass
    needs on ``self``) and ``_backward(dout)`` (local derivative times
    ``dout``; a tuple for two inputs, a single value for one).

    Inputs are converted to float arrays (Python numbers become 0-d float64;
    integer numpy arrays are rejected), so a scalar gate returns numpy
    scalars.  Two-input gates require both inputs to have the same shape: a
    gate never broadcasts, because the gradient of a broadcast input would
    need summing (``dlcourse.autograd.Tensor`` does that).
    """

    input_names: tuple[str, ...] = ("x",)

    def __init__(self) -> None:
        self._output_shape: tuple[int, ...] | None = None  # None until forward runs

    def forward(self, *inputs: Any) -> Any:
        """Compute the gate's output and cache what ``backward`` needs."""
        name = type(self).__name__
        self._output_shape = None  # a failed forward must not leave a stale cache behind
        if len(inputs) != len(self.input_names):
            raise TypeError(
                f"{name}.forward takes {len(self.input_names)} input(s) "
                f"({', '.join(self.input_names)}), got {len(inputs)}"
            )
        arrays = [as_float_array(v, n) for v, n in zip(inputs, self.input_names)]
        if len(arrays) == 2:
            check_same_shape(arrays[0], arrays[1], *self.input_names)
        out = self._forward(*arrays)
        self._output_shape = np.shape(out)
        return out

    def backward(self, dout: Any) -> Any:
        """Return the gradient of the loss w.r.t. each input, given dL/d(output)."""
        if self._output_shape is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward was called before forward: the gate "
                f"has no cached inputs yet; call forward(...) first"
            )
        dout = as_float_array(dout, "dout")
        if np.shape(dout) != self._output_shape:
            raise ValueError(
                f"dout must have the shape of the forward output {self._output_shape}, "
                f"got shape {np.shape(dout)}; pass dL/d(output), one entry per output entry"
            )
        return self._backward(dout)

    def _forward(self, *inputs: np.ndarray) -> Any:
        raise NotImplementedError

    def _backward(self, dout: np.ndarray) -> Any:
        raise NotImplementedError


class MultiplyGate(Gate):
    """z = x * y;  dx = y dz,  dy = x dz  (the gate "swaps" its inputs)."""

    input_names = ("x", "y")

    def _forward(self, x, y):
        self.x, self.y = x, y  # must keep these around!
        return x * y

    def _backward(self, dz):
        return self.y * dz, self.x * dz


class AddGate(Gate):
    """z = x + y;  dx = dz,  dy = dz  (the gate distributes dz unchanged)."""

    input_names = ("x", "y")

    def _forward(self, x, y):
        return x + y

    def _backward(self, dz):
        # Local derivatives are 1; multiplying (not returning dz twice) gives
        # two distinct arrays, so accumulating into one cannot change the other.
        return 1.0 * dz, 1.0 * dz


class SinGate(Gate):
    """z = sin(x);  dx = cos(x) dz."""

    def _forward(self, x):
        self.x = x
        return np.sin(x)

    def _backward(self, dz):
        return np.cos(self.x) * dz


class CosGate(Gate):
    """z = cos(x);  dx = -sin(x) dz."""

    def _forward(self, x):
        self.x = x
        return np.cos(x)

    def _backward(self, dz):
        return -np.sin(self.x) * dz


class ExpGate(Gate):
    """z = e^x;  dx = e^x dz  (caches the output, which is its own derivative)."""

    def _forward(self, x):
        self.z = np.exp(x)
        return self.z

    def _backward(self, dz):
        return self.z * dz


class SigmoidGate(Gate):
    """z = sigma(x) = 1 / (1 + e^-x);  dx = sigma(x) (1 - sigma(x)) dz."""

    def _forward(self, x):
        self.z = sigmoid(x)
        return self.z

    def _backward(self, dz):
        return self.z * (1.0 - self.z) * dz


class ReciprocalGate(Gate):
    """z = 1 / x;  dx = -1 / x^2 dz  (the lecture's L = 1/p)."""

    def _forward(self, x):
        self.x = x
        return 1.0 / x

    def _backward(self, dz):
        return -dz / self.x**2


class MaxGate(Gate):
    """z = max(x, y) elementwise;  the larger input gets dz, the other 0.

    Notes:
        At a tie (x == y) both inputs get dz / 2, as in ``torch.maximum``;
        cs231n's "gradient router" picks one input instead.  Either is a valid
        subgradient, only the halves match torch.
    """

    input_names = ("x", "y")

    def _forward(self, x, y):
        self.x, self.y = x, y
        return np.maximum(x, y)

    def _backward(self, dz):
        share_x = np.where(self.x > self.y, 1.0, np.where(self.x == self.y, 0.5, 0.0))
        return share_x * dz, (1.0 - share_x) * dz


class DotGate(Gate):
    """z = w . x for two vectors of equal length;  dw = x dz,  dx = w dz."""

    input_names = ("w", "x")

    def _forward(self, w, x):
        if w.ndim != 1:
            raise ValueError(
                f"DotGate takes two 1-D vectors, got w and x of shape {w.shape}; "
                f"flatten them with .ravel() (or use MultiplyGate for elementwise products)"
            )
        self.w, self.x = w, x
        return np.dot(w, x)

    def _backward(self, dz):
        return self.x * dz, self.w * dz


class PowGate(Gate):
    """z = x^p for a constant exponent p;  dx = p x^(p-1) dz.

    Args:
        exponent: the constant p, a real number.  For p = 0 the gradient is 0
            (as in torch), not the NaN that 0 * 0^-1 would give at x = 0.
    """

    def __init__(self, exponent: float) -> None:
        super().__init__()
        self.exponent = check_range(exponent, "exponent")

    def _forward(self, x):
        self.x = x
        return x**self.exponent

    def _backward(self, dz):
        if self.exponent == 0.0:
            return np.zeros_like(self.x)
        return self.exponent * self.x ** (self.exponent - 1.0) * dz


@dataclass(frozen=True)
class WorkedExample:
    """Every value of the forward and backward pass of f = x1 x2 + sin(x2).

    Naming follows the lecture: forward nodes a1 = sin(x2), a2 = x1 x2,
    a3 = a1 + a2 = f; adjoints ``abar_k = df/da_k``; ``x2bar_path1`` and
    ``x2bar_path2`` are the contributions to df/dx2 through a1 and a2.
    """

    x1: Any
    x2: Any
    a1: Any
    a2: Any
    a3: Any
    abar3: Any
    abar1: Any
    abar2: Any
    x2bar_path1: Any
    x2bar_path2: Any
    x2bar: Any
    x1bar: Any

    @property
    def f(self) -> Any:
        """The output f(x1, x2) = a3."""
        return self.a3


def worked_example(x1: Any, x2: Any) -> WorkedExample:
    """Forward and backward pass of f(x1, x2) = x1 x2 + sin(x2), gate by gate.

    Forward::

        a1 = sin(x2)        (SinGate)
        a2 = x1 * x2        (MultiplyGate)
        a3 = a1 + a2 = f    (AddGate)

    Backward (adjoints abar = df/da)::

        abar3 = 1
        abar1 = abar3,  abar2 = abar3                 (add distributes)
        x2bar_path1 = abar1 * cos(x2)                 (through a1)
        x2bar_path2 = abar2 * x1                      (through a2)
        x1bar       = abar2 * x2
        x2bar       = x2bar_path1 + x2bar_path2       (paths are summed)

    Args:
        x1, x2: numbers, or float arrays of the same shape (elementwise).

    Returns:
        A :class:`WorkedExample` holding every forward value and adjoint.

    Source: Georgia Tech CS 4644/7643 'Optimization' ("gradients from
    multiple paths summed").
    """
    sin_gate, mul_gate, add_gate = SinGate(), MultiplyGate(), AddGate()
    a1 = sin_gate.forward(x2)
    a2 = mul_gate.forward(x1, x2)
    a3 = add_gate.forward(a1, a2)

    abar3 = np.ones_like(a3)
    abar1, abar2 = add_gate.backward(abar3)
    x2bar_path1 = sin_gate.backward(abar1)
    x1bar, x2bar_path2 = mul_gate.backward(abar2)
    return WorkedExample(
        x1=x1, x2=x2, a1=a1, a2=a2, a3=a3,
        abar3=abar3, abar1=abar1, abar2=abar2,
        x2bar_path1=x2bar_path1, x2bar_path2=x2bar_path2,
        x2bar=x2bar_path1 + x2bar_path2, x1bar=x1bar,
    )


@dataclass(frozen=True)
class LogisticExample:
    """Forward values, adjoints and dL/dw of L = 1 / sigma(w . x), two ways."""

    u: Any
    p: Any
    L: Any
    pbar: Any
    ubar: Any
    wbar_gates: np.ndarray
    wbar_combined: np.ndarray


def logistic_example(w: Any, x: Any) -> LogisticExample:
    """dL/dw for L = 1/p, p = sigma(u), u = w . x, gate by gate and in one formula.

    Gate by gate (DotGate, SigmoidGate, ReciprocalGate)::

        pbar = dL/dp = -1 / p^2
        ubar = dL/du = pbar * sigma(u) (1 - sigma(u))
        wbar = dL/dw = ubar * x

    Combined along the path from L to w::

        wbar = -1 / p^2 * p (1 - p) * x  =  -(1 - p) / p * x

    Args:
        w, x: 1-D float vectors of the same length.

    Returns:
        A :class:`LogisticExample`; ``wbar_gates`` and ``wbar_combined`` agree
        up to rounding.

    Notes:
        The slide's combined expression writes -1/sigma(w.x) where the chain
        rule gives -1/sigma(w.x)^2, and so simplifies to -(1 - sigma) x^T; the
        correct gradient is -(1 - sigma) / sigma * x, as computed here.

    Source: Georgia Tech CS 4644/7643 'Optimization'.
    """
    dot_gate, sigmoid_gate, reciprocal_gate = DotGate(), SigmoidGate(), ReciprocalGate()
    u = dot_gate.forward(w, x)
    p = sigmoid_gate.forward(u)
    loss = reciprocal_gate.forward(p)

    pbar = reciprocal_gate.backward(np.ones_like(loss))
    ubar = sigmoid_gate.backward(pbar)
    wbar_gates, _ = dot_gate.backward(ubar)
    wbar_combined = -1.0 / p**2 * p * (1.0 - p) * dot_gate.x
    return LogisticExample(
        u=u, p=p, L=loss, pbar=pbar, ubar=ubar,
        wbar_gates=wbar_gates, wbar_combined=wbar_combined,
    )
