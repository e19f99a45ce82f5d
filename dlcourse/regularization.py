"""Weight decay, two ways: the L2 penalty and decoupled weight decay.

"Weight decay equals an L2 penalty only for vanilla SGD" (VU Amsterdam DLVU
lecture 4 'Tools of the trade': "cf Adam and AdamW").  The two functions below
are the two halves of that sentence::

    l2_penalty(params, weight_decay) -> (penalty, grads)    # params, grads: dicts of arrays
    decoupled_decay(theta, lr, weight_decay) -> new_theta

With momentum the two differ for SGD too: ``sgdw_step`` is SGD with momentum
and decoupled decay (Loshchilov & Hutter's SGDW), next to
``dlcourse.optim.momentum_step(weight_decay=...)``, the L2 version (torch's
``SGD(momentum, weight_decay)``); ``coupled_vs_decoupled`` runs both on a
least-squares problem (lecture 08).

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

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dlcourse._checks import as_float_array, check_int, check_range, check_same_shape

__all__ = ["coupled_vs_decoupled", "decoupled_decay", "l2_penalty", "sgdw_init", "sgdw_step"]


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


def sgdw_init(theta: np.ndarray) -> dict[str, Any]:
    """Initial SGDW state: step 0 and a zero velocity.

    Example:
        >>> sgdw_init(np.zeros(2))
        {'step': 0, 'momentum_buffer': array([0., 0.])}
    """
    theta = as_float_array(theta, "theta")
    return {"step": 0, "momentum_buffer": np.zeros_like(theta)}


def sgdw_step(
    theta: np.ndarray, grad: np.ndarray, state: Mapping[str, Any], *, lr: float = 1e-3, momentum: float = 0.9,
    weight_decay: float = 0.0,
) -> tuple[np.ndarray, dict[str, Any]]:
    """One step of SGD with momentum and decoupled weight decay (SGDW).

        v     <- momentum * v + grad                          (v starts at 0: v = grad on step 1)
        theta <- theta * (1 - lr * weight_decay) - lr * v

    The decay is applied to theta directly and never enters the velocity.
    ``dlcourse.optim.momentum_step(weight_decay=...)`` (torch's
    ``SGD(momentum, weight_decay)``) puts it into the gradient instead,
    ``v <- momentum * v + (grad + weight_decay * theta)``, so there every past
    decay term keeps acting through v.  Without momentum the two are the same step.

    Args:
        theta: parameters, float array.
        grad: gradient of the loss (without any penalty) at ``theta``, same shape.
        state: from :func:`sgdw_init` or the previous step.
        lr: learning rate, >= 0.
        momentum: fraction of the velocity kept, in [0, 1).
        weight_decay: decay rate, >= 0 (multiplied by ``lr``, as in torch's AdamW).

    Returns:
        ``(new_theta, new_state)``, new arrays; nothing is modified.

    Source: Loshchilov & Hutter, "Decoupled Weight Decay Regularization",
    ICLR 2019, Algorithm 1 (SGDW).  They write the decay as eta_t lambda theta
    with eta_t a schedule multiplier, separate from the learning rate; here,
    as in torch's AdamW, it is multiplied by the learning rate: their lambda
    is ``lr * weight_decay`` for a constant learning rate.

    Example:
        >>> theta, state = np.array([1.0, -2.0]), sgdw_init(np.zeros(2))
        >>> theta, state = sgdw_step(theta, np.array([0.5, 0.0]), state, lr=0.1, momentum=0.9, weight_decay=0.1)
        >>> theta                                   # times 0.99, minus 0.1 * grad
        array([ 0.94, -1.98])
    """
    theta, grad = as_float_array(theta, "theta"), as_float_array(grad, "grad")
    check_same_shape(theta, grad, "theta", "grad")
    if not isinstance(state, Mapping) or "momentum_buffer" not in state or "step" not in state:
        raise TypeError(f"state must come from sgdw_init(theta) or the previous step, got {state!r}")
    lr, weight_decay = check_range(lr, "lr", 0.0), check_range(weight_decay, "weight_decay", 0.0)
    momentum = check_range(momentum, "momentum", 0.0, 1.0, high_inclusive=False)
    v = momentum * state["momentum_buffer"] + grad
    new_theta = theta * (1 - lr * weight_decay) - lr * v
    return new_theta, {"step": state["step"] + 1, "momentum_buffer": v}


def coupled_vs_decoupled(
    A: np.ndarray, y: np.ndarray, *, lr: float, weight_decay: float, steps: int,
    momenta: Sequence[float] = (0.0, 0.9),
) -> dict[float, dict[str, np.ndarray]]:
    """Weight decay in the gradient vs decoupled, with SGD and momentum, on least squares.

    On L(theta) = mean((A theta - y)^2), gradient 2 A^T (A theta - y) / n, from
    theta = 0, ``steps`` steps of each of

        coupled:    dlcourse.optim.momentum_step(theta, grad, lr, momentum, weight_decay)   (L2 in the gradient)
        decoupled:  sgdw_step(theta, grad, lr, momentum, weight_decay)

    and, for comparison, the minimizers of L + c / 2 ||theta||^2 for
    c = weight_decay and c = (1 - momentum) * weight_decay.  A fixed point of
    the coupled step has v = (grad + weight_decay theta) / (1 - momentum) = 0,
    the first minimizer; one of the decoupled step has
    lr * weight_decay * theta = -lr * grad / (1 - momentum), the second.

    Args:
        A: (n, p) features; y: (n,) targets.
        lr: learning rate, > 0 (small enough for the problem to converge).
        weight_decay: lambda, >= 0.
        steps: number of steps, >= 1.
        momenta: the momentum values to run, each in [0, 1).

    Returns:
        momentum -> {"coupled", "decoupled", "minimizer, lambda", "minimizer, (1 - momentum) lambda"}: (p,) arrays.

    Example:
        >>> A, y = np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([1.0, 1.0])
        >>> runs = coupled_vs_decoupled(A, y, lr=0.1, weight_decay=0.5, steps=500, momenta=(0.0, 0.9))
        >>> runs[0.0]["coupled"].round(4), runs[0.0]["decoupled"].round(4)
        (array([0.6667, 0.4444]), array([0.6667, 0.4444]))
        >>> runs[0.9]["coupled"].round(4), runs[0.9]["decoupled"].round(4)    # (1 - 0.9) * 0.5 = 0.05
        (array([0.6667, 0.4444]), array([0.9524, 0.4938]))
    """
    from dlcourse.optim import momentum_init, momentum_step

    A, y = as_float_array(A, "A"), as_float_array(y, "y")
    if A.ndim != 2 or y.shape != A.shape[:1]:
        raise ValueError(f"A must be (n, p) and y (n,), got A of shape {A.shape} and y of shape {y.shape}")
    lr = check_range(lr, "lr", 0.0, None, low_inclusive=False)
    weight_decay, steps = check_range(weight_decay, "weight_decay", 0.0), check_int(steps, "steps", 1)
    n, p = A.shape

    def grad(theta: np.ndarray) -> np.ndarray:
        return 2 * A.T @ (A @ theta - y) / n

    def minimizer(c: float) -> np.ndarray:
        return np.linalg.solve(2 * A.T @ A / n + c * np.eye(p), 2 * A.T @ y / n)

    runs = {}
    for momentum in momenta:
        momentum = check_range(momentum, "momenta", 0.0, 1.0, high_inclusive=False)
        coupled, decoupled = np.zeros(p), np.zeros(p)
        coupled_state, decoupled_state = momentum_init(coupled), sgdw_init(decoupled)
        for _ in range(steps):
            coupled, coupled_state = momentum_step(coupled, grad(coupled), coupled_state, lr=lr, momentum=momentum,
                                                   weight_decay=weight_decay)
            decoupled, decoupled_state = sgdw_step(decoupled, grad(decoupled), decoupled_state, lr=lr,
                                                   momentum=momentum, weight_decay=weight_decay)
        runs[momentum] = {"coupled": coupled, "decoupled": decoupled,
                          "minimizer, lambda": minimizer(weight_decay),
                          "minimizer, (1 - momentum) lambda": minimizer((1 - momentum) * weight_decay)}
    return runs
