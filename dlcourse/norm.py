"""Normalization layers: batch norm, layer norm, group norm, instance norm.

Every layer standardizes activations over some set of axes and then applies a
learned per-feature affine map:

    xhat = (x - mean) / sqrt(var + eps)        (var is the BIASED variance, 1/m sum)
    y    = gamma * xhat + beta

They differ only in which values share a mean and a variance
(Wu & He, "Group Normalization", ECCV 2018, figure 2; Georgia Tech CS 4644/7643
'Optimization'):

    batch norm     over the batch (and length) for each channel     (N, [L])
    layer norm     over the features of one sample                   (last dims)
    group norm     over a group of channels (and space) of one sample
    instance norm  over space, for each channel of one sample

Layer, group and instance norm all standardize the rows of a 2-D view of x,
so they share one forward and one backward helper.  Batch norm standardizes
columns, keeps running statistics for inference and has its own backward.

Each ``*_forward`` returns ``(out, cache)`` and is pure; ``*_backward(dout,
cache)`` returns the gradients w.r.t. the inputs and parameters.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dlcourse._checks import as_float_array, check_int, check_range, check_same_shape

__all__ = [
    "BatchNormCache",
    "LayerNormCache",
    "GroupNormCache",
    "InstanceNormCache",
    "batchnorm_forward",
    "batchnorm_backward",
    "layernorm_forward",
    "layernorm_backward",
    "groupnorm_forward",
    "groupnorm_backward",
    "instancenorm_forward",
    "instancenorm_backward",
]


# ---------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------


def _standardize_rows(x2: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Standardize each row of a 2-D array: ``(xhat, inv_std)`` with inv_std of shape (rows, 1)."""
    xhat = x2 - x2.mean(axis=1, keepdims=True)
    # einsum sums the squares without materializing xhat**2
    var = np.einsum("ij,ij->i", xhat, xhat)[:, None] / x2.shape[1]
    inv_std = 1 / np.sqrt(var + eps)
    xhat *= inv_std
    return xhat, inv_std


def _standardize_rows_backward(dxhat2: np.ndarray, xhat2: np.ndarray, inv_std: np.ndarray) -> np.ndarray:
    """Backprop through :func:`_standardize_rows`; overwrites and returns ``dxhat2``.

        dx = inv_std * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))   (means over a row)
    """
    mean_dxhat_xhat = np.einsum("ij,ij->i", dxhat2, xhat2)[:, None] / xhat2.shape[1]
    dxhat2 -= dxhat2.mean(axis=1, keepdims=True)
    dxhat2 -= xhat2 * mean_dxhat_xhat
    dxhat2 *= inv_std
    return dxhat2


def _check_eps(eps: float) -> float:
    return check_range(eps, "eps", 0.0, None)


def _check_channel_param(p: object, name: str, x_shape: tuple[int, ...]) -> np.ndarray:
    """A per-channel parameter must have shape (C,) with C = x.shape[1]."""
    p = as_float_array(p, name)
    channels = x_shape[1]
    if p.shape != (channels,):
        raise ValueError(
            f"{name} must have shape ({channels},): one value per channel, and x with shape "
            f"{x_shape} has x.shape[1] = {channels} channels; got {name} with shape {p.shape}. "
            f"Create it for {channels} features (e.g. np.ones({channels})) or put the channels "
            f"of x on axis 1 (x is (N, C) or (N, C, L, ...))"
        )
    return p


def _channel_view(p: np.ndarray, ndim: int) -> np.ndarray:
    """View a (C,) array so that it broadcasts along axis 1 of an ndim-D array."""
    return p.reshape((1, -1) + (1,) * (ndim - 2))


