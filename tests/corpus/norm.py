"""Student implementations of batch norm and layer norm, forward and backward (problem set 4)."""

# ruff: noqa: RUF059, SIM108  (written as students write: unused unpacked names, if/else blocks)

import numpy as np

from corpus import Correct, Wrong

# ---------------------------------------------------------------- norm.batchnorm_forward (and the forwards the
# backward entries use)


def bn_forward_good(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    # a plain forward, used with the backward entries below
    if training:
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        xhat = (x - mu) / np.sqrt(var + eps)
        n = x.shape[0]
        new_mean = (1 - momentum) * running_mean + momentum * mu
        new_var = (1 - momentum) * running_var + momentum * var * n / (n - 1)
        std = np.sqrt(var + eps)
    else:
        std = np.sqrt(running_var + eps)
        xhat = (x - running_mean) / std
        new_mean, new_var = running_mean.copy(), running_var.copy()
    out = gamma * xhat + beta
    return out, (xhat, gamma, std, training), new_mean, new_var


def bn_forward_ddof1(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    if training:
        mean = np.mean(x, axis=0)
        var = np.var(x, axis=0, ddof=1)  # unbiased, like torch.var
        x_norm = (x - mean) / np.sqrt(var + eps)
        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var = (1 - momentum) * running_var + momentum * var
    else:
        x_norm = (x - running_mean) / np.sqrt(running_var + eps)
        running_mean, running_var = running_mean.copy(), running_var.copy()
    return gamma * x_norm + beta, (x_norm, gamma), running_mean, running_var


def bn_forward_biased_running(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    if not training:
        xh = (x - running_mean) / np.sqrt(running_var + eps)
        return gamma * xh + beta, None, running_mean.copy(), running_var.copy()
    mu = x.mean(0)
    var = ((x - mu) ** 2).mean(0)
    xh = (x - mu) / np.sqrt(var + eps)
    rm = (1 - momentum) * running_mean + momentum * mu
    rv = (1 - momentum) * running_var + momentum * var
    return gamma * xh + beta, None, rm, rv


def bn_forward_keras(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    if training:
        mu, var = x.mean(axis=0), x.var(axis=0)
        xhat = (x - mu) / np.sqrt(var + eps)
        N = x.shape[0]
        # exponential moving average: keep momentum of the old value
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var * N / (N - 1)
    else:
        xhat = (x - running_mean) / np.sqrt(running_var + eps)
        running_mean, running_var = np.copy(running_mean), np.copy(running_var)
    return gamma * xhat + beta, xhat, running_mean, running_var


def bn_forward_keras_defaults(x, gamma, beta, running_mean, running_var, training, momentum=0.9, eps=1e-5):
    if not training:
        xhat = (x - running_mean) / np.sqrt(running_var + eps)
        return gamma * xhat + beta, xhat, running_mean.copy(), running_var.copy()
    n = x.shape[0]
    mean = x.mean(axis=0)
    var = x.var(axis=0)
    xhat = (x - mean) / np.sqrt(var + eps)
    new_mean = momentum * running_mean + (1 - momentum) * mean
    new_var = momentum * running_var + (1 - momentum) * var * n / (n - 1)
    return gamma * xhat + beta, xhat, new_mean, new_var


def bn_forward_eps_outside(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    if training:
        mu = x.mean(axis=0)
        sigma = x.std(axis=0)
        xhat = (x - mu) / (sigma + eps)
        N = len(x)
        new_rm = (1 - momentum) * running_mean + momentum * mu
        new_rv = (1 - momentum) * running_var + momentum * sigma**2 * N / (N - 1)
    else:
        xhat = (x - running_mean) / (np.sqrt(running_var) + eps)
        new_rm, new_rv = running_mean.copy(), running_var.copy()
    return gamma * xhat + beta, xhat, new_rm, new_rv


def bn_forward_ignores_mode(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    # normalize with the batch, update the running averages
    N = x.shape[0]
    mu = np.sum(x, axis=0) / N
    var = np.sum((x - mu) ** 2, axis=0) / N
    xhat = (x - mu) / np.sqrt(var + eps)
    new_mean = (1 - momentum) * running_mean + momentum * mu
    new_var = (1 - momentum) * running_var + momentum * var * N / (N - 1)
    return gamma * xhat + beta, (xhat, gamma, var, eps), new_mean, new_var


def bn_forward_in_place_running(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    if training:
        mu, var = x.mean(axis=0), x.var(axis=0)
        xhat = (x - mu) / np.sqrt(var + eps)
        n = x.shape[0]
        running_mean *= 1 - momentum
        running_mean += momentum * mu
        running_var *= 1 - momentum
        running_var += momentum * var * n / (n - 1)
    else:
        xhat = (x - running_mean) / np.sqrt(running_var + eps)
    return gamma * xhat + beta, xhat, running_mean, running_var


def bn_forward_keepdims(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    if training:
        mu = x.mean(axis=0, keepdims=True)
        var = x.var(axis=0, keepdims=True)
        xhat = (x - mu) / np.sqrt(var + eps)
        n = x.shape[0]
        running_mean = (1 - momentum) * running_mean + momentum * mu
        running_var = (1 - momentum) * running_var + momentum * (n / (n - 1)) * var
    else:
        xhat = (x - running_mean) / np.sqrt(running_var + eps)
        running_mean, running_var = running_mean.copy(), running_var.copy()
    return gamma * xhat + beta, xhat, running_mean, running_var


def bn_forward_swapped_affine(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    if training:
        m, v = x.mean(axis=0), x.var(axis=0)
        n = x.shape[0]
        rm = (1 - momentum) * running_mean + momentum * m
        rv = (1 - momentum) * running_var + momentum * v * n / (n - 1)
    else:
        m, v = running_mean, running_var
        rm, rv = running_mean.copy(), running_var.copy()
    xhat = (x - m) / np.sqrt(v + eps)
    return beta * xhat + gamma, xhat, rm, rv


def bn_forward_columns_loop(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    N, D = x.shape
    out = np.empty_like(x)
    xhat = np.empty_like(x)
    new_mean = np.array(running_mean, copy=True)
    new_var = np.array(running_var, copy=True)
    inv_std = np.empty_like(gamma)
    for d in range(D):
        col = x[:, d]
        if training:
            m = col.sum() / N
            v = ((col - m) ** 2).sum() / N
            new_mean[d] = (1 - momentum) * running_mean[d] + momentum * m
            new_var[d] = (1 - momentum) * running_var[d] + momentum * v * N / (N - 1)
        else:
            m, v = running_mean[d], running_var[d]
        inv_std[d] = 1.0 / np.sqrt(v + eps)
        xhat[:, d] = (col - m) * inv_std[d]
        out[:, d] = gamma[d] * xhat[:, d] + beta[d]
    cache = {"xhat": xhat, "gamma": gamma, "inv_std": inv_std, "mode": "train" if training else "eval"}
    return out, cache, new_mean, new_var


# ---------------------------------------------------------------- norm.batchnorm_backward


def bn_backward_no_gamma(dout, cache):
    xhat, gamma, std, training = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    if training:
        dx = (N * dout - dbeta - xhat * dgamma) / (N * std)
    else:
        dx = dout / std
    return dx, dgamma, dbeta


def bn_backward_mean_dbeta(dout, cache):
    xhat, gamma, std, training = cache
    N = dout.shape[0]
    dbeta = dout.mean(axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    if training:
        dx = gamma / (N * std) * (N * dout - dout.sum(axis=0) - xhat * dgamma)
    else:
        dx = gamma * dout / std
    return dx, dgamma, dbeta


def bn_backward_constant_stats(dout, cache):
    # out = gamma * (x - mu) / std + beta  ->  dout/dx = gamma / std
    xhat, gamma, std, training = cache
    return gamma * dout / std, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def bn_backward_no_mode(dout, cache):
    xhat, gamma, std, _ = cache
    N = dout.shape[0]
    dgamma = np.sum(dout * xhat, axis=0)
    dbeta = np.sum(dout, axis=0)
    dx = (gamma / (N * std)) * (N * dout - dbeta - xhat * dgamma)
    return dx, dgamma, dbeta


def bn_forward_staged_cache(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    if training:
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        n = x.shape[0]
        rm = (1 - momentum) * running_mean + momentum * mu
        rv = (1 - momentum) * running_var + momentum * var * n / (n - 1)
    else:
        mu, var = running_mean, running_var
        rm, rv = running_mean.copy(), running_var.copy()
    xmu = x - mu
    ivar = 1 / np.sqrt(var + eps)
    xhat = xmu * ivar
    return gamma * xhat + beta, (xmu, ivar, var, xhat, gamma, eps, training), rm, rv


def bn_backward_staged_n_minus_1(dout, cache):
    xmu, ivar, var, xhat, gamma, eps, training = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (xhat * dout).sum(axis=0)
    dxhat = dout * gamma
    if not training:
        return dxhat * ivar, dgamma, dbeta
    dvar = np.sum(dxhat * xmu, axis=0) * -0.5 * (var + eps) ** -1.5
    dmu = np.sum(-dxhat * ivar, axis=0)
    dx = dxhat * ivar + dvar * 2 * xmu / (N - 1) + dmu / N
    return dx, dgamma, dbeta


def bn_backward_staged(dout, cache):
    # the paper's chain: through xhat, var and mu
    xmu, ivar, var, xhat, gamma, eps, training = cache
    N = dout.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    dxhat = dout * gamma
    if not training:
        return dxhat * ivar, dgamma, dbeta
    dvar = np.sum(dxhat * xmu, axis=0) * -0.5 * ivar**3
    dmu = np.sum(-dxhat * ivar, axis=0) + dvar * np.mean(-2.0 * xmu, axis=0)
    dx = dxhat * ivar + dvar * 2.0 * xmu / N + dmu / N
    return dx, dgamma, dbeta


def bn_backward_dict(dout, cache):
    xhat, g, inv_std = cache["xhat"], cache["gamma"], cache["inv_std"]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    if cache["mode"] == "eval":
        return g * inv_std * dout, dgamma, dbeta
    # dx = gamma/std * (dout - mean(dout) - xhat * mean(dout * xhat))
    dx = g * inv_std * (dout - dout.mean(axis=0) - xhat * (dout * xhat).mean(axis=0))
    return dx, dgamma, dbeta


# ---------------------------------------------------------------- norm.layernorm_forward


def ln_forward_axis0(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=0, keepdims=True)
    var = x.var(axis=0, keepdims=True)
    xhat = (x - mu) / np.sqrt(var + eps)
    return gamma * xhat + beta, (xhat, gamma, np.sqrt(var + eps))


def ln_forward_ddof1(x, gamma, beta, eps=1e-5):
    mu = np.mean(x, axis=1, keepdims=True)
    var = np.var(x, axis=1, ddof=1, keepdims=True)
    std = np.sqrt(var + eps)
    xhat = (x - mu) / std
    return xhat * gamma + beta, (xhat, gamma, std)


def ln_forward_eps_outside(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=1, keepdims=True)
    sd = x.std(axis=1, keepdims=True)
    xhat = (x - mu) / (sd + eps)
    return gamma * xhat + beta, (xhat, gamma, sd + eps)


def ln_forward_transpose(x, gamma, beta, eps=1e-5):
    # reuse the batch-norm idea on x.T: the columns of x.T are the examples
    xt = x.T
    mu = xt.mean(axis=0)
    var = xt.var(axis=0)
    xhat = ((xt - mu) / np.sqrt(var + eps)).T
    return xhat * gamma + beta, {"xhat": xhat, "gamma": gamma, "std": np.sqrt(var + eps)[:, None]}


def ln_forward_good(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=1, keepdims=True)
    std = np.sqrt(x.var(axis=1, keepdims=True) + eps)
    xhat = (x - mu) / std
    return gamma * xhat + beta, (xhat, gamma, std)


# ---------------------------------------------------------------- norm.layernorm_backward


def ln_backward_gamma_outside(dout, cache):
    # same formula as batch norm with the axes swapped
    xhat, gamma, std = cache
    D = dout.shape[1]
    dx = gamma / (D * std) * (D * dout - dout.sum(axis=1, keepdims=True)
                              - xhat * (dout * xhat).sum(axis=1, keepdims=True))
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def ln_backward_dgamma_rows(dout, cache):
    xhat, gamma, std = cache
    dxhat = dout * gamma
    dx = (dxhat - dxhat.mean(axis=1, keepdims=True) - xhat * (dxhat * xhat).mean(axis=1, keepdims=True)) / std
    dgamma = np.sum(dout * xhat, axis=1)
    dbeta = np.sum(dout, axis=1)
    return dx, dgamma, dbeta


def ln_backward_keepdims(dout, cache):
    xhat, gamma, std = cache
    dxhat = dout * gamma
    dx = (dxhat - dxhat.mean(axis=1, keepdims=True) - xhat * (dxhat * xhat).mean(axis=1, keepdims=True)) / std
    dgamma = np.sum(dout * xhat, axis=0, keepdims=True)
    dbeta = np.sum(dout, axis=0, keepdims=True)
    return dx, dgamma, dbeta


def ln_backward_stats_const(dout, cache):
    xhat, gamma, std = cache
    return gamma * dout / std, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def ln_backward_row_jacobian(dout, cache):
    # one D x D Jacobian per example: dxhat_i/dx_j = (delta_ij - 1/D - xhat_i xhat_j / D) / std
    xhat, gamma, std = cache["xhat"], cache["gamma"], cache["std"]
    N, D = dout.shape
    dx = np.zeros_like(dout)
    for n in range(N):
        J = (np.eye(D) - 1.0 / D - np.outer(xhat[n], xhat[n]) / D) / std[n, 0]
        dx[n] = J.T @ (gamma * dout[n])
    dgamma = np.zeros_like(gamma)
    dbeta = np.zeros_like(gamma)
    for n in range(N):
        dgamma += dout[n] * xhat[n]
        dbeta += dout[n]
    return dx, dgamma, dbeta


WRONG = [
    # batchnorm_forward
    Wrong("norm.batchnorm_forward", (bn_forward_ddof1,), frozenset({"bn_unbiased_normalize"}),
          "normalizes with the unbiased variance (ddof=1)"),
    Wrong("norm.batchnorm_forward", (bn_forward_biased_running,), frozenset({"bn_running_var_biased"}),
          "running_var updated with the biased variance"),
    Wrong("norm.batchnorm_forward", (bn_forward_keras,), frozenset({"bn_keras_momentum"}),
          "Keras momentum: momentum * running + (1 - momentum) * batch"),
    Wrong("norm.batchnorm_forward", (bn_forward_keras_defaults,),
          frozenset({"bn_keras_momentum_default", "bn_keras_momentum"}),
          "Keras form with Keras' default momentum 0.9"),
    Wrong("norm.batchnorm_forward", (bn_forward_eps_outside,), frozenset({"bn_eps_outside_sqrt"}),
          "divides by std + eps"),
    Wrong("norm.batchnorm_forward", (bn_forward_ignores_mode,),
          frozenset({"bn_ignores_training", "bn_eval_batch_stats", "bn_eval_updates_running", "ignored:training"}),
          "training flag unused: batch statistics and an update in evaluation too"),
    Wrong("norm.batchnorm_forward", (bn_forward_in_place_running,), frozenset({"modifies_input"}),
          "updates the caller's running_mean and running_var in place (*=, +=)"),
    Wrong("norm.batchnorm_forward", (bn_forward_keepdims,), frozenset({"keepdims"}),
          "keepdims=True statistics make the new running statistics (1, D)"),
    Wrong("norm.batchnorm_forward", (bn_forward_swapped_affine,), frozenset({"bn_gamma_beta_swapped"}),
          "beta * xhat + gamma"),
    # batchnorm_backward
    Wrong("norm.batchnorm_backward", (bn_forward_good, bn_backward_no_gamma), frozenset({"bn_back_forgets_gamma"}),
          "dx without the factor gamma, in both modes"),
    Wrong("norm.batchnorm_backward", (bn_forward_good, bn_backward_mean_dbeta), frozenset({"bn_back_dbeta_mean"}),
          "dbeta is the mean of dout"),
    Wrong("norm.batchnorm_backward", (bn_forward_good, bn_backward_constant_stats),
          frozenset({"bn_back_stats_constant"}), "gamma * dout / std in training mode too"),
    Wrong("norm.batchnorm_backward", (bn_forward_good, bn_backward_no_mode),
          frozenset({"bn_back_eval_training_formula", "bn_back_eval_training_formula_staged"}),
          "training-mode formula used for evaluation caches too"),
    Wrong("norm.batchnorm_backward", (bn_forward_staged_cache, bn_backward_staged_n_minus_1),
          frozenset({"bn_back_unbiased_grad"}), "staged backward with dvar * 2 (x - mu) / (N - 1)"),
    # layernorm_forward
    Wrong("norm.layernorm_forward", (ln_forward_axis0,), frozenset({"ln_batch_axis"}),
          "statistics over axis 0 (batch norm)"),
    Wrong("norm.layernorm_forward", (ln_forward_ddof1,), frozenset({"ln_unbiased"}), "np.var with ddof=1"),
    Wrong("norm.layernorm_forward", (ln_forward_eps_outside,), frozenset({"ln_eps_outside_sqrt"}),
          "divides by std + eps"),
    # layernorm_backward
    Wrong("norm.layernorm_backward", (ln_forward_good, ln_backward_gamma_outside), frozenset(),
          "batch norm's compact formula with gamma pulled out of the sums over the features"),
    Wrong("norm.layernorm_backward", (ln_forward_good, ln_backward_dgamma_rows),
          frozenset({"ln_back_dgamma_wrong_axis"}), "dgamma and dbeta summed over the features (axis 1)"),
    Wrong("norm.layernorm_backward", (ln_forward_good, ln_backward_keepdims), frozenset({"keepdims"}),
          "dgamma and dbeta of shape (1, D)"),
    Wrong("norm.layernorm_backward", (ln_forward_good, ln_backward_stats_const), frozenset({"ln_back_stats_constant"}),
          "gamma * dout / std, the statistics treated as constants"),
    Wrong("norm.layernorm_backward", (ln_forward_eps_outside, ln_backward_stats_const),
          frozenset({"ln_back_stats_constant", "ln_back_eps_outside_sqrt"}),
          "eps outside the sqrt in the forward and statistics treated as constants"),
]

CORRECT = [
    Correct("norm.batchnorm_forward", (bn_forward_columns_loop,), "loop over the features, dict cache"),
    Correct("norm.batchnorm_forward", (bn_forward_staged_cache,), "x - mu and 1 / std kept for the staged backward"),
    Correct("norm.batchnorm_backward", (bn_forward_staged_cache, bn_backward_staged), "the paper's staged chain rule"),
    Correct("norm.batchnorm_backward", (bn_forward_columns_loop, bn_backward_dict), "means instead of sums"),
    Correct("norm.layernorm_forward", (ln_forward_transpose,), "batch norm on x.T"),
    Correct("norm.layernorm_backward", (ln_forward_transpose, ln_backward_row_jacobian),
            "explicit per-row Jacobian, loops for dgamma and dbeta"),
]
