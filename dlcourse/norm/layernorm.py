"""Layer normalization: each sample standardized over its own features.

Source: Ba, Kiros & Hinton, "Layer Normalization", 2016; Georgia Tech CS
4644/7643 'Optimization' (BN variants).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dlcourse._checks import as_float_array, check_same_shape
from dlcourse.norm._common import check_eps, check_normalized_shape, standardize_rows, standardize_rows_backward

__all__ = ["LayerNormCache", "layernorm_backward", "layernorm_forward"]


class LayerNormCache(NamedTuple):
    """What :func:`layernorm_backward` needs from the forward pass.

    Example:
        >>> _, cache = layernorm_forward(np.array([[1.0, 3.0]]), np.ones(2), np.zeros(2), eps=0.0)
        >>> cache.xhat, cache.inv_std
        (array([[-1.,  1.]]), array([[1.]]))
    """

    xhat: np.ndarray     # standardized input, shape of x
    gamma: np.ndarray    # normalized_shape
    inv_std: np.ndarray  # (number of normalized groups, 1)


def layernorm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5
) -> tuple[np.ndarray, LayerNormCache]:
    """Layer normalization (torch ``LayerNorm(normalized_shape=gamma.shape)``), forward pass.

    Each sample is standardized over its last D = gamma.ndim axes:

        mu, var = mean and biased variance of x[..., :] over the last D axes
        xhat = (x - mu) / sqrt(var + eps)
        y = gamma * xhat + beta

    Args:
        x: input of shape (*, *gamma.shape).
        gamma, beta: elementwise scale and shift, both of shape
            ``normalized_shape`` (e.g. (features,) or (L, features)).
        eps: added to the variance, >= 0; default 1e-5.

    Returns:
        ``(out, cache)``.

    Notes:
        Source: Ba, Kiros & Hinton, "Layer Normalization", 2016; Georgia Tech
        CS 4644/7643 'Optimization' (BN variants).  No batch statistics, so
        training and inference are the same computation and batch size 1 is
        fine.  As in torch, gamma and beta are per element of the normalized
        shape (not per channel as in group norm).

    Example:
        >>> x = np.array([[1.0, 2.0, 3.0], [10.0, 10.0, 40.0]])
        >>> out, cache = layernorm_forward(x, np.ones(3), np.zeros(3), eps=0.0)
        >>> out.round(4)                      # each row: mean 0, variance 1
        array([[-1.2247,  0.    ,  1.2247],
               [-0.7071, -0.7071,  1.4142]])
    """
    x = as_float_array(x, "x")
    gamma = as_float_array(gamma, "gamma")
    beta = as_float_array(beta, "beta")
    check_same_shape(gamma, beta, "gamma", "beta")
    eps = check_eps(eps)
    check_normalized_shape(x, gamma, "gamma (and beta)")
    xhat2, inv_std = standardize_rows(x.reshape(-1, gamma.size), eps)
    xhat = xhat2.reshape(x.shape)
    out = gamma * xhat + beta
    return out, LayerNormCache(xhat, gamma, inv_std)


def layernorm_backward(dout: np.ndarray, cache: LayerNormCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Layer normalization, backward pass: ``(dx, dgamma, dbeta)``.

    With dxhat = gamma * dout and means over the normalized axes of a sample:

        dx     = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / sqrt(var + eps)
        dgamma = sum over the batch axes of dout * xhat
        dbeta  = sum over the batch axes of dout

    Args:
        dout: gradient w.r.t. ``out``, same shape as x.
        cache: from :func:`layernorm_forward`.

    Returns:
        ``(dx, dgamma, dbeta)`` with the shapes of x, gamma and beta.

    Example:
        >>> x = np.array([[1.0, 2.0, 6.0]])
        >>> out, cache = layernorm_forward(x, np.ones(3), np.zeros(3), eps=0.0)
        >>> dx, dgamma, dbeta = layernorm_backward(np.array([[1.0, 0.0, 0.0]]), cache)
        >>> dx.round(4)                       # sums to 0 over the row
        array([[ 0.1763, -0.2204,  0.0441]])
        >>> round(float(dgamma[0]), 4), dbeta
        (-0.9258, array([1., 0., 0.]))
    """
    xhat, gamma, inv_std = cache
    dout = as_float_array(dout, "dout")
    check_same_shape(xhat, dout, "x", "dout")
    batch_axes = tuple(range(xhat.ndim - gamma.ndim))
    dgamma = (dout * xhat).sum(axis=batch_axes)
    dbeta = dout.sum(axis=batch_axes)
    rows = (-1, gamma.size)
    dx = standardize_rows_backward((gamma * dout).reshape(rows), xhat.reshape(rows), inv_std)
    return dx.reshape(xhat.shape), dgamma, dbeta
