"""Planted wrong submissions of ps4_normalization: each must lose exactly its part's points."""

from assignments import likely_cause

PLANTED = [
    {
        "name": "batchnorm_keras_momentum",
        "notebook": "ps4_normalization.ipynb",
        "cell": "batchnorm_forward",
        # momentum read as the weight of the OLD running value (Keras); the normalization and the
        # cache (the solution's format, which the solution backward reads) are right, so the
        # backward part, which compares only gradients, keeps its points
        "source": '''def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    """Batch normalization forward pass for x of shape (N, D)."""
    if training:
        n = x.shape[0]
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        xhat = (x - mu) / np.sqrt(var + eps)
        new_running_mean = momentum * running_mean + (1 - momentum) * mu
        new_running_var = momentum * running_var + (1 - momentum) * var * n / (n - 1)
        cache = (xhat, gamma, 1 / np.sqrt(var + eps), True)
    else:
        xhat = (x - running_mean) / np.sqrt(running_var + eps)
        new_running_mean, new_running_var = running_mean.copy(), running_var.copy()
        cache = (xhat, gamma, 1 / np.sqrt(running_var + eps), False)
    return gamma * xhat + beta, cache, new_running_mean, new_running_var
''',
        "zero": ["batchnorm_forward_tests"],
        "feedback": "momentum is the weight of the NEW batch statistic",
    },
    {
        "name": "layernorm_backward_stats_constant",
        "notebook": "ps4_normalization.ipynb",
        "cell": "layernorm_backward",
        # the row mean and variance treated as constants: the gradient of a plain affine map
        "source": '''def layernorm_backward(dout, cache):
    """Layer normalization backward pass."""
    xhat, gamma, inv_std = cache
    dx = gamma * dout * inv_std
    dgamma = np.sum(dout * xhat, axis=0)
    dbeta = np.sum(dout, axis=0)
    return dx, dgamma, dbeta
''',
        "zero": ["layernorm_backward_tests"],
        "feedback": likely_cause("norm.layernorm_backward", "ln_back_stats_constant"),
    },
]
