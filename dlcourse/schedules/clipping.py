"""Gradient clipping: bound the step when the gradient itself explodes.

The other half of "taming the step size" next to the learning-rate
schedules: on a "cliff" of the loss surface the gradient is huge and a full
step would throw the parameters far away.

Source: Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent
neural networks", ICML 2013; SDU summer school 'Gradient-Based Learning'
(cliffs and exploding gradients); VU DLVU lecture 4 'Tools of the trade'.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dlcourse._checks import as_float_array, check_range

__all__ = ["clip_grad_norm", "clip_grad_value"]


def _as_grad_list(grads: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
    if isinstance(grads, np.ndarray):
        grads = [grads]
    elif not isinstance(grads, (list, tuple)):
        raise TypeError(
            f"grads must be an ndarray or a list of ndarrays (one per parameter), "
            f"got {type(grads).__name__}"
        )
    return [as_float_array(g, f"grads[{i}]") for i, g in enumerate(grads)]


def _vector_norm(g: np.ndarray, norm_type: float) -> float:
    """The p-norm of ``g`` seen as one flat vector (0 for an empty array)."""
    return float(np.linalg.norm(g.ravel(), ord=norm_type)) if g.size else 0.0


def clip_grad_value(grads: np.ndarray | Sequence[np.ndarray], clip_value: float) -> list[np.ndarray]:
    """Clip every gradient entry to [-clip_value, clip_value].

        g_i <- min(max(g_i, -clip_value), clip_value)

    Like ``torch.nn.utils.clip_grad_value_``, but pure: returns new arrays.

    Args:
        grads: one gradient array or a list of them (one per parameter).
        clip_value: bound on the absolute value of each entry, > 0.

    Returns:
        A list of clipped copies, in the order of ``grads`` (a list of one
        array when a single array is given).

    Notes:
        Clipping each entry separately changes the direction of the gradient
        (unlike :func:`clip_grad_norm`).  Source: Pascanu, Mikolov & Bengio,
        "On the difficulty of training recurrent neural networks", ICML 2013;
        SDU summer school 'Gradient-Based Learning' (cliffs and exploding
        gradients); VU DLVU lecture 4 'Tools of the trade'.

    Example:
        >>> clip_grad_value([np.array([-3.0, 0.5]), np.array([2.0])], clip_value=1.0)
        [array([-1. ,  0.5]), array([1.])]
    """
    grads = _as_grad_list(grads)
    clip_value = check_range(clip_value, "clip_value", 0.0, None, low_inclusive=False)
    return [np.clip(g, -clip_value, clip_value) for g in grads]


def clip_grad_norm(
    grads: np.ndarray | Sequence[np.ndarray],
    max_norm: float,
    norm_type: float = 2.0,
    eps: float = 1e-6,
) -> tuple[list[np.ndarray], float]:
    """Rescale all gradients together so that their global norm is at most ``max_norm``.

        total_norm = || (||g_1||_p, ..., ||g_n||_p) ||_p     (= the p-norm of all entries)
        scale      = min(1, max_norm / (total_norm + eps))
        g_i       <- scale * g_i

    Like ``torch.nn.utils.clip_grad_norm_`` (same norm, same ``eps = 1e-6`` in
    the denominator, same clamp at 1), but pure.

    Args:
        grads: one gradient array or a list of them (one per parameter).
        max_norm: largest allowed global norm, > 0.
        norm_type: p of the p-norm, > 0, or ``np.inf`` / ``float('inf')`` for
            the largest absolute entry; default 2.
        eps: added to the norm before dividing, >= 0; default 1e-6 as in torch.

    Returns:
        ``(clipped, total_norm)``: a list of rescaled copies of ``grads``, and
        the global norm BEFORE clipping (what torch returns; log it to see how
        often clipping fires).

    Notes:
        Unlike :func:`clip_grad_value` this keeps the direction of the update
        and only shortens the step: on a "cliff" of the loss surface the
        gradient is huge and a full step would throw the parameters far away.
        Because of ``eps`` the clipped norm is slightly below ``max_norm``, and
        the arrays are multiplied by exactly 1.0 when no clipping is needed.
        A non-finite norm gives scale 0 (torch's ``error_if_nonfinite=False``
        behaviour); check for NaN gradients before clipping.
        Source: Pascanu, Mikolov & Bengio, ICML 2013 (their Algorithm 1);
        SDU 'Gradient-Based Learning'; VU DLVU lecture 4 'Tools of the trade'.

    Example:
        >>> clipped, total_norm = clip_grad_norm([np.array([3.0, 0.0]), np.array([4.0])], max_norm=1.0)
        >>> total_norm
        5.0
        >>> [g.round(4) for g in clipped]     # scaled by 1 / (5 + 1e-6): the direction is kept
        [array([0.6, 0. ]), array([0.8])]
    """
    grads = _as_grad_list(grads)
    max_norm = check_range(max_norm, "max_norm", 0.0, None, low_inclusive=False)
    if norm_type != np.inf:  # inf (the max-norm) is valid but not finite
        try:
            norm_type = check_range(norm_type, "norm_type", 0.0, None, low_inclusive=False)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{exc}; use p > 0 (2 for the Euclidean norm) or np.inf") from None
    eps = check_range(eps, "eps", 0.0, None)
    norms = [_vector_norm(g, norm_type) for g in grads]
    total_norm = _vector_norm(np.array(norms), norm_type)
    scale = min(max_norm / (total_norm + eps), 1.0)
    return [g * scale for g in grads], total_norm
