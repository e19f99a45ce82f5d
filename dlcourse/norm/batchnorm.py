"""Batch normalization: statistics per channel over the batch, running statistics for inference.

Source: Ioffe & Szegedy, "Batch Normalization: Accelerating Deep Network
Training by Reducing Internal Covariate Shift", ICML 2015; Georgia Tech CS
4644/7643 'Optimization'; VU Amsterdam DLVU lecture 4 'Tools of the trade'.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dlcourse._checks import as_float_array, check_range, check_same_shape
from dlcourse.norm._common import channel_view, check_channel_param, check_eps, check_nd_input, non_channel_axes

__all__ = ["BatchNormCache", "batchnorm_backward", "batchnorm_forward"]


class BatchNormCache(NamedTuple):
    """What :func:`batchnorm_backward` needs from the forward pass.

    Example:
        >>> x = np.array([[1.0], [3.0]])
        >>> _, cache, _, _ = batchnorm_forward(x, np.ones(1), np.zeros(1), np.zeros(1), np.ones(1),
        ...                                    training=True, eps=0.0)
        >>> cache.xhat, cache.inv_std, cache.training
        (array([[-1.],
               [ 1.]]), array([[1.]]), True)
    """

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
        both:      xhat = (x - mu) / sqrt(var + eps)
                   y = gamma * xhat + beta

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

    Example:
        >>> x = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 40.0]])     # (N, C) = (3, 2)
        >>> out, cache, running_mean, running_var = batchnorm_forward(
        ...     x, np.ones(2), np.zeros(2), np.zeros(2), np.ones(2), training=True, eps=0.0)
        >>> out.round(4)                      # each column: mean 0, variance 1
        array([[-1.2247, -0.7071],
               [ 0.    , -0.7071],
               [ 1.2247,  1.4142]])
        >>> running_mean, running_var         # 0.9 * (0, 1) + 0.1 * (mu, unbiased var)
        (array([0.3, 2. ]), array([ 1.3, 30.9]))
    """
    x = check_nd_input(x, 2, "batchnorm_forward")
    gamma, beta, running_mean, running_var = (
        check_channel_param(p, name, x.shape)
        for p, name in [(gamma, "gamma"), (beta, "beta"),
                        (running_mean, "running_mean"), (running_var, "running_var")]
    )
    if not isinstance(training, (bool, np.bool_)):
        raise TypeError(f"training must be True or False, got {type(training).__name__} {training!r}")
    momentum = check_range(momentum, "momentum", 0.0, 1.0)
    eps = check_eps(eps)
    axes = non_channel_axes(x.ndim)

    def view(p):
        return channel_view(p, x.ndim)

    if training:
        m = x.size // x.shape[1]
        if m == 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got x with shape {x.shape}; "
                f"use a batch of at least 2 samples, or training=False for inference"
            )
        mu = x.mean(axis=axes)
        var = ((x - view(mu)) ** 2).mean(axis=axes)
        new_running_mean = (1 - momentum) * running_mean + momentum * mu
        new_running_var = (1 - momentum) * running_var + momentum * var * m / (m - 1)
    else:
        mu, var = running_mean, running_var
        new_running_mean, new_running_var = running_mean.copy(), running_var.copy()
    inv_std = view(1 / np.sqrt(var + eps))
    xhat = (x - view(mu)) * inv_std
    out = view(gamma) * xhat + view(beta)
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

    Example:
        >>> x = np.array([[1.0], [2.0], [6.0]])
        >>> out, cache, _, _ = batchnorm_forward(x, np.array([2.0]), np.zeros(1), np.zeros(1), np.ones(1),
        ...                                      training=True, eps=0.0)
        >>> dx, dgamma, dbeta = batchnorm_backward(np.array([[1.0], [0.0], [0.0]]), cache)
        >>> dx.round(4)                       # sums to 0: a shift of the whole channel changes nothing
        array([[ 0.3527],
               [-0.4409],
               [ 0.0882]])
        >>> dgamma.round(4), dbeta
        (array([-0.9258]), array([1.]))
    """
    xhat, gamma, inv_std, training = cache
    dout = as_float_array(dout, "dout")
    check_same_shape(xhat, dout, "x", "dout")
    axes = non_channel_axes(xhat.ndim)

    def view(p):
        return channel_view(p, xhat.ndim)

    dbeta = dout.sum(axis=axes)
    dgamma = (dout * xhat).sum(axis=axes)
    if not training:
        return view(gamma) * inv_std * dout, dgamma, dbeta
    m = xhat.size // xhat.shape[1]
    dx = view(gamma) * inv_std / m * (m * dout - view(dbeta) - xhat * view(dgamma))
    return dx, dgamma, dbeta
