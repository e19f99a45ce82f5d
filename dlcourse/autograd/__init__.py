"""A small reverse-mode automatic differentiation engine over numpy arrays.

micrograd, but every value is an array: each operation on a :class:`Tensor`
records its inputs and a function that maps the upstream gradient dL/d(out)
to dL/d(input) for each input.  ``loss.backward()`` visits the recorded graph
in reverse topological order and applies these functions, summing the
gradients that reach a node along several paths.

The graph is built on the fly while the forward pass runs (as in
torch.autograd), so ordinary Python control flow works.

The modules, one concept each:

* :mod:`dlcourse.autograd.scalar`: ``Value``, the same engine for single
  numbers in micrograd's form (each operation a forward line and a closure
  that adds its local derivative times the upstream gradient), short enough
  to read in one go before the array version;
* :mod:`dlcourse.autograd.tensor`: the ``Tensor`` itself, the graph it
  records and ``backward()`` (reverse topological order, gradient
  accumulation), plus ``no_grad``;
* :mod:`dlcourse.autograd.ops`: the operations (+ - * / ** @, sum, mean,
  reshape, transpose, exp, log, tanh, sigmoid, relu), each with its forward
  computation and its local backward rule side by side.

Example:
    >>> import numpy as np
    >>> from dlcourse.autograd import Tensor
    >>> W = Tensor([[1.0, -1.0], [0.5, 1.0]], requires_grad=True)
    >>> x = Tensor([[2.0, 1.0]])
    >>> loss = ((x @ W) ** 2).sum()        # L = sum_j (x W)_j^2, x W = [2.5, -1]
    >>> loss.item()
    7.25
    >>> loss.backward()
    >>> W.grad                              # dL/dW = x^T 2 (x W)
    array([[10., -4.],
           [ 5., -2.]])

Source: Georgia Tech CS 4644/7643 'Optimization' (computation graphs,
automatic differentiation, "a graph is created on the fly"); J. Adamczyk,
Deep learning lecture notes (computation graph, backprop); A. Karpathy,
micrograd (one class, each operation with its local ``_backward``).

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

from dlcourse.autograd.scalar import Value
from dlcourse.autograd.tensor import Tensor, is_grad_enabled, no_grad, zero_grad

__all__ = ["Tensor", "Value", "is_grad_enabled", "no_grad", "zero_grad"]
