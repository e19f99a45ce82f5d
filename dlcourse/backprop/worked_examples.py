"""The lecture's two worked examples of backprop, computed gate by gate.

``f(x1, x2) = x1 x2 + sin(x2)``: x2 reaches f along two paths, and its
gradient is the sum of both.  ``L = 1 / sigma(w . x)``: a chain of three
gates, and the same gradient written as one formula.

Source: Georgia Tech CS 4644/7643 'Optimization' (backprop worked examples).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dlcourse.backprop.gates import AddGate, DotGate, MultiplyGate, ReciprocalGate, SigmoidGate, SinGate

__all__ = ["LogisticExample", "WorkedExample", "logistic_example", "worked_example"]


@dataclass(frozen=True)
class WorkedExample:
    """Every value of the forward and backward pass of f = x1 x2 + sin(x2).

    Naming follows the lecture: forward nodes a1 = sin(x2), a2 = x1 x2,
    a3 = a1 + a2 = f; adjoints ``abar_k = df/da_k``; ``x2bar_path1`` and
    ``x2bar_path2`` are the contributions to df/dx2 through a1 and a2.

    Example:
        >>> ex = worked_example(np.array([2.0]), np.array([np.pi / 2]))
        >>> ex.a1, ex.a2.round(4), ex.f.round(4)         # sin(x2), x1 x2, their sum
        (array([1.]), array([3.1416]), array([4.1416]))
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

    Example:
        >>> ex = worked_example(np.array([2.0]), np.array([0.0]))
        >>> ex.x2bar_path1, ex.x2bar_path2, ex.x2bar     # cos(x2) + x1: the two paths are summed
        (array([1.]), array([2.]), array([3.]))
        >>> ex.x1bar                                     # x2
        array([0.])
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
    """Forward values, adjoints and dL/dw of L = 1 / sigma(w . x), two ways.

    Example:
        >>> ex = logistic_example(np.array([0.0, 0.0]), np.array([1.0, 2.0]))
        >>> float(ex.p), float(ex.pbar), float(ex.ubar)   # sigma(0), -1/p^2, pbar p (1 - p)
        (0.5, -4.0, -1.0)
    """

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

    Example:
        >>> ex = logistic_example(np.array([0.0, 0.0]), np.array([1.0, 2.0]))
        >>> float(ex.L), ex.wbar_gates, ex.wbar_combined
        (2.0, array([-1., -2.]), array([-1., -2.]))
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
