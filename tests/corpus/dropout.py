"""Student implementations of inverted dropout, forward and backward (problem set 5, part 3)."""

import numpy as np

from corpus import Correct, Wrong

# ---------------------------------------------------------------- layers.dropout_forward


def dropout_forward_row_mask(x, p=0.5, training=True, rng=None):
    if not training:
        return x, None
    # one mask for the features, the same for every example of the batch
    keep = rng.random(x.shape[-1]) >= p
    scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
    mult = keep * scale
    return x * mult, mult


def dropout_forward_paper(x, p=0.5, training=True, rng=None):
    # original paper: drop in training, scale by the keep probability at test time
    if training:
        mask = rng.random(x.shape) >= p
        return x * mask, mask
    return x * (1 - p), None


def dropout_forward_keep_prob(x, p=0.5, training=True, rng=None):
    # p = probability to keep a neuron
    if not training:
        return x, None
    mask = (rng.random(x.shape) < p) / p
    return x * mask, mask


def dropout_forward_times_keep(x, p=0.5, training=True, rng=None):
    if not training:
        return x, None
    mask = rng.random(x.shape) > p
    out = x * mask * (1 - p)
    return out, (mask, p)


def dropout_forward_np_random(x, p=0.5, training=True, rng=None):
    if not training:
        return x, None
    mask = (np.random.rand(*x.shape) >= p) / (1 - p)
    return x * mask, mask


def dropout_forward_always(x, p=0.5, training=True, rng=None):
    mask = (rng.random(x.shape) >= p) / (1 - p)
    return x * mask, mask


def dropout_forward_div_zero(x, p=0.5, training=True, rng=None):
    if not training:
        return x, None
    mask = (rng.random(x.shape) >= p).astype(x.dtype)
    out = x * mask / (1 - p)
    return out, {"mask": mask, "p": p}


def dropout_forward_float64_mask(x, p=0.5, training=True, rng=None):
    if not training:
        return x, None
    mask = np.zeros(x.shape)
    mask[rng.random(x.shape) >= p] = 1.0
    if p < 1:
        mask = mask / (1 - p)
    return x * mask, mask


def dropout_forward_binomial(x, p=0.5, training=True, rng=None):
    if not training:
        return x, None
    keep_prob = 1.0 - p
    kept = rng.binomial(1, keep_prob, size=x.shape).astype(x.dtype)
    if keep_prob > 0:
        kept = kept / keep_prob
    return x * kept, kept


def dropout_forward_dict_cache(x, p=0.5, training=True, rng=None):
    if training is False:
        return x, None
    u = rng.uniform(0.0, 1.0, size=x.shape)
    keep = u >= p
    out = np.where(keep, x / (1 - p) if p < 1 else 0 * x, 0 * x)
    return out, {"keep": keep, "p": p}


# ---------------------------------------------------------------- layers.dropout_backward


def dropout_backward_scale_no_mask(dout, cache):
    if cache is None:  # evaluation
        return dout
    _, p = cache
    return dout / (1 - p)


def dropout_backward_bool_mask(dout, cache):
    # forward cached the boolean mask and p
    if cache is None:
        return dout
    mask, _ = cache
    return dout * mask


def dropout_forward_bool_mask(x, p=0.5, training=True, rng=None):
    if not training:
        return x, None
    mask = rng.random(x.shape) >= p
    out = x * mask / (1 - p) if p < 1 else np.zeros_like(x)
    return out, (mask, p)


def dropout_backward_from_cache(dout, cache):
    if cache is None:
        return dout
    return dout * cache


def dropout_backward_dict(dout, cache):
    if cache is None:
        return dout
    if cache["p"] >= 1:
        return np.zeros_like(dout)
    return np.where(cache["keep"], dout / (1 - cache["p"]), 0 * dout)


def dropout_backward_dropped_anew(dout, cache):
    # the mask is random anyway, draw a new one
    if cache is None:
        return dout
    _, p = cache
    fresh = np.random.default_rng().random(dout.shape) >= p
    return dout * fresh / (1 - p)


WRONG = [
    # forward
    Wrong("layers.dropout_forward", (dropout_forward_row_mask,), frozenset({"dropout_mask_shared_by_batch"}),
          "one mask drawn for the features and shared by every example of the batch"),
    Wrong("layers.dropout_forward", (dropout_forward_paper,),
          frozenset({"dropout_original_paper", "dropout_no_rescale", "dropout_scales_in_eval"}),
          "non-inverted dropout: no 1 / (1 - p) in training, times (1 - p) in evaluation"),
    Wrong("layers.dropout_forward", (dropout_forward_keep_prob,), frozenset({"dropout_p_is_keep"}),
          "p read as the keep probability"),
    Wrong("layers.dropout_forward", (dropout_forward_times_keep,), frozenset({"dropout_scale_by_keep"}),
          "kept units multiplied by (1 - p) instead of divided"),
    Wrong("layers.dropout_forward", (dropout_forward_np_random,), frozenset({"dropout_ignores_rng"}),
          "mask from np.random.rand"),
    Wrong("layers.dropout_forward", (dropout_forward_always,), frozenset({"dropout_drops_in_eval", "ignored:training"}),
          "drops units in evaluation too, training unused"),
    Wrong("layers.dropout_forward", (dropout_forward_div_zero,), frozenset({"dropout_p_one_nan"}),
          "p = 1 divides 0 by 0: nan instead of zeros"),
    Wrong("layers.dropout_forward", (dropout_forward_float64_mask,), frozenset({"float64_out"}),
          "np.zeros(x.shape) mask is float64: float32 in gives float64 out"),
    # backward
    Wrong("layers.dropout_backward", (dropout_forward_bool_mask, dropout_backward_scale_no_mask),
          frozenset({"dropout_backward_scale_only"}), "dout / (1 - p), the mask not applied"),
    Wrong("layers.dropout_backward", (dropout_forward_bool_mask, dropout_backward_bool_mask),
          frozenset({"dropout_backward_no_scale"}), "dout * mask without the 1 / (1 - p)"),
    Wrong("layers.dropout_backward", (dropout_forward_bool_mask, dropout_backward_dropped_anew),
          frozenset({"dropout_backward_no_mask"}), "draws a new mask in backward instead of the forward's"),
]

CORRECT = [
    Correct("layers.dropout_forward", (dropout_forward_binomial,), "rng.binomial mask in x's dtype"),
    Correct("layers.dropout_forward", (dropout_forward_dict_cache,), "rng.uniform, np.where, dict cache"),
    Correct("layers.dropout_backward", (dropout_forward_binomial, dropout_backward_from_cache),
            "scaled mask cached, dout * cache"),
    Correct("layers.dropout_backward", (dropout_forward_dict_cache, dropout_backward_dict),
            "boolean mask and p in a dict, np.where"),
]
