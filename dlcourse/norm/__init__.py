"""Normalization layers: batch norm, layer norm, RMS norm, group norm, instance norm.

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

RMS norm (Zhang & Sennrich, 2019) is layer norm without the mean: over the
same axes, ``xhat = x / sqrt(mean(x^2) + eps)`` and ``y = gamma * xhat`` (no beta).

Layer, group and instance norm all standardize the rows of a 2-D view of x,
so they share one forward and one backward helper
(:func:`dlcourse.norm._common.standardize_rows`).  Batch norm standardizes
columns, keeps running statistics for inference and has its own backward.
One module per layer: :mod:`~dlcourse.norm.batchnorm`,
:mod:`~dlcourse.norm.layernorm`, :mod:`~dlcourse.norm.rmsnorm`,
:mod:`~dlcourse.norm.groupnorm` (group and instance norm).

Each ``*_forward`` returns ``(out, cache)`` and is pure; ``*_backward(dout,
cache)`` returns the gradients w.r.t. the inputs and parameters.

Example:
    >>> import numpy as np
    >>> from dlcourse.norm import batchnorm_forward, layernorm_forward
    >>> x = np.array([[1.0, 10.0], [3.0, 30.0]])
    >>> out, *_ = batchnorm_forward(x, np.ones(2), np.zeros(2), np.zeros(2), np.ones(2), training=True, eps=0.0)
    >>> out                                   # columns standardized
    array([[-1., -1.],
           [ 1.,  1.]])
    >>> layernorm_forward(x, np.ones(2), np.zeros(2), eps=0.0)[0]    # rows standardized
    array([[-1.,  1.],
           [-1.,  1.]])
"""

from dlcourse.norm.batchnorm import BatchNormCache, batchnorm_backward, batchnorm_forward
from dlcourse.norm.groupnorm import (
    GroupNormCache,
    InstanceNormCache,
    groupnorm_backward,
    groupnorm_forward,
    instancenorm_backward,
    instancenorm_forward,
)
from dlcourse.norm.layernorm import LayerNormCache, layernorm_backward, layernorm_forward
from dlcourse.norm.rmsnorm import RMSNormCache, rmsnorm_backward, rmsnorm_forward

__all__ = [
    "BatchNormCache",
    "GroupNormCache",
    "InstanceNormCache",
    "LayerNormCache",
    "RMSNormCache",
    "batchnorm_backward",
    "batchnorm_forward",
    "groupnorm_backward",
    "groupnorm_forward",
    "instancenorm_backward",
    "instancenorm_forward",
    "layernorm_backward",
    "layernorm_forward",
    "rmsnorm_backward",
    "rmsnorm_forward",
]
