"""Normalization checks: the reference passes, catalogued mistakes are diagnosed, correct variants pass."""

from collections import namedtuple

import numpy as np
import pytest

from dlcourse.grading import targets
from dlcourse.grading.topics.norm import _batchnorm_variant, _layernorm_variant, _norm_backward_variant
from grading.helpers import assert_accepted, assert_catalogue_diagnosed, assert_rejected, passes_as_reference

NAMES = [t for t in targets() if t.startswith("norm.")]
BN, BN_BACK = "norm.batchnorm_forward", "norm.batchnorm_backward"
LN, LN_BACK = "norm.layernorm_forward", "norm.layernorm_backward"


def test_the_four_targets_exist():
    assert set(NAMES) == {BN, BN_BACK, LN, LN_BACK}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("hidden", [False, True])
def test_reference_passes(name, hidden):
    assert passes_as_reference(name, hidden).startswith("OK")


def test_catalogue_variants_without_a_knob_are_correct():
    # every mistake is one knob on these, so they must be exactly right
    assert_accepted([_batchnorm_variant()], BN, trusted=True)
    assert_accepted([_batchnorm_variant(), _norm_backward_variant()], BN_BACK, trusted=True)
    assert_accepted([_layernorm_variant()], LN, trusted=True)
    assert_accepted([_layernorm_variant(), _norm_backward_variant()], LN_BACK, trusted=True)


@pytest.mark.parametrize("name", NAMES)
def test_every_catalogued_mistake_is_caught_by_the_hidden_checks(name):
    assert_catalogue_diagnosed(name, hidden=True)


# ---------------------------------------------------------------------------
# Students' code, written from scratch with numpy only.  A correct batch norm
# first; each wrong one below changes one thing in its own words.
# ---------------------------------------------------------------------------


def bn_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    if training:
        mu = np.mean(x, axis=0)
        var = np.var(x, axis=0)
        xhat = (x - mu) / np.sqrt(var + eps)
        n = x.shape[0]
        running_mean = (1 - momentum) * running_mean + momentum * mu
        running_var = (1 - momentum) * running_var + momentum * var * n / (n - 1)
    else:
        xhat = (x - running_mean) / np.sqrt(running_var + eps)
    std = np.sqrt((np.var(x, axis=0) if training else running_var) + eps)
    cache = {"x": x, "xhat": xhat, "gamma": gamma, "std": std, "training": training}
    return gamma * xhat + beta, cache, running_mean, running_var


def bn_backward(dout, cache):
    xhat, gamma, std = cache["xhat"], cache["gamma"], cache["std"]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    if not cache["training"]:
        return gamma * dout / std, dgamma, dbeta
    n = dout.shape[0]
    dx = gamma / (n * std) * (n * dout - dbeta - xhat * dgamma)
    return dx, dgamma, dbeta


