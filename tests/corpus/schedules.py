"""Student implementations of the learning-rate schedules (problem set 3) and gradient clipping (problem set 5).

Written from the exercise text and the reference docstrings' conventions, the way students write them.
Not built from the mistake catalogue's code.
"""

import math

import numpy as np

from corpus import Correct, Wrong

# ---------------------------------------------------------------------------------------------------------
# schedules.step_decay: step_decay_lr(step, lr, step_size, gamma=0.1), torch's StepLR
# ---------------------------------------------------------------------------------------------------------


def step_decay_lr_fractional(step, lr, step_size, gamma=0.1):
    return lr * gamma ** (step / step_size)


def step_decay_lr_plus_one(step, lr, step_size, gamma=0.1):
    n_decays = (step + 1) // step_size  # number of periods done
    return float(lr * gamma**n_decays)


def step_decay_lr_ceil(step, lr, step_size, gamma=0.1):
    k = math.ceil(step / step_size)
    return lr * gamma**k


def step_decay_lr_single_drop(step, lr, step_size, gamma=0.1):
    if step >= step_size:
        return lr * gamma
    return lr


def step_decay_lr_gamma_tenth(step, lr, step_size, gamma=0.1):
    # divide by 10 every step_size steps
    return lr / 10 ** (step // step_size)


def step_decay_lr_loop(step, lr, step_size, gamma=0.1):
    rate = lr
    for k in range(1, step + 1):
        if k % step_size == 0:  # a period just ended
            rate *= gamma
    return float(rate)


def step_decay_lr_divmod(step, lr, step_size, gamma=0.1):
    periods, _ = divmod(step, step_size)
    return lr * math.pow(gamma, periods)


# ---------------------------------------------------------------------------------------------------------
# schedules.linear_decay: linear_decay_lr(step, lr, final_lr, tau)
# ---------------------------------------------------------------------------------------------------------


def linear_decay_lr_no_tail(step, lr, final_lr, tau):
    alpha = step / tau
    return (1 - alpha) * lr + alpha * final_lr


def linear_decay_lr_to_zero(step, lr, final_lr, tau):
    if step >= tau:
        return 0.0
    return lr * (1 - step / tau)


def linear_decay_lr_plus_one(step, lr, final_lr, tau):
    alpha = min((step + 1) / tau, 1.0)
    return (1 - alpha) * lr + alpha * final_lr


def linear_decay_lr_alpha_swapped(step, lr, final_lr, tau):
    a = min(step, tau) / tau
    return a * lr + (1 - a) * final_lr


def linear_decay_lr_interp(step, lr, final_lr, tau):
    frac = min(1.0, step / tau)
    return lr + (final_lr - lr) * frac  # walk from lr to final_lr


def linear_decay_lr_branches(step, lr, final_lr, tau):
    if step > tau:
        return float(final_lr)
    alpha = step / tau
    eta = (1.0 - alpha) * lr + alpha * final_lr
    return float(eta)


# ---------------------------------------------------------------------------------------------------------
# schedules.warmup_cosine: warmup_cosine_lr(step, lr, warmup_steps, total_steps, min_lr=0.0)
# ---------------------------------------------------------------------------------------------------------


def warmup_cosine_lr_warmup_plus_one(step, lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps  # so that the first step is not 0
    p = min((step - warmup_steps) / (total_steps - warmup_steps), 1.0)
    return min_lr + (lr - min_lr) * (1 + math.cos(math.pi * p)) / 2


def warmup_cosine_lr_no_ramp(step, lr, warmup_steps, total_steps, min_lr=0.0):
    p = max(0.0, min((step - warmup_steps) / (total_steps - warmup_steps), 1.0))
    return min_lr + (lr - min_lr) * (1 + math.cos(math.pi * p)) / 2


def warmup_cosine_lr_progress_from_zero(step, lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return lr * step / warmup_steps
    progress = min(step / total_steps, 1.0)
    return min_lr + (lr - min_lr) * 0.5 * (1 + math.cos(math.pi * progress))


def warmup_cosine_lr_divides_by_total(step, lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return lr * step / warmup_steps
    progress = min((step - warmup_steps) / total_steps, 1.0)
    return min_lr + (lr - min_lr) * 0.5 * (1 + math.cos(math.pi * progress))


def warmup_cosine_lr_unclamped(step, lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return lr * step / warmup_steps
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return min_lr + (lr - min_lr) * 0.5 * (1 + math.cos(math.pi * progress))


def warmup_cosine_lr_to_zero(step, lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return lr * step / warmup_steps
    progress = min((step - warmup_steps) / (total_steps - warmup_steps), 1.0)
    return lr * 0.5 * (1 + math.cos(math.pi * progress))


def warmup_cosine_lr_min_plus_full(step, lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return lr * step / warmup_steps
    progress = min((step - warmup_steps) / (total_steps - warmup_steps), 1.0)
    return min_lr + lr * 0.5 * (1 + math.cos(math.pi * progress))


def warmup_cosine_lr_peak_early(step, lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        # last warm-up step should already reach lr
        return lr * step / (warmup_steps - 1)
    progress = min((step - warmup_steps) / (total_steps - warmup_steps), 1.0)
    return min_lr + (lr - min_lr) * 0.5 * (1 + math.cos(math.pi * progress))


def warmup_cosine_lr_cos_squared(step, lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return lr * step / warmup_steps
    T = total_steps - warmup_steps
    p = min(step - warmup_steps, T) / T
    # (1 + cos(pi p)) / 2 = cos(pi p / 2)^2
    return min_lr + (lr - min_lr) * math.cos(math.pi * p / 2) ** 2


def warmup_cosine_lr_phases(step, lr, warmup_steps, total_steps, min_lr=0.0):
    if warmup_steps > 0 and step < warmup_steps:
        frac = step / warmup_steps
        return float(frac * lr)
    if step >= total_steps:
        return float(min_lr)
    elapsed = step - warmup_steps
    length = total_steps - warmup_steps
    cosine = 0.5 * (1.0 + math.cos(math.pi * elapsed / length))
    return float(min_lr + (lr - min_lr) * cosine)


# ---------------------------------------------------------------------------------------------------------
# schedules.clip_grad_norm: clip_grad_norm(grads, max_norm) -> (clipped list, total norm before clipping)
# ---------------------------------------------------------------------------------------------------------


def clip_grad_norm_each_array(grads, max_norm):
    out = []
    norms = []
    for g in grads:
        n = np.linalg.norm(g)
        norms.append(n)
        out.append(g * min(1.0, max_norm / (n + 1e-6)))
    total = math.sqrt(sum(float(n) ** 2 for n in norms))
    return out, total


def clip_grad_norm_always_scale(grads, max_norm):
    total = math.sqrt(sum(float(np.sum(g**2)) for g in grads))
    scale = max_norm / (total + 1e-6)
    return [g * scale for g in grads], total


def clip_grad_norm_norm_after(grads, max_norm):
    total = math.sqrt(sum(float(np.sum(g**2)) for g in grads))
    scale = min(1.0, max_norm / (total + 1e-6))
    clipped = [g * scale for g in grads]
    total = math.sqrt(sum(float(np.sum(c**2)) for c in clipped))  # norm of what we return
    return clipped, total


def clip_grad_norm_exact(grads, max_norm):
    total = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
    if total > max_norm:
        return [g * (max_norm / total) for g in grads], total
    return [g.copy() for g in grads], total


def clip_grad_norm_sum_norms(grads, max_norm):
    total = 0.0
    for g in grads:
        total += float(np.linalg.norm(g))
    scale = min(1.0, max_norm / (total + 1e-6))
    return [g * scale for g in grads], total


def clip_grad_norm_in_place(grads, max_norm):
    total = math.sqrt(sum(float(np.sum(g**2)) for g in grads))
    scale = min(1.0, max_norm / (total + 1e-6))
    for g in grads:
        g *= scale  # like torch's clip_grad_norm_
    return list(grads), total


def clip_grad_norm_float64_sum(grads, max_norm):
    # accumulate in float64 for precision
    total = np.sqrt(sum(np.sum(np.asarray(g, dtype=np.float64) ** 2) for g in grads))
    scale = min(1.0, max_norm / (total + 1e-6))
    return [g * scale for g in grads], float(total)


def clip_grad_norm_concat(grads, max_norm):
    flat = np.concatenate([np.ravel(g) for g in grads])
    total_norm = float(np.linalg.norm(flat))
    clip_coef = max_norm / (total_norm + 1e-6)
    if clip_coef > 1:
        clip_coef = 1.0
    return [g * clip_coef for g in grads], total_norm


def clip_grad_norm_loops(grads, max_norm):
    sq = 0.0
    for g in grads:
        for x in np.ravel(g):
            sq += float(x) * float(x)
    norm = math.sqrt(sq)
    factor = min(1.0, max_norm / (norm + 1e-6))
    new = []
    for g in grads:
        h = g.copy()
        h *= factor
        new.append(h)
    return new, norm


# ---------------------------------------------------------------------------------------------------------
# schedules.clip_grad_value: clip_grad_value(grads, clip_value) -> clipped list
# ---------------------------------------------------------------------------------------------------------


def clip_grad_value_upper(grads, clip_value):
    return [np.minimum(g, clip_value) for g in grads]


def clip_grad_value_abs(grads, clip_value):
    result = []
    for g in grads:
        # anything larger than clip_value in size becomes clip_value
        result.append(np.where(np.abs(g) > clip_value, clip_value, g))
    return result


def clip_grad_value_scale(grads, clip_value):
    out = []
    for g in grads:
        biggest = np.max(np.abs(g))
        if biggest > clip_value:
            g = g * (clip_value / biggest)  # shrink so the largest entry is clip_value
        out.append(g)
    return out


def clip_grad_value_out_param(grads, clip_value):
    for g in grads:
        np.clip(g, -clip_value, clip_value, out=g)
    return grads


def clip_grad_value_threshold_fixed(grads, clip_value):
    c = 1.0  # clip at 1
    return [np.clip(g, -c, c) for g in grads]


def clip_grad_value_astype_float(grads, clip_value):
    # make sure they are floats
    return [np.clip(np.asarray(g).astype(float), -clip_value, clip_value) for g in grads]


def clip_grad_value_min_max(grads, clip_value):
    return [np.minimum(np.maximum(g, -clip_value), clip_value) for g in grads]


def clip_grad_value_sign_where(grads, clip_value):
    clipped = []
    for g in grads:
        too_big = np.abs(g) > clip_value
        clipped.append(np.where(too_big, np.sign(g) * clip_value, g).astype(g.dtype))
    return clipped


def clip_grad_value_masks(grads, clip_value):
    out = []
    for g in grads:
        h = np.array(g, copy=True)
        h[h > clip_value] = clip_value
        h[h < -clip_value] = -clip_value
        out.append(h)
    return out


# ---------------------------------------------------------------------------------------------------------
# the entries
# ---------------------------------------------------------------------------------------------------------


def _w(target, function, names, what):
    return Wrong(target, (function,), frozenset(names), what)


def _c(target, function, what):
    return Correct(target, (function,), what)


WRONG = [
    # schedules.step_decay
    _w("schedules.step_decay", step_decay_lr_fractional, {"step_decay_float_exponent"},
       "exponent step / step_size, a smooth exponential decay"),
    _w("schedules.step_decay", step_decay_lr_plus_one, {"step_decay_off_by_one", "off_by_one_step"},
       "(step + 1) // step_size: every drop one step early"),
    _w("schedules.step_decay", step_decay_lr_ceil, {"step_decay_ceil"}, "ceil(step / step_size)"),
    _w("schedules.step_decay", step_decay_lr_single_drop, {"step_decay_once"}, "multiplies by gamma only once"),
    _w("schedules.step_decay", step_decay_lr_gamma_tenth, {"ignored:gamma"}, "gamma hard-coded to 1/10"),
    # schedules.linear_decay
    _w("schedules.linear_decay", linear_decay_lr_no_tail, {"linear_decay_no_hold"},
       "keeps decaying after tau (no constant tail)"),
    _w("schedules.linear_decay", linear_decay_lr_to_zero, {"linear_decay_to_zero", "ignored:final_lr"},
       "decays to 0, final_lr never used"),
    _w("schedules.linear_decay", linear_decay_lr_plus_one, {"linear_decay_off_by_one", "off_by_one_step"},
       "alpha = (step + 1) / tau"),
    _w("schedules.linear_decay", linear_decay_lr_alpha_swapped, {"linear_decay_swapped"},
       "alpha and 1 - alpha swapped: goes from final_lr up to lr"),
    # schedules.warmup_cosine
    _w("schedules.warmup_cosine", warmup_cosine_lr_warmup_plus_one,
       {"warmup_cosine_warmup_off_by_one", "off_by_one_step"}, "warm-up lr * (step + 1) / warmup_steps"),
    _w("schedules.warmup_cosine", warmup_cosine_lr_no_ramp, {"warmup_cosine_no_warmup"},
       "constant lr during the warm-up"),
    _w("schedules.warmup_cosine", warmup_cosine_lr_progress_from_zero, {"warmup_cosine_progress_not_shifted"},
       "cosine progress step / total_steps, not shifted by the warm-up"),
    _w("schedules.warmup_cosine", warmup_cosine_lr_divides_by_total, {"warmup_cosine_length_includes_warmup"},
       "cosine length total_steps instead of total_steps - warmup_steps"),
    _w("schedules.warmup_cosine", warmup_cosine_lr_unclamped, {"warmup_cosine_not_clamped"},
       "progress not clamped: the rate rises again after total_steps"),
    _w("schedules.warmup_cosine", warmup_cosine_lr_to_zero, {"warmup_cosine_min_lr_ignored", "ignored:min_lr"},
       "cosine decays to 0, min_lr never used"),
    _w("schedules.warmup_cosine", warmup_cosine_lr_min_plus_full, {"warmup_cosine_min_lr_unscaled"},
       "min_lr + lr * cosine: starts at lr + min_lr"),
    _w("schedules.warmup_cosine", warmup_cosine_lr_peak_early, {"off_by_one_step"},
       "warm-up divides by warmup_steps - 1, reaching lr one step early"),
    # schedules.clip_grad_norm
    _w("schedules.clip_grad_norm", clip_grad_norm_each_array, {"clip_norm_per_tensor"},
       "clips every array by its own norm"),
    _w("schedules.clip_grad_norm", clip_grad_norm_always_scale, {"clip_norm_always_rescales"},
       "always rescales to max_norm, also gradients that are shorter"),
    _w("schedules.clip_grad_norm", clip_grad_norm_norm_after, {"clip_norm_returns_clipped_norm"},
       "returns the norm after clipping"),
    _w("schedules.clip_grad_norm", clip_grad_norm_exact, {"clip_norm_no_eps"},
       "scale max_norm / total without the 1e-6"),
    _w("schedules.clip_grad_norm", clip_grad_norm_sum_norms, {"clip_norm_sum_of_norms"},
       "global norm = sum of the arrays' norms"),
    _w("schedules.clip_grad_norm", clip_grad_norm_in_place, {"modifies_input"},
       "g *= scale modifies the caller's arrays"),
    _w("schedules.clip_grad_norm", clip_grad_norm_float64_sum, {"float64_out"},
       "norm computed in float64, the float64 scale turns float32 gradients into float64"),
    # schedules.clip_grad_value
    _w("schedules.clip_grad_value", clip_grad_value_upper, {"clip_value_upper_only"},
       "np.minimum only: large negative entries not clipped"),
    _w("schedules.clip_grad_value", clip_grad_value_abs, {"clip_value_sign_lost"},
       "large entries of either sign become +clip_value"),
    _w("schedules.clip_grad_value", clip_grad_value_scale, {"clip_value_rescales"},
       "rescales the array so that its largest entry is clip_value"),
    _w("schedules.clip_grad_value", clip_grad_value_out_param, {"modifies_input"},
       "np.clip(..., out=g) clips the caller's arrays in place"),
    _w("schedules.clip_grad_value", clip_grad_value_threshold_fixed, {"ignored:clip_value"},
       "clips at 1.0 whatever clip_value is"),
    _w("schedules.clip_grad_value", clip_grad_value_astype_float, {"float64_out"},
       ".astype(float) turns float32 gradients into float64"),
]

CORRECT = [
    _c("schedules.step_decay", step_decay_lr_loop, "loop multiplying by gamma at the end of each period"),
    _c("schedules.step_decay", step_decay_lr_divmod, "divmod and math.pow"),
    _c("schedules.linear_decay", linear_decay_lr_interp, "lr + (final_lr - lr) * min(1, step / tau)"),
    _c("schedules.linear_decay", linear_decay_lr_branches, "if/else on step > tau"),
    _c("schedules.warmup_cosine", warmup_cosine_lr_cos_squared, "(1 + cos(pi p)) / 2 written as cos(pi p / 2)**2"),
    _c("schedules.warmup_cosine", warmup_cosine_lr_phases, "three phases with explicit branches"),
    _c("schedules.clip_grad_norm", clip_grad_norm_concat, "norm of all entries concatenated"),
    _c("schedules.clip_grad_norm", clip_grad_norm_loops, "Python loops over the entries, in place on copies"),
    _c("schedules.clip_grad_value", clip_grad_value_min_max, "np.minimum(np.maximum(g, -c), c)"),
    _c("schedules.clip_grad_value", clip_grad_value_sign_where, "np.where with the sign"),
    _c("schedules.clip_grad_value", clip_grad_value_masks, "boolean masks on a copy"),
]
