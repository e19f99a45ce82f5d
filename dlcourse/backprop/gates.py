"""Gates: one operation each, with a forward pass that caches and a local backward pass.

``forward(*inputs)`` computes the output and keeps what the local derivative
needs; ``backward(dout)`` multiplies that local derivative by the upstream
gradient (the chain rule) and returns one gradient per input.

Source: Georgia Tech CS 4644/7643 'Optimization' (modularized forward/backward
API; add distributes, multiply swaps, max routes the gradient).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlcourse._checks import as_float_array, check_range, check_same_shape
from dlcourse.activations import sigmoid

__all__ = [
    "AddGate",
    "CosGate",
    "DotGate",
    "ExpGate",
    "Gate",
    "MaxGate",
    "MultiplyGate",
    "PowGate",
    "ReciprocalGate",
    "SigmoidGate",
    "SinGate",
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

    Example:
        >>> class SquareGate(Gate):               # z = x^2;  dx = 2 x dz
        ...     def _forward(self, x):
        ...         self.x = x
        ...         return x**2
        ...     def _backward(self, dz):
        ...         return 2 * self.x * dz
        >>> gate = SquareGate()
        >>> gate.forward(np.array([3.0])), gate.backward(np.array([1.0]))
        (array([9.]), array([6.]))
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
        arrays = [as_float_array(v, n) for v, n in zip(inputs, self.input_names, strict=True)]
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
    """z = x * y;  dx = y dz,  dy = x dz  (the gate "swaps" its inputs).

    Example:
        >>> gate = MultiplyGate()
        >>> gate.forward(np.array([3.0]), np.array([-4.0]))
        array([-12.])
        >>> gate.backward(np.array([2.0]))
        (array([-8.]), array([6.]))
    """

    input_names = ("x", "y")

    def _forward(self, x, y):
        self.x, self.y = x, y  # must keep these around!
        return x * y

    def _backward(self, dz):
        return self.y * dz, self.x * dz


class AddGate(Gate):
    """z = x + y;  dx = dz,  dy = dz  (the gate distributes dz unchanged).

    Example:
        >>> gate = AddGate()
        >>> gate.forward(np.array([3.0]), np.array([-4.0]))
        array([-1.])
        >>> gate.backward(np.array([2.0]))
        (array([2.]), array([2.]))
    """

    input_names = ("x", "y")

    def _forward(self, x, y):
        return x + y

    def _backward(self, dz):
        # Local derivatives are 1; multiplying (not returning dz twice) gives
        # two distinct arrays, so accumulating into one cannot change the other.
        return 1.0 * dz, 1.0 * dz


class SinGate(Gate):
    """z = sin(x);  dx = cos(x) dz.

    Example:
        >>> gate = SinGate()
        >>> gate.forward(np.array([0.0])), gate.backward(np.array([2.0]))    # cos(0) * 2
        (array([0.]), array([2.]))
    """

    def _forward(self, x):
        self.x = x
        return np.sin(x)

    def _backward(self, dz):
        return np.cos(self.x) * dz


class CosGate(Gate):
    """z = cos(x);  dx = -sin(x) dz.

    Example:
        >>> gate = CosGate()
        >>> gate.forward(np.array([np.pi / 2])).round(4), gate.backward(np.array([2.0]))   # -sin(pi/2) * 2
        (array([0.]), array([-2.]))
    """

    def _forward(self, x):
        self.x = x
        return np.cos(x)

    def _backward(self, dz):
        return -np.sin(self.x) * dz


class ExpGate(Gate):
    """z = e^x;  dx = e^x dz  (caches the output, which is its own derivative).

    Example:
        >>> gate = ExpGate()
        >>> gate.forward(np.array([0.0])), gate.backward(np.array([3.0]))    # e^0 * 3
        (array([1.]), array([3.]))
    """

    def _forward(self, x):
        self.z = np.exp(x)
        return self.z

    def _backward(self, dz):
        return self.z * dz


class SigmoidGate(Gate):
    """z = sigma(x) = 1 / (1 + e^-x);  dx = sigma(x) (1 - sigma(x)) dz.

    Example:
        >>> gate = SigmoidGate()
        >>> gate.forward(np.array([0.0])), gate.backward(np.array([4.0]))    # 0.5 * 0.5 * 4
        (array([0.5]), array([1.]))
    """

    def _forward(self, x):
        self.z = sigmoid(x)
        return self.z

    def _backward(self, dz):
        return self.z * (1.0 - self.z) * dz


class ReciprocalGate(Gate):
    """z = 1 / x;  dx = -1 / x^2 dz  (the lecture's L = 1/p).

    Example:
        >>> gate = ReciprocalGate()
        >>> gate.forward(np.array([2.0])), gate.backward(np.array([1.0]))    # -1 / 2^2
        (array([0.5]), array([-0.25]))
    """

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

    Example:
        >>> gate = MaxGate()
        >>> gate.forward(np.array([1.0, 5.0, 2.0]), np.array([3.0, 4.0, 2.0]))
        array([3., 5., 2.])
        >>> gate.backward(np.array([1.0, 1.0, 1.0]))     # the larger input gets dz; a tie splits it
        (array([0. , 1. , 0.5]), array([1. , 0. , 0.5]))
    """

    input_names = ("x", "y")

    def _forward(self, x, y):
        self.x, self.y = x, y
        return np.maximum(x, y)

    def _backward(self, dz):
        share_x = np.where(self.x > self.y, 1.0, np.where(self.x == self.y, 0.5, 0.0))
        return share_x * dz, (1.0 - share_x) * dz


class DotGate(Gate):
    """z = w . x for two vectors of equal length;  dw = x dz,  dx = w dz.

    Example:
        >>> gate = DotGate()
        >>> float(gate.forward(np.array([1.0, 2.0]), np.array([3.0, 4.0])))
        11.0
        >>> gate.backward(2.0)
        (array([6., 8.]), array([2., 4.]))
    """

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

    Example:
        >>> gate = PowGate(3)
        >>> gate.forward(np.array([2.0])), gate.backward(np.array([1.0]))    # 3 * 2^2
        (array([8.]), array([12.]))
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
