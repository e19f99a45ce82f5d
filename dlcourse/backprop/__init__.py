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

Gates work on Python numbers and elementwise on float arrays
(:mod:`dlcourse.backprop.gates`).  Two worked examples from the lecture are
built from them (:mod:`dlcourse.backprop.worked_examples`):
``f(x1, x2) = x1 x2 + sin(x2)`` (gradients from two paths are summed) and the
logistic ``L = 1 / sigma(w.x)``.

Example:
    >>> import numpy as np
    >>> from dlcourse.backprop import MultiplyGate
    >>> gate = MultiplyGate()
    >>> gate.forward(np.array([3.0]), np.array([-4.0]))
    array([-12.])
    >>> gate.backward(np.array([2.0]))         # dz = 2: dx = y dz, dy = x dz
    (array([-8.]), array([6.]))

Source: Georgia Tech CS 4644/7643 'Optimization' (modularized forward/backward
API, computation graphs, backprop worked examples).
"""

from dlcourse.backprop.gates import (
    AddGate,
    CosGate,
    DotGate,
    ExpGate,
    Gate,
    MaxGate,
    MultiplyGate,
    PowGate,
    ReciprocalGate,
    SigmoidGate,
    SinGate,
)
from dlcourse.backprop.worked_examples import LogisticExample, WorkedExample, logistic_example, worked_example

__all__ = [
    "AddGate",
    "CosGate",
    "DotGate",
    "ExpGate",
    "Gate",
    "LogisticExample",
    "MaxGate",
    "MultiplyGate",
    "PowGate",
    "ReciprocalGate",
    "SigmoidGate",
    "SinGate",
    "WorkedExample",
    "logistic_example",
    "worked_example",
]
