"""What the normalization layers share: argument checks, channel views, and standardizing rows.

Layer, group and instance norm all standardize the rows of a 2-D view of x
(one row per sample, or per sample and group, or per sample and channel), so
they share :func:`standardize_rows` and its backward pass.
"""

from __future__ import annotations

import numpy as np

from dlcourse._checks import as_float_array, check_range

__all__ = ["check_normalized_shape", "standardize_rows", "standardize_rows_backward"]


def check_normalized_shape(x: np.ndarray, gamma: np.ndarray, params: str = "gamma") -> None:
    """Layer and RMS norm: gamma's shape (torch's ``normalized_shape``) must be the last dims of x.

    ``params`` names the parameters that must have that shape, for the message ("gamma", "gamma (and beta)").

    Example:
        >>> check_normalized_shape(np.zeros((4, 3)), np.ones(3))           # normalizes over the 3 features
        >>> check_normalized_shape(np.zeros((4, 3)), np.ones(4))
        Traceback (most recent call last):
        ...
        ValueError: gamma.shape is the normalized_shape and must equal the last 1 dims of x: ...
    """
    if gamma.ndim == 0 or x.shape[x.ndim - gamma.ndim:] != gamma.shape:
        raise ValueError(
            f"gamma.shape is the normalized_shape and must equal the last {gamma.ndim} dims of x: "
            f"x has shape {x.shape} but gamma has shape {gamma.shape}; use {params} of "
            f"shape x.shape[-1:] = {x.shape[-1:]} to normalize over the features"
        )


def standardize_rows(x2: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Standardize each row of a 2-D array with its mean and biased variance.

        mu      = mean of the row
        var     = mean of (x - mu)^2 over the row        (biased, 1/m)
        inv_std = 1 / sqrt(var + eps)
        xhat    = (x - mu) * inv_std

    Returns:
        ``(xhat, inv_std)``: xhat of x2's shape, inv_std of shape (rows, 1).

    Example:
        >>> xhat, inv_std = standardize_rows(np.array([[1.0, 3.0], [2.0, 2.0]]), eps=1e-5)
        >>> xhat.round(4)               # a constant row becomes 0: eps keeps 0/0 away
        array([[-1.,  1.],
               [ 0.,  0.]])
    """
    mu = x2.mean(axis=1, keepdims=True)
    var = ((x2 - mu) ** 2).mean(axis=1, keepdims=True)
    inv_std = 1 / np.sqrt(var + eps)
    xhat = (x2 - mu) * inv_std
    return xhat, inv_std


def standardize_rows_backward(dxhat2: np.ndarray, xhat2: np.ndarray, inv_std: np.ndarray) -> np.ndarray:
    """Backprop through :func:`standardize_rows`: dL/dx from dL/dxhat (means over a row).

        dx = inv_std * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))

    The two subtracted means are the paths through mu and through var: every
    output of a row depends on every input of that row.

    Example:
        >>> xhat, inv_std = standardize_rows(np.array([[1.0, 2.0, 3.0]]), eps=0.0)
        >>> xhat.round(4)
        array([[-1.2247,  0.    ,  1.2247]])
        >>> standardize_rows_backward(np.ones((1, 3)), xhat, inv_std)   # sum(xhat) = 0 for every x
        array([[0., 0., 0.]])
    """
    mean_dxhat = dxhat2.mean(axis=1, keepdims=True)
    mean_dxhat_xhat = (dxhat2 * xhat2).mean(axis=1, keepdims=True)
    return inv_std * (dxhat2 - mean_dxhat - xhat2 * mean_dxhat_xhat)


def check_eps(eps: float) -> float:
    return check_range(eps, "eps", 0.0, None)


def check_channel_param(p: object, name: str, x_shape: tuple[int, ...]) -> np.ndarray:
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


def check_nd_input(x: object, min_ndim: int, layer: str) -> np.ndarray:
    x = as_float_array(x, "x")
    if x.ndim < min_ndim:
        raise ValueError(
            f"{layer} expects x with at least {min_ndim} dims (N, C, ...), got shape {x.shape}; "
            f"add the missing axes (e.g. x[None] for a single sample)"
        )
    return x


def channel_view(p: np.ndarray, ndim: int) -> np.ndarray:
    """View a (C,) array so that it broadcasts along axis 1 of an ndim-D array."""
    return p.reshape((1, -1) + (1,) * (ndim - 2))


def non_channel_axes(ndim: int) -> tuple[int, ...]:
    """Every axis of an (N, C, ...) array except the channel axis 1: (0, 2, 3, ...)."""
    return (0, *range(2, ndim))
