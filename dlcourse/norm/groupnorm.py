"""Group normalization and instance normalization: statistics per sample and group of channels.

Source: Wu & He, "Group Normalization", ECCV 2018; Ulyanov, Vedaldi &
Lempitsky, "Instance Normalization: The Missing Ingredient for Fast
Stylization", 2016; Georgia Tech CS 4644/7643 'Optimization'.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dlcourse._checks import as_float_array, check_int, check_same_shape
from dlcourse.norm._common import (
    channel_view,
    check_channel_param,
    check_eps,
    check_nd_input,
    non_channel_axes,
    standardize_rows,
    standardize_rows_backward,
)

__all__ = [
    "GroupNormCache",
    "InstanceNormCache",
    "groupnorm_backward",
    "groupnorm_forward",
    "instancenorm_backward",
    "instancenorm_forward",
]


class GroupNormCache(NamedTuple):
    """What :func:`groupnorm_backward` needs from the forward pass.

    Example:
        >>> x = np.array([[1.0, 3.0, 5.0, 9.0]])                  # (N, C) = (1, 4), 2 groups
        >>> _, cache = groupnorm_forward(x, 2, np.ones(4), np.zeros(4), eps=0.0)
        >>> cache.xhat, cache.inv_std.ravel(), cache.num_groups
        (array([[-1.,  1., -1.,  1.]]), array([1. , 0.5]), 2)
    """

    xhat: np.ndarray     # standardized input, shape of x
    gamma: np.ndarray    # (C,)
    inv_std: np.ndarray  # (N * num_groups, 1)
    num_groups: int


def groupnorm_forward(
    x: np.ndarray, num_groups: int, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5
) -> tuple[np.ndarray, GroupNormCache]:
    """Group normalization (torch ``nn.functional.group_norm``), forward pass.

    The C channels are split into ``num_groups`` consecutive groups; each
    sample is standardized over the channels of a group and all spatial
    positions, then scaled and shifted per channel:

        x viewed as (N, G, C/G * L):  xhat = (x - mu_ng) / sqrt(var_ng + eps)   (biased var)
        y[:, c] = gamma[c] * xhat[:, c] + beta[c]

    Args:
        x: input of shape (N, C, ...) (spatial axes optional).
        num_groups: number of groups G, a positive integer dividing C.
            G = 1 normalizes all of (C, ...) like a layer norm with per-channel
            affine; G = C is instance norm with affine.
        gamma, beta: per-channel scale and shift, shape (C,).
        eps: added to the variance, >= 0; default 1e-5.

    Returns:
        ``(out, cache)``.

    Notes:
        Source: Wu & He, "Group Normalization", ECCV 2018; Georgia Tech CS
        4644/7643 'Optimization' (BN is unstable for small batches; group norm
        does not use the batch, so train and test are the same computation).
        ``torch.nn.functional.group_norm`` raises "Expected more than 1 value
        per channel when training" when N * L == 1, a check borrowed from batch
        norm although group statistics never mix samples; this function (like
        the underlying ``torch.group_norm``) accepts such inputs.

    Example:
        >>> x = np.array([[1.0, 3.0, 5.0, 9.0]])                  # (N, C) = (1, 4)
        >>> out, _ = groupnorm_forward(x, 2, np.ones(4), np.array([0.0, 0.0, 10.0, 10.0]), eps=0.0)
        >>> out                                                   # groups (1, 3) and (5, 9)
        array([[-1.,  1.,  9., 11.]])
    """
    x = check_nd_input(x, 2, "groupnorm_forward")
    gamma = check_channel_param(gamma, "gamma", x.shape)
    beta = check_channel_param(beta, "beta", x.shape)
    eps = check_eps(eps)
    channels = x.shape[1]
    num_groups = check_int(num_groups, "num_groups", 1)
    if channels % num_groups:
        raise ValueError(
            f"num_groups must divide the {channels} channels of x (shape {x.shape}), got {num_groups!r}"
        )
    xhat2, inv_std = standardize_rows(x.reshape(x.shape[0] * num_groups, -1), eps)
    xhat = xhat2.reshape(x.shape)
    out = channel_view(gamma, x.ndim) * xhat + channel_view(beta, x.ndim)
    return out, GroupNormCache(xhat, gamma, inv_std, num_groups)


def groupnorm_backward(dout: np.ndarray, cache: GroupNormCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group normalization, backward pass: ``(dx, dgamma, dbeta)``.

    Same rule as layer norm within each (sample, group), with
    dxhat = gamma[c] * dout; dgamma and dbeta sum over N and the spatial axes.

    Args:
        dout: gradient w.r.t. ``out``, same shape as x.
        cache: from :func:`groupnorm_forward`.

    Returns:
        ``(dx, dgamma, dbeta)`` with the shapes of x, gamma and beta.

    Example:
        >>> x = np.array([[1.0, 3.0, 5.0, 9.0], [0.0, 2.0, 4.0, 4.5]])
        >>> out, cache = groupnorm_forward(x, 2, np.ones(4), np.zeros(4), eps=0.0)
        >>> dx, dgamma, dbeta = groupnorm_backward(np.ones((2, 4)), cache)
        >>> dx, dgamma, dbeta             # with 2 values per group xhat = -1, +1 whatever x is
        (array([[0., 0., 0., 0.],
               [0., 0., 0., 0.]]), array([-2.,  2., -2.,  2.]), array([2., 2., 2., 2.]))
    """
    xhat, gamma, inv_std, num_groups = cache
    dout = as_float_array(dout, "dout")
    check_same_shape(xhat, dout, "x", "dout")
    axes = non_channel_axes(xhat.ndim)
    dgamma = (dout * xhat).sum(axis=axes)
    dbeta = dout.sum(axis=axes)
    rows = (xhat.shape[0] * num_groups, -1)
    dxhat = channel_view(gamma, xhat.ndim) * dout
    dx = standardize_rows_backward(dxhat.reshape(rows), xhat.reshape(rows), inv_std)
    return dx.reshape(xhat.shape), dgamma, dbeta


