"""RMS normalization: layer norm without the mean, each sample divided by its root mean square.

Source: Zhang & Sennrich, "Root Mean Square Layer Normalization", NeurIPS
2019; torch.nn.RMSNorm / torch.nn.functional.rms_norm.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dlcourse._checks import as_float_array, check_same_shape
from dlcourse.norm._common import check_eps, check_normalized_shape

__all__ = ["RMSNormCache", "rmsnorm_backward", "rmsnorm_forward"]


class RMSNormCache(NamedTuple):
    """What :func:`rmsnorm_backward` needs from the forward pass.

    Example:
        >>> _, cache = rmsnorm_forward(np.array([[3.0, -3.0]]), np.ones(2), eps=0.0)
        >>> cache.xhat, cache.inv_rms
        (array([[ 1., -1.]]), array([[0.33333333]]))
    """

    xhat: np.ndarray     # x / rms, shape of x
    gamma: np.ndarray    # normalized_shape
    inv_rms: np.ndarray  # (number of normalized groups, 1): 1 / sqrt(mean(x^2) + eps)


def rmsnorm_forward(x: np.ndarray, gamma: np.ndarray, eps: float = 1e-6) -> tuple[np.ndarray, RMSNormCache]:
    """RMS normalization (torch ``RMSNorm(normalized_shape=gamma.shape, eps=eps)``), forward pass.

    Each sample is divided by the root mean square of its last D = gamma.ndim axes:

        ms   = mean of x^2 over the last D axes        (no mean is subtracted)
        xhat = x / sqrt(ms + eps)
        y    = gamma * xhat

    Args:
        x: input of shape (*, *gamma.shape).
        gamma: elementwise scale, of shape ``normalized_shape`` (e.g. (features,)).
        eps: added to the mean of squares, inside the square root, >= 0; default 1e-6.

    Returns:
        ``(out, cache)``.

    Notes:
        Source: Zhang & Sennrich, "Root Mean Square Layer Normalization",
        NeurIPS 2019: layer norm's re-centring (the mean and beta) is dropped,
        its re-scaling kept; one statistic instead of two.  Conventions
        differ in eps: torch (``F.rms_norm``, ``nn.RMSNorm``) adds it to the
        mean of squares, as here, and its default ``eps=None`` is the machine
        epsilon of the dtype; the authors' reference code adds it to the
        root mean square instead, ``x / (sqrt(ms) + eps)`` (default 1e-8).
        With zero-mean rows it equals layer norm without beta.

    Example:
        >>> x = np.array([[1.0, 2.0, 2.0], [3.0, -3.0, 3.0]])
        >>> out, cache = rmsnorm_forward(x, np.ones(3), eps=0.0)
        >>> out.round(4)                      # each row: mean of squares 1
        array([[ 0.5774,  1.1547,  1.1547],
               [ 1.    , -1.    ,  1.    ]])
    """
    x = as_float_array(x, "x")
    gamma = as_float_array(gamma, "gamma")
    eps = check_eps(eps)
    check_normalized_shape(x, gamma)
    x2 = x.reshape(-1, gamma.size)
    ms = (x2**2).mean(axis=1, keepdims=True)
    inv_rms = 1 / np.sqrt(ms + eps)
    xhat = (x2 * inv_rms).reshape(x.shape)
    out = gamma * xhat
    return out, RMSNormCache(xhat, gamma, inv_rms)


def rmsnorm_backward(dout: np.ndarray, cache: RMSNormCache) -> tuple[np.ndarray, np.ndarray]:
    """RMS normalization, backward pass: ``(dx, dgamma)``.

    With dxhat = gamma * dout and means over the normalized axes of a sample:

        dx     = (dxhat - xhat * mean(dxhat * xhat)) / sqrt(ms + eps)
        dgamma = sum over the batch axes of dout * xhat

    Layer norm's backward without its mean(dxhat) term: no mean was subtracted.

    Args:
        dout: gradient w.r.t. ``out``, same shape as x.
        cache: from :func:`rmsnorm_forward`.

    Returns:
        ``(dx, dgamma)`` with the shapes of x and gamma.

    Example:
        >>> x = np.array([[3.0, 4.0]])
        >>> out, cache = rmsnorm_forward(x, np.ones(2), eps=0.0)
        >>> dx, dgamma = rmsnorm_backward(np.array([[1.0, 0.0]]), cache)
        >>> dx.round(4)                       # orthogonal to x: scaling x does not change out
        array([[ 0.181 , -0.1358]])
        >>> dgamma.round(4)
        array([0.8485, 0.    ])
    """
    xhat, gamma, inv_rms = cache
    dout = as_float_array(dout, "dout")
    check_same_shape(xhat, dout, "x", "dout")
    batch_axes = tuple(range(xhat.ndim - gamma.ndim))
    dgamma = (dout * xhat).sum(axis=batch_axes)
    rows = (-1, gamma.size)
    dxhat2, xhat2 = (gamma * dout).reshape(rows), xhat.reshape(rows)
    dx = inv_rms * (dxhat2 - xhat2 * (dxhat2 * xhat2).mean(axis=1, keepdims=True))
    return dx.reshape(xhat.shape), dgamma