def _per_channel_sum(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Sum ``a`` (or ``a * b``) over every axis except the channel axis 1."""
    a3 = a.reshape(a.shape[0], a.shape[1], -1)
    if b is None:
        return a3.sum(axis=(0, 2))
    return np.einsum("ncl,ncl->c", a3, b.reshape(a3.shape))


def _check_nd_input(x: object, min_ndim: int, layer: str) -> np.ndarray:
    x = as_float_array(x, "x")
    if x.ndim < min_ndim:
        raise ValueError(
            f"{layer} expects x with at least {min_ndim} dims (N, C, ...), got shape {x.shape}; "
            f"add the missing axes (e.g. x[None] for a single sample)"
        )
    return x


# ---------------------------------------------------------------------------
# batch norm
# ---------------------------------------------------------------------------


class BatchNormCache(NamedTuple):
    xhat: np.ndarray     # standardized input, shape of x
    gamma: np.ndarray    # (C,)
    inv_std: np.ndarray  # 1 / sqrt(var + eps) per channel, broadcastable against x
    training: bool       # batch statistics (True) or running statistics (False)


def batchnorm_forward(
    x: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    training: bool,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> tuple[np.ndarray, BatchNormCache, np.ndarray, np.ndarray]:
    """Batch normalization (torch ``BatchNorm1d``/``2d``), forward pass.

    Statistics are per channel c = axis 1, over the m = N * L values of that
    channel in the batch (L = product of the axes after 1, or 1 for (N, C)):

        training:  mu = 1/m sum x,   var = 1/m sum (x - mu)^2            (biased)
                   running_mean <- (1 - momentum) * running_mean + momentum * mu
                   running_var  <- (1 - momentum) * running_var  + momentum * var * m/(m - 1)
        eval:      mu, var = running_mean, running_var                   (unchanged)
        both:      y = gamma * (x - mu) / sqrt(var + eps) + beta

    Args:
        x: input of shape (N, C) or (N, C, L) (any (N, C, ...) works, like
            ``BatchNorm2d``/``3d``).
        gamma, beta: scale and shift, shape (C,).
        running_mean, running_var: running statistics, shape (C,); torch
            starts them at zeros and ones.
        training: True to normalize with the batch statistics and update the
            running ones; False (inference) to normalize with the running ones.
        momentum: weight of the NEW batch statistic in the running average,
            in [0, 1]; default 0.1.
        eps: added to the variance, >= 0; default 1e-5.

    Returns:
        ``(out, cache, new_running_mean, new_running_var)``; the inputs are not
        modified (in eval mode the running statistics come back as copies).

    Raises:
        ValueError: in training mode with one value per channel (N * L == 1),
            where the variance is 0 and the output would be beta whatever x is
            (torch raises "Expected more than 1 value per channel when
            training"); on parameter shapes that do not match x.shape[1].

    Notes:
        Source: Ioffe & Szegedy, "Batch Normalization: Accelerating Deep
        Network Training by Reducing Internal Covariate Shift", ICML 2015;
        Georgia Tech CS 4644/7643 'Optimization'; VU Amsterdam DLVU lecture 4
        'Tools of the trade' (at inference a prediction must not depend on the
        other test instances, hence running statistics).
        Conventions: the batch is normalized with the BIASED variance
        (1/m), but the running variance is updated with the UNBIASED one
        (1/(m - 1)), as in the paper's inference step and in torch.
        torch's ``momentum=0.1`` weights the new statistic; Keras/TF's
        ``BatchNormalization(momentum=0.99)`` weights the OLD one, so
        torch momentum = 1 - Keras momentum.  torch's ``momentum=None``
        (cumulative average) is not provided.
    """
    x = _check_nd_input(x, 2, "batchnorm_forward")
    gamma, beta, running_mean, running_var = (
        _check_channel_param(p, name, x.shape)
        for p, name in [(gamma, "gamma"), (beta, "beta"),
                        (running_mean, "running_mean"), (running_var, "running_var")]
    )
    if not isinstance(training, (bool, np.bool_)):
        raise TypeError(f"training must be True or False, got {type(training).__name__} {training!r}")
    momentum = check_range(momentum, "momentum", 0.0, 1.0)
    eps = _check_eps(eps)
    axes = (0,) + tuple(range(2, x.ndim))
    view = lambda p: _channel_view(p, x.ndim)  # noqa: E731

    if training:
        m = x.size // x.shape[1]
        if m == 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got x with shape {x.shape}; "
                f"use a batch of at least 2 samples, or training=False for inference"
            )
        mean = x.mean(axis=axes)
        xhat = x - view(mean)
        sum_sq = _per_channel_sum(xhat, xhat)
        inv_std = 1 / np.sqrt(sum_sq / m + eps)
        new_running_mean = (1 - momentum) * running_mean + momentum * mean
        new_running_var = (1 - momentum) * running_var + momentum * (sum_sq / (m - 1))
    else:
        inv_std = 1 / np.sqrt(running_var + eps)
        xhat = x - view(running_mean)
        new_running_mean, new_running_var = running_mean.copy(), running_var.copy()
    inv_std = view(inv_std)
    xhat *= inv_std
    out = xhat * view(gamma)
    out += view(beta)
    return out, BatchNormCache(xhat, gamma, inv_std, bool(training)), new_running_mean, new_running_var


def batchnorm_backward(dout: np.ndarray, cache: BatchNormCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batch normalization, backward pass: ``(dx, dgamma, dbeta)``.

    With m values per channel, sigma = sqrt(var + eps) and sums over those m
    values (per channel):

        dbeta  = sum dout
        dgamma = sum dout * xhat
        training:  dx = gamma / (m * sigma) * (m * dout - dbeta - xhat * dgamma)
        eval:      dx = gamma / sigma * dout      (running statistics are constants)

    The training formula is the compact form of the chain rule through mu and
    var (written with dxhat = gamma * dout it reads
    dx = 1/(m sigma) (m dxhat - sum dxhat - xhat sum(dxhat xhat))): every
    output depends on every input of its channel through the batch statistics.

    Args:
        dout: gradient of the loss w.r.t. ``out``, same shape as x.
        cache: the cache returned by :func:`batchnorm_forward`.

    Returns:
        ``(dx, dgamma, dbeta)`` with the shapes of x, gamma and beta.

    Notes:
        Source: Ioffe & Szegedy 2015 (section 3, backward equations);
        Georgia Tech CS 4644/7643 'Optimization'.
    """
    xhat, gamma, inv_std, training = cache
    dout = as_float_array(dout, "dout")
    check_same_shape(xhat, dout, "x", "dout")
    view = lambda p: _channel_view(p, xhat.ndim)  # noqa: E731
    dbeta = _per_channel_sum(dout)
    dgamma = _per_channel_sum(dout, xhat)
    if not training:
        return dout * (view(gamma) * inv_std), dgamma, dbeta
    m = xhat.size // xhat.shape[1]
    # dout - dbeta/m - xhat * dgamma/m, built in one buffer
    dx = xhat * view(dgamma / m)
    np.subtract(dout, dx, out=dx)
    dx -= view(dbeta / m)
    dx *= view(gamma) * inv_std
    return dx, dgamma, dbeta


# ---------------------------------------------------------------------------
# layer norm
# ---------------------------------------------------------------------------


class LayerNormCache(NamedTuple):
    xhat: np.ndarray     # standardized input, shape of x
    gamma: np.ndarray    # normalized_shape
    inv_std: np.ndarray  # (number of normalized groups, 1)


def layernorm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5
) -> tuple[np.ndarray, LayerNormCache]:
    """Layer normalization (torch ``LayerNorm(normalized_shape=gamma.shape)``), forward pass.

    Each sample is standardized over its last D = gamma.ndim axes:

        mu, var = mean and biased variance of x[..., :] over the last D axes
        y = gamma * (x - mu) / sqrt(var + eps) + beta

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
    """
    x = as_float_array(x, "x")
    gamma = as_float_array(gamma, "gamma")
    beta = as_float_array(beta, "beta")
    check_same_shape(gamma, beta, "gamma", "beta")
    eps = _check_eps(eps)
    if gamma.ndim == 0 or x.shape[x.ndim - gamma.ndim:] != gamma.shape:
        raise ValueError(
            f"gamma.shape is the normalized_shape and must equal the last {gamma.ndim} dims of x: "
            f"x has shape {x.shape} but gamma has shape {gamma.shape}; use gamma (and beta) of "
            f"shape x.shape[-1:] = {x.shape[-1:]} to normalize over the features"
        )
    xhat2, inv_std = _standardize_rows(x.reshape(-1, gamma.size), eps)
    xhat = xhat2.reshape(x.shape)
    out = xhat * gamma
    out += beta
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
    """
    xhat, gamma, inv_std = cache
    dout = as_float_array(dout, "dout")
    check_same_shape(xhat, dout, "x", "dout")
    dout2 = dout.reshape(-1, gamma.size)
    xhat2 = xhat.reshape(dout2.shape)
    dgamma = np.einsum("ij,ij->j", dout2, xhat2).reshape(gamma.shape)
    dbeta = dout2.sum(axis=0).reshape(gamma.shape)
    dx = _standardize_rows_backward((dout * gamma).reshape(dout2.shape), xhat2, inv_std)
    return dx.reshape(xhat.shape), dgamma, dbeta


# ---------------------------------------------------------------------------
# group norm and instance norm
# ---------------------------------------------------------------------------


class GroupNormCache(NamedTuple):
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
    """
    x = _check_nd_input(x, 2, "groupnorm_forward")
    gamma = _check_channel_param(gamma, "gamma", x.shape)
    beta = _check_channel_param(beta, "beta", x.shape)
    eps = _check_eps(eps)
    channels = x.shape[1]
    num_groups = check_int(num_groups, "num_groups", 1)
    if channels % num_groups:
        raise ValueError(
            f"num_groups must divide the {channels} channels of x (shape {x.shape}), got {num_groups!r}"
        )
    xhat2, inv_std = _standardize_rows(x.reshape(x.shape[0] * num_groups, -1), eps)
    xhat = xhat2.reshape(x.shape)
    out = xhat * _channel_view(gamma, x.ndim)
    out += _channel_view(beta, x.ndim)
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
    """
    xhat, gamma, inv_std, num_groups = cache
    dout = as_float_array(dout, "dout")
    check_same_shape(xhat, dout, "x", "dout")
    rows = (xhat.shape[0] * num_groups, -1)
    dxhat2 = (dout * _channel_view(gamma, xhat.ndim)).reshape(rows)
    dx = _standardize_rows_backward(dxhat2, xhat.reshape(rows), inv_std)
    return dx.reshape(xhat.shape), _per_channel_sum(dout, xhat), _per_channel_sum(dout)


class InstanceNormCache(NamedTuple):
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
    """
    x = _check_nd_input(x, 3, "instancenorm_forward")
    eps = _check_eps(eps)
    if x.size and x.size == x.shape[0] * x.shape[1]:
        raise ValueError(
            f"Expected more than 1 spatial element per channel, got x with shape {x.shape}; "
            f"instance norm of a single value is always 0"
        )
    xhat2, inv_std = _standardize_rows(x.reshape(x.shape[0] * x.shape[1], -1), eps)
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
    """
    xhat, inv_std = cache
    dout = as_float_array(dout, "dout")
    check_same_shape(xhat, dout, "x", "dout")
    rows = (inv_std.shape[0], -1)
    dx = _standardize_rows_backward(dout.reshape(rows).copy(), xhat.reshape(rows), inv_std)
    return dx.reshape(xhat.shape)