class InstanceNormCache(NamedTuple):
    """What :func:`instancenorm_backward` needs from the forward pass.

    Example:
        >>> _, cache = instancenorm_forward(np.array([[[1.0, 3.0]]]), eps=0.0)
        >>> cache.xhat, cache.inv_std
        (array([[[-1.,  1.]]]), array([[1.]]))
    """

    xhat: np.ndarray     # standardized input (equal to the output), shape of x
    inv_std: np.ndarray  # (N * C, 1)


def instancenorm_forward(x: np.ndarray, eps: float = 1e-5) -> tuple[np.ndarray, InstanceNormCache]:
    """Instance normalization without affine (torch ``InstanceNorm1d``/``2d`` defaults), forward.

    Each channel of each sample is standardized over its spatial positions:

        y[n, c] = (x[n, c] - mean(x[n, c])) / sqrt(var(x[n, c]) + eps)     (biased var)

    This is group norm with num_groups = C and no affine parameters.

    Args:
        x: input of shape (N, C, L, ...) with at least one spatial axis.
        eps: added to the variance, >= 0; default 1e-5.

    Returns:
        ``(out, cache)``.

    Raises:
        ValueError: with a single spatial position per channel, where the
            output would be 0 whatever x is (torch raises "Expected more than
            1 spatial element when training").

    Notes:
        Source: Ulyanov, Vedaldi & Lempitsky, "Instance Normalization: The
        Missing Ingredient for Fast Stylization", 2016; Wu & He 2018 figure 2.
        torch's defaults are affine=False and track_running_stats=False, so
        training and inference compute the same thing.

    Example:
        >>> x = np.array([[[1.0, 2.0, 3.0], [10.0, 10.0, 40.0]]])   # (N, C, L) = (1, 2, 3)
        >>> out, _ = instancenorm_forward(x, eps=0.0)
        >>> out.round(4)
        array([[[-1.2247,  0.    ,  1.2247],
                [-0.7071, -0.7071,  1.4142]]])
    """
    x = check_nd_input(x, 3, "instancenorm_forward")
    eps = check_eps(eps)
    if x.size and x.size == x.shape[0] * x.shape[1]:
        raise ValueError(
            f"Expected more than 1 spatial element per channel, got x with shape {x.shape}; "
            f"instance norm of a single value is always 0"
        )
    xhat2, inv_std = standardize_rows(x.reshape(x.shape[0] * x.shape[1], -1), eps)
    xhat = xhat2.reshape(x.shape)
    # a copy, so that an in-place op on out (say a ReLU) cannot corrupt the cache
    return xhat.copy(), InstanceNormCache(xhat, inv_std)


def instancenorm_backward(dout: np.ndarray, cache: InstanceNormCache) -> np.ndarray:
    """Instance normalization, backward pass: ``dx`` (no parameters).

        dx = (dout - mean(dout) - xhat * mean(dout * xhat)) / sqrt(var + eps)
        (means over the spatial positions of one channel of one sample)

    Args:
        dout: gradient w.r.t. ``out``, same shape as x.
        cache: from :func:`instancenorm_forward`.

    Returns:
        ``dx``, the shape of x.

    Example:
        >>> out, cache = instancenorm_forward(np.array([[[1.0, 2.0, 6.0]]]), eps=0.0)
        >>> instancenorm_backward(np.array([[[1.0, 0.0, 0.0]]]), cache).round(4)
        array([[[ 0.1763, -0.2204,  0.0441]]])
    """
    xhat, inv_std = cache
    dout = as_float_array(dout, "dout")
    check_same_shape(xhat, dout, "x", "dout")
    rows = (inv_std.shape[0], -1)
    dx = standardize_rows_backward(dout.reshape(rows), xhat.reshape(rows), inv_std)
    return dx.reshape(xhat.shape)
