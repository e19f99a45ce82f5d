"""Checks for batch norm and layer norm, forward and backward (``norm.*``).

What the student writes, for x of shape (N, D) (the exercise's layout):

    batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5)
        -> (out, cache, new_running_mean, new_running_var)
    batchnorm_backward(dout, cache) -> (dx, dgamma, dbeta)
    layernorm_forward(x, gamma, beta, eps=1e-5) -> (out, cache)
    layernorm_backward(dout, cache) -> (dx, dgamma, dbeta)

Conventions are the reference's (torch's): the batch is normalized with the
biased variance, the running variance is updated with the unbiased one, and
momentum weights the new batch statistic.  The cache is the student's own and
is never compared: a backward check passes the cache of the student's own
forward to their backward, since that pairing is the contract.  ``training``
is passed positionally, ``momentum`` and ``eps`` by name (and left out in
some trials, to check the defaults).

The catalogue's wrong variants come from one parameterized implementation
(:func:`_batchnorm_variant`, :func:`_layernorm_variant`,
:func:`_norm_backward_variant`), each knob one classic mistake, so that every
variant is the correct computation except for that one error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dlcourse import norm as N
from dlcourse.grading._core import Mistake, Target, Trial
from dlcourse.grading.topics._common import FLOAT32_TOLERANCE, expect_values

_BN_FORWARD_RESULT = ("out", "cache", "new_running_mean", "new_running_var")
_LN_FORWARD_RESULT = ("out", "cache")
_BACKWARD_RESULT = ("dx", "dgamma", "dbeta")


# ---------------------------------------------------------------------------
# wrong variants: the correct computation with one knob turned
# ---------------------------------------------------------------------------


def _standardize(x: np.ndarray, mean: np.ndarray, var: np.ndarray, eps: float, eps_outside: bool) -> dict[str, Any]:
    """xhat = (x - mean) / denom with denom = sqrt(var + eps) (or sqrt(var) + eps), and what backward needs."""
    centered = x - mean
    # root is the square root whose derivative w.r.t. var is 1 / (2 root)
    root = np.sqrt(var) if eps_outside else np.sqrt(var + eps)
    denom = root + eps if eps_outside else root
    return {"xhat": centered / denom, "centered": centered, "denom": denom, "root": root}


def _affine(xhat: np.ndarray, gamma: np.ndarray, beta: np.ndarray, swap: bool) -> np.ndarray:
    return beta * xhat + gamma if swap else gamma * xhat + beta


def _batchnorm_variant(
    *,
    ddof: int = 0,
    running_ddof: int = 1,
    batch_stats_in_eval: bool = False,
    update_in_training: bool = True,
    update_in_eval: bool = False,
    keras_momentum: bool = False,
    eps_outside: bool = False,
    swap_affine: bool = False,
    default_momentum: float = 0.1,
) -> Callable[..., Any]:
    """A batch-norm forward for (N, D) inputs; the defaults give the correct one."""

    def forward(x, gamma, beta, running_mean, running_var, training, momentum=default_momentum, eps=1e-5):
        m = x.shape[0]
        batch_mean = x.mean(axis=0)
        sum_sq = ((x - batch_mean) ** 2).sum(axis=0)
        if training or batch_stats_in_eval:
            parts = _standardize(x, batch_mean, sum_sq / (m - ddof), eps, eps_outside)
        else:
            parts = _standardize(x, running_mean, running_var, eps, eps_outside)
        new_mean, new_var = running_mean.copy(), running_var.copy()
        if update_in_training if training else update_in_eval:
            new_weight = 1 - momentum if keras_momentum else momentum
            new_mean = (1 - new_weight) * running_mean + new_weight * batch_mean
            with np.errstate(divide="ignore", invalid="ignore"):  # N = 1 in eval: nan, as the student's
                new_var = (1 - new_weight) * running_var + new_weight * sum_sq / (m - running_ddof)
        cache = dict(parts, gamma=gamma, axis=0, ddof=ddof, batch_stats=bool(training or batch_stats_in_eval))
        return _affine(parts["xhat"], gamma, beta, swap_affine), cache, new_mean, new_var

    return forward


def _layernorm_variant(*, axis: int = 1, ddof: int = 0, eps_outside: bool = False,
                       swap_affine: bool = False) -> Callable[..., Any]:
    """A layer-norm forward for (N, D) inputs; ``axis=0`` normalizes over the batch instead."""

    def forward(x, gamma, beta, eps=1e-5):
        mean = x.mean(axis=axis, keepdims=True)
        var = ((x - mean) ** 2).sum(axis=axis, keepdims=True) / (x.shape[axis] - ddof)
        parts = _standardize(x, mean, var, eps, eps_outside)
        cache = dict(parts, gamma=gamma, axis=axis, ddof=ddof, batch_stats=True)
        return _affine(parts["xhat"], gamma, beta, swap_affine), cache

    return forward


def _norm_backward_variant(
    *,
    gamma_in_dx: bool = True,
    stats_constant: bool = False,
    grad_ddof: int | None = None,
    dgamma_axis: int = 0,
    dgamma_without_xhat: bool = False,
    dbeta_mean: bool = False,
    training_formula_in_eval: bool = False,
    staged: bool = False,
) -> Callable[..., Any]:
    """Backward of the variants above (their dict cache); the defaults give the correct gradients.

    With c = x - mean, xhat = c / denom, var = sum c^2 / (m - ddof) over the
    normalized axis and dxhat = gamma * dout, the chain rule through the
    statistics is
        dvar  = -sum(dxhat * c) / (2 denom^2 root)
        dmean = -sum(dxhat) / denom + dvar * sum(-2 c) / (m - ddof)
        dx    = dxhat / denom + dvar * 2 c / (m - ddof) + dmean / m.
    The second term of dmean vanishes when mean is the batch mean (sum c = 0);
    ``staged`` keeps it for a student who applies this staged form in eval
    mode, where c = x - running_mean.
    """

    def backward(dout, cache):
        xhat, gamma, c, denom, root, axis = (cache[k] for k in ("xhat", "gamma", "centered", "denom", "root", "axis"))
        dbeta = dout.mean(axis=0) if dbeta_mean else dout.sum(axis=0)
        dgamma = (dout if dgamma_without_xhat else dout * xhat).sum(axis=dgamma_axis)
        dxhat = dout * gamma if gamma_in_dx else dout
        if stats_constant or not (cache["batch_stats"] or training_formula_in_eval):
            return dxhat / denom, dgamma, dbeta
        m = dout.shape[axis]
        spread = m - (cache["ddof"] if grad_ddof is None else grad_ddof)
        dvar = -(dxhat * c).sum(axis=axis, keepdims=True) / (2 * denom**2 * root)
        dmean = -dxhat.sum(axis=axis, keepdims=True) / denom
        if staged:
            dmean = dmean + dvar * (-2 * c).sum(axis=axis, keepdims=True) / spread
        return dxhat / denom + dvar * 2 * c / spread + dmean / m, dgamma, dbeta

    return backward


# ---------------------------------------------------------------------------
# trials
# ---------------------------------------------------------------------------


def _parameters(rng: np.random.Generator, d: int, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    # |gamma| in [1.5, 2.5], both signs: far from 1 (a forgotten gamma shows) and unlike beta (a swap shows)
    gamma = rng.uniform(1.5, 2.5, d) * rng.choice([-1.0, 1.0], d)
    beta = rng.uniform(-1.0, 1.0, d)
    return gamma.astype(dtype), beta.astype(dtype)


# (label, N, D, training, scale, offset, hyperparameters, dtype)
# Offsets stay within ~3 spreads of the data so that var = E[x^2] - E[x]^2 (equivalent algebra)
# keeps ~1e-12 relative accuracy in float64 and passes; eps=1e-2 with spread 0.1 (var ~ 1e-2),
# and spread 1e-3 with the default eps, make eps inside vs outside the sqrt differ by > 10%.
_BN_VISIBLE = [
    ("training on an odd batch of 3, 5 features, default momentum and eps", 3, 5, True, 2.0, 1.0, {}, np.float64),
    ("training on a batch of 2 with small values, momentum=0.3, eps=1e-2", 2, 5, True, 0.1, 0.0,
     {"momentum": 0.3, "eps": 1e-2}, np.float64),
    ("inference (training=False) on a batch of 64 with large values", 64, 5, False, 20.0, 50.0, {}, np.float64),
    ("training on a batch of 64 with one feature and large values", 64, 1, True, 20.0, 50.0, {}, np.float64),
]
_BN_HIDDEN = [
    ("inference on a batch of one sample", 1, 5, False, 1.0, 0.5, {}, np.float64),
    ("inference on an odd batch of 3, momentum=0.3, eps=1e-2", 3, 1, False, 1.0, 0.0,
     {"momentum": 0.3, "eps": 1e-2}, np.float64),
    ("training on tiny values (spread 1e-3) with the default eps", 7, 3, True, 1e-3, 0.0, {}, np.float64),
    ("training on huge values (spread 1e3)", 64, 5, True, 1e3, 3e3, {"momentum": 0.05}, np.float64),
    ("training on a batch of 2 with one feature, momentum=0.3", 2, 1, True, 1.0, 0.0, {"momentum": 0.3}, np.float64),
    ("training on a (33, 17) batch, eps=1e-3", 33, 17, True, 3.0, -2.0, {"eps": 1e-3}, np.float64),
    ("training on float32 inputs", 16, 4, True, 1.0, 0.0, {}, np.float32),
    ("inference on float32 inputs", 5, 4, False, 1.0, 0.0, {}, np.float32),
]


def _trial(rng: np.random.Generator, label: str, args: list[tuple[str, Any]], hyper: dict[str, Any],
           with_dout: bool) -> Trial:
    """A trial of ``args`` (x first) and, when ``with_dout``, an upstream gradient ``dout`` shaped like x."""
    x = args[0][1]
    if with_dout:
        args = [*args, ("dout", rng.standard_normal(x.shape).astype(x.dtype))]
    return Trial(label, args, dict(hyper), tolerance=FLOAT32_TOLERANCE if x.dtype == np.float32 else None)


def _batchnorm_trials(with_dout: bool) -> Callable[[np.random.Generator, bool], list[Trial]]:
    def trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
        built = []
        for label, n, d, training, scale, offset, hyper, dtype in _BN_VISIBLE + (_BN_HIDDEN if hidden else []):
            x = (offset + scale * rng.standard_normal((n, d))).astype(dtype)
            gamma, beta = _parameters(rng, d, dtype)
            # running statistics near, but not at, the batch's: eval with batch statistics shows
            running_mean = (offset + 0.5 * scale * rng.standard_normal(d)).astype(dtype)
            running_var = (scale**2 * rng.uniform(0.5, 2.0, d)).astype(dtype)
            args = [("x", x), ("gamma", gamma), ("beta", beta), ("running_mean", running_mean),
                    ("running_var", running_var), ("training", training)]
            built.append(_trial(rng, label, args, hyper, with_dout))
        return built

    return trials


# (label, N, D, scale, offset, hyperparameters, dtype); same reasoning as the batch-norm table
_LN_VISIBLE = [
    ("an odd batch of 3 samples with 7 features", 3, 7, 2.0, 1.0, {}, np.float64),
    ("a batch of one sample with small values, eps=1e-2", 1, 6, 0.1, 0.0, {"eps": 1e-2}, np.float64),
    ("a (4, 5) batch of large values", 4, 5, 20.0, 50.0, {}, np.float64),
]
_LN_HIDDEN = [
    ("tiny values (spread 1e-3) with the default eps", 5, 4, 1e-3, 0.0, {}, np.float64),
    ("huge values (spread 1e3)", 6, 9, 1e3, 2e3, {}, np.float64),
    ("two features per sample", 7, 2, 1.0, 0.0, {"eps": 1e-3}, np.float64),
    ("a (64, 33) batch", 64, 33, 3.0, 0.0, {}, np.float64),
    ("float32 inputs", 8, 5, 1.0, 0.0, {}, np.float32),
]


def _layernorm_trials(with_dout: bool) -> Callable[[np.random.Generator, bool], list[Trial]]:
    def trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
        built = []
        for label, n, d, scale, offset, hyper, dtype in _LN_VISIBLE + (_LN_HIDDEN if hidden else []):
            # a per-feature offset too, so that normalizing over the wrong axis differs
            x = (offset + scale * (rng.standard_normal((n, d)) + rng.standard_normal(d))).astype(dtype)
            gamma, beta = _parameters(rng, d, dtype)
            built.append(_trial(rng, label, [("x", x), ("gamma", gamma), ("beta", beta)], hyper, with_dout))
        return built

    return trials


# ---------------------------------------------------------------------------
# observables
# ---------------------------------------------------------------------------


def _observe_batchnorm_forward(call: Any, trial: Trial) -> dict[str, Any]:
    out, _, new_mean, new_var = expect_values(call("batchnorm_forward", trial.args, trial.kwargs),
                                              "batchnorm_forward", _BN_FORWARD_RESULT)
    return {"out": out, "new_running_mean": new_mean, "new_running_var": new_var}


def _observe_layernorm_forward(call: Any, trial: Trial) -> dict[str, Any]:
    out, _ = expect_values(call("layernorm_forward", trial.args, trial.kwargs), "layernorm_forward", _LN_FORWARD_RESULT)
    return {"out": out}


def _observe_backward(layer: str, forward_result: Sequence[str]) -> Callable[[Any, Trial], dict[str, Any]]:
    """The student's backward applied to the cache of the student's own forward (the last arg is dout)."""
    forward_role, backward_role = f"{layer}_forward", f"{layer}_backward"

    def observe(call: Any, trial: Trial) -> dict[str, Any]:
        *forward_args, dout = trial.args
        result = expect_values(call(forward_role, forward_args, trial.kwargs), forward_role, forward_result)
        grads = call(backward_role, [dout, ("cache", result[1])])
        dx, dgamma, dbeta = expect_values(grads, backward_role, _BACKWARD_RESULT)
        return {"dx": dx, "dgamma": dgamma, "dbeta": dbeta}

    return observe


# ---------------------------------------------------------------------------
# catalogues: (id, one sentence with the fix, the wrong functions, one per role)
# ---------------------------------------------------------------------------

_KERAS = ("momentum is the weight of the NEW batch statistic (torch's convention): running = (1 - momentum) * "
          "running + momentum * batch; you used the Keras form momentum * running + (1 - momentum) * batch")
_BIASED_AND_KERAS = ("Two Keras conventions where the exercise uses torch's: update running_var with the UNBIASED "
                     f"batch variance, var * N / (N - 1), not the biased one, and {_KERAS}")

_BN_FORWARD_MISTAKES = [
    ("bn_unbiased_normalize", "Normalize the batch with the biased variance (divide by N, np.var's default); the "
     "unbiased 1/(N - 1) variance is only for updating running_var.", (_batchnorm_variant(ddof=1),)),
    ("bn_running_var_biased", "Update running_var with the unbiased batch variance, var * N / (N - 1), as torch "
     "does; you used the biased one.", (_batchnorm_variant(running_ddof=0),)),
    ("bn_eval_batch_stats", "With training=False normalize with running_mean and running_var, not with the "
     "statistics of the batch.", (_batchnorm_variant(batch_stats_in_eval=True),)),
    ("bn_ignores_training", "Use the training flag: with training=False normalize with the running statistics "
     "and return them unchanged; you always used and updated the batch statistics.",
     (_batchnorm_variant(batch_stats_in_eval=True, update_in_eval=True),)),
    ("bn_keras_momentum", f"{_KERAS}.", (_batchnorm_variant(keras_momentum=True),)),
    ("bn_keras_momentum_default", f"{_KERAS}, and the default momentum is 0.1.",
     (_batchnorm_variant(keras_momentum=True, default_momentum=0.9),)),
    # both Keras conventions at once (also CS231n's running averages): neither entry alone reproduces them
    ("bn_running_var_biased_keras_momentum", f"{_BIASED_AND_KERAS}.",
     (_batchnorm_variant(running_ddof=0, keras_momentum=True),)),
    ("bn_running_var_biased_keras_momentum_default", f"{_BIASED_AND_KERAS}, and the default momentum is 0.1.",
     (_batchnorm_variant(running_ddof=0, keras_momentum=True, default_momentum=0.9),)),
    ("bn_eps_outside_sqrt", "Add eps inside the square root: divide by sqrt(var + eps), not sqrt(var) + eps.",
     (_batchnorm_variant(eps_outside=True),)),
    ("bn_no_running_update", "In training mode also return the updated running statistics, "
     "(1 - momentum) * running + momentum * batch statistic; you returned them unchanged.",
     (_batchnorm_variant(update_in_training=False),)),
    ("bn_eval_updates_running", "With training=False return running_mean and running_var unchanged; only "
     "training updates them.", (_batchnorm_variant(update_in_eval=True),)),
    ("bn_gamma_beta_swapped", "The output is gamma * xhat + beta (gamma scales, beta shifts); you swapped them.",
     (_batchnorm_variant(swap_affine=True),)),
]

_BN, _LN, _BACK = _batchnorm_variant(), _layernorm_variant(), _norm_backward_variant()

_BN_BACKWARD_MISTAKES = [
    ("bn_back_forgets_gamma", "out = gamma * xhat + beta, so dx carries a factor gamma: start from "
     "dxhat = gamma * dout.", (_BN, _norm_backward_variant(gamma_in_dx=False))),
    ("bn_back_stats_constant", "In training mode the mean and variance depend on x: dx = gamma / (N * std) * "
     "(N * dout - sum(dout) - xhat * sum(dout * xhat)), not gamma * dout / std (that is the eval-mode "
     "gradient).", (_BN, _norm_backward_variant(stats_constant=True))),
    ("bn_back_dgamma_without_xhat", "dgamma = sum over the batch of dout * xhat; you left out xhat.",
     (_BN, _norm_backward_variant(dgamma_without_xhat=True))),
    ("bn_back_dgamma_wrong_axis", "gamma has one value per feature, so dgamma sums dout * xhat over the batch "
     "axis 0, not over the features.", (_BN, _norm_backward_variant(dgamma_axis=1))),
    ("bn_back_dbeta_mean", "dbeta is the SUM of dout over the batch (every sample adds its gradient), not the "
     "mean.", (_BN, _norm_backward_variant(dbeta_mean=True))),
    ("bn_back_unbiased_grad", "The forward pass uses the biased variance sum((x - mu)^2) / N, so its derivative "
     "is 2 (x - mu) / N, not 2 (x - mu) / (N - 1).", (_BN, _norm_backward_variant(grad_ddof=1))),
    ("bn_back_unbiased_forward", "Your forward normalizes with the unbiased variance: use the biased one "
     "(divide by N) in the forward pass, then the gradients follow.", (_batchnorm_variant(ddof=1), _BACK)),
    ("bn_back_eval_training_formula", "With training=False the running statistics are constants, so dx = gamma "
     "* dout / sqrt(running_var + eps); the batch-statistics formula is for training only.",
     (_BN, _norm_backward_variant(training_formula_in_eval=True))),
    ("bn_back_eval_training_formula_staged", "With training=False the running statistics are constants, so dx "
     "= gamma * dout / sqrt(running_var + eps); the batch-statistics formula is for training only.",
     (_BN, _norm_backward_variant(training_formula_in_eval=True, staged=True))),
]

_LN_FORWARD_MISTAKES = [
    ("ln_batch_axis", "Layer norm standardizes each sample over its features (axis=1, keepdims=True), not each "
     "feature over the batch (that is batch norm).", (_layernorm_variant(axis=0),)),
    ("ln_unbiased", "Use the biased variance (divide by D, np.var's default), as torch's LayerNorm does.",
     (_layernorm_variant(ddof=1),)),
    ("ln_eps_outside_sqrt", "Add eps inside the square root: divide by sqrt(var + eps), not sqrt(var) + eps.",
     (_layernorm_variant(eps_outside=True),)),
    ("ln_gamma_beta_swapped", "The output is gamma * xhat + beta (gamma scales, beta shifts); you swapped them.",
     (_layernorm_variant(swap_affine=True),)),
]

_LN_BACKWARD_MISTAKES = [
    ("ln_back_forgets_gamma", "out = gamma * xhat + beta, so dx carries a factor gamma: start from "
     "dxhat = gamma * dout.", (_LN, _norm_backward_variant(gamma_in_dx=False))),
    ("ln_back_stats_constant", "Each sample's mean and variance depend on its x: dx = (dxhat - mean(dxhat) - "
     "xhat * mean(dxhat * xhat)) / std with means over the features and dxhat = gamma * dout, not dxhat / std.",
     (_LN, _norm_backward_variant(stats_constant=True))),
    ("ln_back_batch_axis", "Layer norm standardizes each sample over its features (axis=1): the forward and "
     "backward means run over axis 1, not over the batch.", (_layernorm_variant(axis=0), _BACK)),
    ("ln_back_unbiased_grad", "The forward pass uses the biased variance sum((x - mu)^2) / D, so its derivative "
     "is 2 (x - mu) / D, not 2 (x - mu) / (D - 1).", (_LN, _norm_backward_variant(grad_ddof=1))),
    ("ln_back_unbiased_forward", "Your forward normalizes with the unbiased variance: use the biased one "
     "(divide by D) in the forward pass, then the gradients follow.", (_layernorm_variant(ddof=1), _BACK)),
    ("ln_back_eps_outside_sqrt", "Your forward divides by sqrt(var) + eps: add eps inside the square root, "
     "sqrt(var + eps), then the gradients follow.", (_layernorm_variant(eps_outside=True), _BACK)),
    ("ln_back_dgamma_wrong_axis", "gamma has one value per feature, so dgamma sums dout * xhat over the batch "
     "axis 0, not over the features.", (_LN, _norm_backward_variant(dgamma_axis=1))),
    ("ln_back_dbeta_mean", "dbeta is the SUM of dout over the batch (every sample adds its gradient), not the "
     "mean.", (_LN, _norm_backward_variant(dbeta_mean=True))),
]


def _norm_target(name: str, roles: tuple[str, ...], reference: tuple[Callable[..., Any], ...],
                 trials: Callable[[np.random.Generator, bool], list[Trial]],
                 observe: Callable[[Any, Trial], dict[str, Any]], mistakes: Sequence[tuple[str, str, tuple]],
                 what: str) -> Target:
    return Target(name=name, roles=roles, reference=reference, trials=trials, observe=observe,
                  mistakes=tuple(Mistake(mistake, message, impl) for mistake, message, impl in mistakes), what=what)


TARGETS: tuple[Target, ...] = (
    _norm_target("norm.batchnorm_forward", ("batchnorm_forward",), (N.batchnorm_forward,),
                 _batchnorm_trials(with_dout=False), _observe_batchnorm_forward, _BN_FORWARD_MISTAKES,
                 "batches in training and inference mode"),
    _norm_target("norm.batchnorm_backward", ("batchnorm_forward", "batchnorm_backward"),
                 (N.batchnorm_forward, N.batchnorm_backward), _batchnorm_trials(with_dout=True),
                 _observe_backward("batchnorm", _BN_FORWARD_RESULT), _BN_BACKWARD_MISTAKES,
                 "gradients in training and inference mode"),
    _norm_target("norm.layernorm_forward", ("layernorm_forward",), (N.layernorm_forward,),
                 _layernorm_trials(with_dout=False), _observe_layernorm_forward, _LN_FORWARD_MISTAKES, "batches"),
    _norm_target("norm.layernorm_backward", ("layernorm_forward", "layernorm_backward"),
                 (N.layernorm_forward, N.layernorm_backward), _layernorm_trials(with_dout=True),
                 _observe_backward("layernorm", _LN_FORWARD_RESULT), _LN_BACKWARD_MISTAKES, "gradients"),
)
