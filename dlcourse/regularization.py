"""Weight decay, two ways: the L2 penalty and decoupled weight decay.

"Weight decay equals an L2 penalty only for vanilla SGD" (VU Amsterdam DLVU
lecture 4 'Tools of the trade': "cf Adam and AdamW").  The two functions below
are the two halves of that sentence::

    l2_penalty(params, weight_decay) -> (penalty, grads)    # params, grads: dicts of arrays
    decoupled_decay(theta, lr, weight_decay) -> new_theta

Their conventions are torch's:

* ``weight_decay`` is the coefficient of ``weight_decay / 2 * sum ||W||^2``,
  so the penalty's gradient, ``weight_decay * W``, is exactly what
  ``torch.optim.SGD(weight_decay=...)`` (and ``dlcourse.optim.sgd_step``)
  adds to the gradient.  The DLVU slide writes ``lambda * ||w||^2``, whose
  gradient is ``2 lambda w``: its lambda is half of ``weight_decay``.
* Every array in ``params`` is penalized, biases included, as torch decays
  every parameter it is given.  To leave biases (or normalization scales)
  undecayed, leave them out of ``params`` (in torch: a parameter group with
  ``weight_decay=0``).
* ``decoupled_decay`` is the first line of ``torch.optim.AdamW``'s step (and
  of ``dlcourse.optim.adamw_step``): ``theta * (1 - lr * weight_decay)``.

ps5_training asks for both (``dlcourse.grading``'s ``regularization.*`` checks).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from dlcourse._checks import as_float_array, check_range

__all__ = ["decoupled_decay", "l2_penalty"]


def l2_penalty(params: Mapping[str, np.ndarray], weight_decay: float) -> tuple[float, dict[str, np.ndarray]]:
    """The L2 penalty of a model's parameters and its gradient.

    penalty = weight_decay / 2 * sum_k ||params[k]||^2   (sum of squares of every entry)
    grads[k] = weight_decay * params[k]

    Args:
        params: name -> float array (any shapes); every array is penalized,
            biases included (leave out the arrays that should not decay).
        weight_decay: the coefficient, >= 0 (torch's ``weight_decay``).

    Returns:
        (penalty, grads): the penalty as a Python float and a new dict with
        the same keys holding the penalty's gradient for each array.

    Source: VU Amsterdam DLVU lecture 4 'Tools of the trade' (L1, L2, weight
    decay); Goodfellow et al. (2016), section 7.1.1; torch.optim.SGD.

    Notes:
        The 1/2 makes the gradient ``weight_decay * W``, which is what torch's
        ``weight_decay`` adds to the gradient.  The DLVU slide penalizes
        ``lambda * ||w||^2`` (gradient ``2 lambda w``): lambda = weight_decay / 2.

    Example:
        >>> import numpy as np
        >>> penalty, grads = l2_penalty({"W": np.array([[1.0, -2.0]]), "b": np.array([2.0])}, weight_decay=0.5)
        >>> penalty  # 0.5 / 2 * (1 + 4 + 4)
        2.25
        >>> grads["W"], grads["b"]
        (array([[ 0.5, -1. ]]), array([1.]))
    """
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of name -> array, got {type(params).__name__}; "
                        f"wrap a single array as {{'W': W}}")
    weight_decay = check_range(weight_decay, "weight_decay", 0.0)
    arrays = {name: as_float_array(W, f"params[{name!r}]") for name, W in params.items()}
    penalty = 0.5 * weight_decay * sum(float(np.sum(W * W)) for W in arrays.values())
    return penalty, {name: weight_decay * W for name, W in arrays.items()}


def decoupled_decay(theta: np.ndarray, lr: float, weight_decay: float) -> np.ndarray:
    """Decoupled weight decay: shrink every parameter by the same factor.

    new_theta = theta * (1 - lr * weight_decay)

    Args:
        theta: parameters, float array of any shape (not modified).
        lr: learning rate, >= 0 (the decay is tied to it, as in torch).
        weight_decay: decay rate, >= 0.

    Returns:
        The decayed parameters, a new array (``theta`` itself when
        ``weight_decay`` is 0, as torch skips the multiplication).

    Source: Loshchilov & Hutter (2019), "Decoupled weight decay
    regularization"; torch.optim.AdamW; VU Amsterdam DLVU lecture 4 'Tools
    of the trade' (weight decay vs L2, "cf Adam and AdamW").

    Notes:
        For plain SGD, ``decoupled_decay(theta, lr, wd) - lr * grad`` is the
        same step as ``theta - lr * (grad + wd * theta)`` (the L2 gradient).
        For Adam it is not: the L2 gradient is divided by sqrt(v_hat) with
        the rest of the gradient, the decoupled decay is not.  The paper
        writes the decay as ``eta_t * lambda * theta`` with a schedule
        multiplier; torch ties it to ``lr``.

    Example:
        >>> import numpy as np
        >>> decoupled_decay(np.array([1.0, -2.0]), lr=0.1, weight_decay=0.5)  # every entry times 1 - 0.05
        array([ 0.95, -1.9 ])
    """
    theta = as_float_array(theta, "theta")
    lr = check_range(lr, "lr", 0.0)
    weight_decay = check_range(weight_decay, "weight_decay", 0.0)
    if weight_decay == 0:  # torch skips the multiplication: the same array comes back
        return theta
    return theta * (1 - lr * weight_decay)