def bn_unbiased(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    if not training:
        return gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta, None, running_mean, running_var
    mu, var = x.mean(0), x.var(0, ddof=1)  # the unbiased variance everywhere
    out = gamma * (x - mu) / np.sqrt(var + eps) + beta
    return out, None, (1 - momentum) * running_mean + momentum * mu, (1 - momentum) * running_var + momentum * var


def bn_running_var_biased(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    if not training:
        return gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta, None, running_mean, running_var
    mu, var = x.mean(0), x.var(0)
    out = gamma * (x - mu) / np.sqrt(var + eps) + beta
    return out, None, (1 - momentum) * running_mean + momentum * mu, (1 - momentum) * running_var + momentum * var


def bn_eval_with_batch_stats(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    mu, var = x.mean(axis=0), x.var(axis=0)
    out = gamma * (x - mu) / np.sqrt(var + eps) + beta
    if training:
        m = len(x)
        running_mean = (1 - momentum) * running_mean + momentum * mu
        running_var = (1 - momentum) * running_var + momentum * var * m / (m - 1)
    return out, (x, mu, var), running_mean, running_var


def bn_keras(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    if training:
        mu, var = x.mean(0), x.var(0)
        new_mean = momentum * running_mean + (1 - momentum) * mu
        new_var = momentum * running_var + (1 - momentum) * x.var(0, ddof=1)
    else:
        mu, var, new_mean, new_var = running_mean, running_var, running_mean, running_var
    return gamma * (x - mu) / np.sqrt(var + eps) + beta, (), new_mean, new_var


def bn_eps_outside(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    if training:
        mu, sigma = x.mean(0), x.std(0)
        m = x.shape[0]
        new_mean = (1 - momentum) * running_mean + momentum * mu
        new_var = (1 - momentum) * running_var + momentum * sigma**2 * m / (m - 1)
    else:
        mu, sigma, new_mean, new_var = running_mean, np.sqrt(running_var), running_mean, running_var
    return gamma * (x - mu) / (sigma + eps) + beta, (), new_mean, new_var


def bn_forgets_running_update(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    mu, var = (x.mean(0), x.var(0)) if training else (running_mean, running_var)
    return gamma * (x - mu) / np.sqrt(var + eps) + beta, {}, running_mean.copy(), running_var.copy()


def bn_updates_in_eval(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    mu, var = x.mean(0), x.var(0)
    m = x.shape[0]
    new_mean = (1 - momentum) * running_mean + momentum * mu
    new_var = (1 - momentum) * running_var + momentum * x.var(0) * m / (m - 1)
    if not training:
        mu, var = running_mean, running_var
    return gamma * (x - mu) / np.sqrt(var + eps) + beta, {}, new_mean, new_var


def bn_swapped(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    _, cache, new_mean, new_var = bn_forward(x, gamma, beta, running_mean, running_var, training, momentum, eps)
    return beta * cache["xhat"] + gamma, cache, new_mean, new_var


def bn_keras_loops(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    # feature by feature; the running averages as Keras writes them, with the variance the batch was normalized by
    out, new_mean, new_var = np.empty_like(x), running_mean.copy(), running_var.copy()
    for j in range(x.shape[1]):
        column = x[:, j]
        if training:
            mean_j = column.sum() / len(column)
            var_j = ((column - mean_j) ** 2).sum() / len(column)
            new_mean[j] = momentum * running_mean[j] + (1 - momentum) * mean_j
            new_var[j] = momentum * running_var[j] + (1 - momentum) * var_j
        else:
            mean_j, var_j = running_mean[j], running_var[j]
        out[:, j] = gamma[j] * (column - mean_j) / np.sqrt(var_j + eps) + beta[j]
    return out, None, new_mean, new_var


def bn_cs231n_style(x, gamma, beta, running_mean, running_var, training, momentum=0.9, eps=1e-5):
    if training:
        sample_mean = np.mean(x, axis=0)
        sample_var = np.var(x, axis=0)
        x_norm = (x - sample_mean) / np.sqrt(sample_var + eps)
        running_mean = momentum * running_mean + (1 - momentum) * sample_mean
        running_var = momentum * running_var + (1 - momentum) * sample_var
    else:
        x_norm = (x - running_mean) / np.sqrt(running_var + eps)
    return gamma * x_norm + beta, (x_norm, gamma), running_mean, running_var


@pytest.mark.parametrize(
    ("fn", "mistake"),
    [
        (bn_keras_loops, "bn_running_var_biased_keras_momentum"),
        (bn_cs231n_style, "bn_running_var_biased_keras_momentum_default"),
        (bn_unbiased, "bn_unbiased_normalize"),
        (bn_running_var_biased, "bn_running_var_biased"),
        (bn_eval_with_batch_stats, "bn_eval_batch_stats"),
        (bn_keras, "bn_keras_momentum"),
        (bn_eps_outside, "bn_eps_outside_sqrt"),
        (bn_forgets_running_update, "bn_no_running_update"),
        (bn_updates_in_eval, "bn_eval_updates_running"),
        (bn_swapped, "bn_gamma_beta_swapped"),
    ],
)
@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_batchnorm_forward_mistakes_are_diagnosed(fn, mistake, hidden):
    assert_rejected([fn], BN, mistake, hidden=hidden)


def bn_backward_no_gamma(dout, cache):
    xhat, std = cache["xhat"], cache["std"]
    n = dout.shape[0]
    if not cache["training"]:
        return dout / std, (dout * xhat).sum(0), dout.sum(0)
    dx = (n * dout - dout.sum(0) - xhat * (dout * xhat).sum(0)) / (n * std)
    return dx, (dout * xhat).sum(0), dout.sum(0)


def bn_backward_constant_stats(dout, cache):
    return cache["gamma"] * dout / cache["std"], np.sum(dout * cache["xhat"], axis=0), np.sum(dout, axis=0)


def bn_backward_dgamma_axis(dout, cache):
    dx, _, dbeta = bn_backward(dout, cache)
    return dx, np.sum(dout * cache["xhat"], axis=1), dbeta


def bn_backward_dgamma_no_xhat(dout, cache):
    dx, _, dbeta = bn_backward(dout, cache)
    return dx, dout.sum(axis=0), dbeta


def bn_backward_dbeta_mean(dout, cache):
    dx, dgamma, _ = bn_backward(dout, cache)
    return dx, dgamma, dout.mean(axis=0)


def bn_backward_staged_unbiased(dout, cache):
    # the computational-graph version, with 1/(N-1) in the derivative of the variance
    x, gamma, std = cache["x"], cache["gamma"], cache["std"]
    n = x.shape[0]
    if not cache["training"]:
        return gamma * dout / std, (dout * cache["xhat"]).sum(0), dout.sum(0)
    mu = x.mean(axis=0)
    dxhat = dout * gamma
    dvar = np.sum(dxhat * (x - mu), axis=0) * -0.5 * std**-3
    dmu = np.sum(-dxhat / std, axis=0) + dvar * np.mean(-2 * (x - mu), axis=0)
    dx = dxhat / std + dvar * 2 * (x - mu) / (n - 1) + dmu / n
    return dx, (dout * cache["xhat"]).sum(0), dout.sum(0)


def bn_backward_always_training(dout, cache):
    xhat, gamma, std = cache["xhat"], cache["gamma"], cache["std"]  # no look at cache["training"]
    n = dout.shape[0]
    dbeta, dgamma = dout.sum(0), (dout * xhat).sum(0)
    return gamma / (n * std) * (n * dout - dbeta - xhat * dgamma), dgamma, dbeta


@pytest.mark.parametrize(
    ("fn", "mistake"),
    [
        (bn_backward_no_gamma, "bn_back_forgets_gamma"),
        (bn_backward_constant_stats, "bn_back_stats_constant"),
        (bn_backward_dgamma_axis, "bn_back_dgamma_wrong_axis"),
        (bn_backward_dgamma_no_xhat, "bn_back_dgamma_without_xhat"),
        (bn_backward_dbeta_mean, "bn_back_dbeta_mean"),
        (bn_backward_staged_unbiased, "bn_back_unbiased_grad"),
        (bn_backward_always_training, "bn_back_eval_training_formula"),
    ],
)
@pytest.mark.parametrize("hidden", [False, True])
def test_batchnorm_backward_mistakes_are_diagnosed(fn, mistake, hidden):
    assert_rejected([bn_forward, fn], BN_BACK, mistake, hidden=hidden)


def ln_forward(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    xhat = (x - mu) / np.sqrt(var + eps)
    return gamma * xhat + beta, (xhat, gamma, np.sqrt(var + eps))


def ln_backward(dout, cache):
    xhat, gamma, std = cache
    d = dout.shape[1]
    dxhat = dout * gamma
    dx = (d * dxhat - dxhat.sum(1, keepdims=True) - xhat * (dxhat * xhat).sum(1, keepdims=True)) / (d * std)
    return dx, (dout * xhat).sum(0), dout.sum(0)


def ln_over_batch(x, gamma, beta, eps=1e-5):
    xhat = (x - x.mean(0)) / np.sqrt(x.var(0) + eps)
    return gamma * xhat + beta, None


def ln_unbiased(x, gamma, beta, eps=1e-5):
    xhat = (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, ddof=1, keepdims=True) + eps)
    return gamma * xhat + beta, None


def ln_eps_outside(x, gamma, beta, eps=1e-5):
    xhat = (x - x.mean(1, keepdims=True)) / (x.std(1, keepdims=True) + eps)
    return gamma * xhat + beta, None


def ln_swapped(x, gamma, beta, eps=1e-5):
    _, (xhat, _, _) = ln_forward(x, gamma, beta, eps)
    return beta * xhat + gamma, None


@pytest.mark.parametrize(
    ("fn", "mistake"),
    [(ln_over_batch, "ln_batch_axis"), (ln_unbiased, "ln_unbiased"), (ln_eps_outside, "ln_eps_outside_sqrt"),
     (ln_swapped, "ln_gamma_beta_swapped")],
)
@pytest.mark.parametrize("hidden", [False, True])
def test_layernorm_forward_mistakes_are_diagnosed(fn, mistake, hidden):
    assert_rejected([fn], LN, mistake, hidden=hidden)


def ln_backward_no_gamma(dout, cache):
    xhat, _, std = cache
    d = dout.shape[1]
    dx = (d * dout - dout.sum(1, keepdims=True) - xhat * (dout * xhat).sum(1, keepdims=True)) / (d * std)
    return dx, (dout * xhat).sum(0), dout.sum(0)


def ln_backward_constant_stats(dout, cache):
    xhat, gamma, std = cache
    return gamma * dout / std, (dout * xhat).sum(0), dout.sum(0)


def ln_backward_dbeta_mean(dout, cache):
    dx, dgamma, _ = ln_backward(dout, cache)
    return dx, dgamma, dout.mean(0)


def ln_backward_dgamma_axis(dout, cache):
    dx, _, dbeta = ln_backward(dout, cache)
    return dx, (dout * cache[0]).sum(1), dbeta


def ln_forward_eps_outside(x, gamma, beta, eps=1e-5):
    mu = x.mean(1, keepdims=True)
    sigma = x.std(1, keepdims=True)
    return gamma * (x - mu) / (sigma + eps) + beta, (x, gamma, mu, sigma, eps)


def ln_backward_eps_outside(dout, cache):
    # exact gradient of the eps-outside forward, by the staged chain rule
    x, gamma, mu, sigma, eps = cache
    d = x.shape[1]
    xmu = x - mu
    denom = sigma + eps
    dxhat = dout * gamma
    ddenom = -np.sum(dxhat * xmu, axis=1, keepdims=True) / denom**2
    dvar = ddenom / (2 * sigma)
    dxmu = dxhat / denom + dvar * 2 * xmu / d
    dx = dxmu - dxmu.mean(axis=1, keepdims=True)
    return dx, np.sum(dout * xmu / denom, axis=0), dout.sum(axis=0)


def ln_forward_over_batch(x, gamma, beta, eps=1e-5):
    xhat = (x - x.mean(0)) / np.sqrt(x.var(0) + eps)
    return gamma * xhat + beta, (xhat, gamma, np.sqrt(x.var(0) + eps))


def ln_backward_over_batch(dout, cache):
    xhat, gamma, std = cache
    n = dout.shape[0]
    dxhat = dout * gamma
    dx = (n * dxhat - dxhat.sum(0) - xhat * (dxhat * xhat).sum(0)) / (n * std)
    return dx, (dout * xhat).sum(0), dout.sum(0)


@pytest.mark.parametrize(
    ("fns", "mistake"),
    [
        ((ln_forward, ln_backward_no_gamma), "ln_back_forgets_gamma"),
        ((ln_forward, ln_backward_constant_stats), "ln_back_stats_constant"),
        ((ln_forward, ln_backward_dbeta_mean), "ln_back_dbeta_mean"),
        ((ln_forward, ln_backward_dgamma_axis), "ln_back_dgamma_wrong_axis"),
        ((ln_forward_eps_outside, ln_backward_eps_outside), "ln_back_eps_outside_sqrt"),
        ((ln_forward_over_batch, ln_backward_over_batch), "ln_back_batch_axis"),
    ],
)
@pytest.mark.parametrize("hidden", [False, True])
def test_layernorm_backward_mistakes_are_diagnosed(fns, mistake, hidden):
    assert_rejected(list(fns), LN_BACK, mistake, hidden=hidden)


# ---------------------------------------------------------------------------
# contract failures: clear feedback
# ---------------------------------------------------------------------------


def bn_no_cache(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    out, _, rm, rv = bn_forward(x, gamma, beta, running_mean, running_var, training, momentum, eps)
    return out, rm, rv


def bn_no_return(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    bn_forward(x, gamma, beta, running_mean, running_var, training, momentum, eps)


def bn_keepdims_running(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    out, cache, rm, rv = bn_forward(x, gamma, beta, running_mean, running_var, training, momentum, eps)
    return out, cache, rm.reshape(1, -1), rv.reshape(1, -1)


def bn_first_row_nan(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    out, cache, rm, rv = bn_forward(x, gamma, beta, running_mean, running_var, training, momentum, eps)
    result = np.full_like(out, np.nan)
    result[1:] = out[1:]  # a loop that started at 1
    return result, cache, rm, rv


def bn_raises_on_broadcast(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    mu = x.mean(axis=1)
    return (x - mu) * gamma, {}, running_mean, running_var


def bn_in_place(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    out, cache, rm, rv = bn_forward(x, gamma, beta, running_mean, running_var, training, momentum, eps)
    x -= x.mean(axis=0)
    return out, cache, rm, rv


def bn_backward_only_dx(dout, cache):
    return bn_backward(dout, cache)[0]


def bn_backward_keepdims(dout, cache):
    dx, _, _ = bn_backward(dout, cache)
    return dx, (dout * cache["xhat"]).sum(axis=0, keepdims=True), dout.sum(axis=0, keepdims=True)


def ln_backward_keepdims(dout, cache):
    dx, dgamma, _ = ln_backward(dout, cache)
    return dx, dgamma, np.sum(dout, axis=0, keepdims=True)


@pytest.mark.parametrize(
    ("fns", "against", "text"),
    [
        ([bn_no_cache], BN, "it returned a tuple of 3 values"),
        ([bn_no_return], BN, "batchnorm_forward returned None"),
        ([bn_keepdims_running], BN, "new_running_mean has shape (1, 5)"),
        ([bn_first_row_nan], BN, "out contains nan at index (0, 0)"),
        ([bn_raises_on_broadcast], BN, "batchnorm_forward raised ValueError"),
        ([bn_in_place], BN, "modified its input x"),
        ([bn_forward, bn_backward_only_dx], BN_BACK, "it returned a single array"),
        ([bn_forward, bn_backward_keepdims], BN_BACK, "dgamma has shape (1, 5) but should have shape (5,): "
         "sum(axis=0, keepdims=True) keeps a leading axis of size 1: drop keepdims or reshape"),
        ([ln_forward, ln_backward_keepdims], LN_BACK, "dbeta has shape (1, 7) but should have shape (7,): "
         "sum(axis=0, keepdims=True) keeps a leading axis of size 1"),
        ([bn_no_cache, bn_backward], BN_BACK, "batchnorm_forward must return 4 values"),
        ([bn_forward], BN_BACK, "needs 2 function(s)"),
        ([ln_forward, None], LN_BACK, "layernorm_backward should be a function"),
    ],
)
def test_contract_failures_give_clear_feedback(fns, against, text):
    for hidden in (False, True):
        assert_rejected(fns, against, match=text, hidden=hidden)


# ---------------------------------------------------------------------------
# correct implementations written differently: never rejected
# ---------------------------------------------------------------------------

BNCache = namedtuple("BNCache", "x mu var eps gamma training")


def bn_forward_loops(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    """Feature by feature, variance as E[x^2] - E[x]^2, a namedtuple cache."""
    n, d = x.shape
    out = np.empty_like(x)
    mu_all, var_all = np.empty_like(gamma), np.empty_like(gamma)
    new_mean, new_var = np.array(running_mean, copy=True), np.array(running_var, copy=True)
    for j in range(d):
        column = x[:, j]
        if training:
            mu = column.sum() / n
            var = (column**2).sum() / n - mu**2
            new_mean[j] = running_mean[j] + momentum * (mu - running_mean[j])
            new_var[j] = running_var[j] + momentum * (var * n / (n - 1) - running_var[j])
        else:
            mu, var = running_mean[j], running_var[j]
        mu_all[j], var_all[j] = mu, var
        out[:, j] = gamma[j] * (column - mu) / (var + eps) ** 0.5 + beta[j]
    return out, BNCache(x, mu_all, var_all, eps, gamma, training), new_mean, new_var


def bn_backward_staged(dout, cache):
    """The computational-graph backward (CS231n style) through mu and var."""
    x, mu, var, eps, gamma, training = cache
    n = x.shape[0]
    inv_std = 1.0 / np.sqrt(var + eps)
    xmu = x - mu
    dxhat = dout * gamma
    dgamma = np.sum(dout * xmu * inv_std, axis=0)
    dbeta = np.sum(dout, axis=0)
    if not training:
        return dxhat * inv_std, dgamma, dbeta
    dvar = np.sum(dxhat * xmu, axis=0) * -0.5 * inv_std**3
    dmu = np.sum(-dxhat * inv_std, axis=0) + dvar * np.mean(-2.0 * xmu, axis=0)
    return dxhat * inv_std + dvar * 2.0 * xmu / n + dmu / n, dgamma, dbeta


def ln_forward_transposed(x, gamma, beta, eps=1e-5):
    """Layer norm as batch norm on x.T (the columns of x.T are the samples)."""
    xt = x.T
    xhat = ((xt - xt.mean(axis=0)) / np.sqrt(xt.var(axis=0) + eps)).T
    return xhat * gamma + beta, {"xhat": xhat, "gamma": gamma, "inv_std": 1 / np.sqrt(xt.var(axis=0) + eps)}


def ln_backward_rows(dout, cache):
    """Row by row, the compact formula with means."""
    xhat, gamma, inv_std = cache["xhat"], cache["gamma"], cache["inv_std"]
    dx = np.zeros_like(dout)
    for i in range(dout.shape[0]):
        g = dout[i] * gamma
        dx[i] = inv_std[i] * (g - g.mean() - xhat[i] * np.mean(g * xhat[i]))
    return dx, np.einsum("ij,ij->j", dout, xhat), dout.sum(axis=0)


@pytest.mark.parametrize(
    ("fns", "against"),
    [
        ([bn_forward], BN),
        ([bn_forward_loops], BN),
        ([bn_forward, bn_backward], BN_BACK),
        ([bn_forward_loops, bn_backward_staged], BN_BACK),
        ([ln_forward], LN),
        ([ln_forward_transposed], LN),
        ([ln_forward, ln_backward], LN_BACK),
        ([ln_forward_transposed, ln_backward_rows], LN_BACK),
    ],
)
def test_correct_alternatives_are_accepted(fns, against):
    assert_accepted(fns, against)


def test_float32_stays_float32_and_passes():
    # a student who keeps float32 end to end (no float64 constants sneaking in) is judged with the float32 tolerance
    def bn32(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
        out, cache, rm, rv = bn_forward(x, gamma, beta, running_mean, running_var, training, momentum, eps)
        return out.astype(x.dtype), cache, rm.astype(x.dtype), rv.astype(x.dtype)

    assert_accepted([bn32], BN)
