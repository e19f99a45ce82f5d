"""Loss checks: the reference passes, catalogued mistakes are diagnosed, correct variants pass."""

import numpy as np
import pytest

from dlcourse.grading import check, get_target, targets
from dlcourse.grading.topics import losses as topic
from grading.helpers import assert_accepted, assert_catalogue_diagnosed, assert_rejected, passes_as_reference

NAMES = [target.name for target in topic.TARGETS]


def test_the_module_declares_its_targets():
    assert NAMES == ["layers.mse_loss", "layers.mae_loss", "layers.bce_loss", "layers.softmax_cross_entropy"]
    assert set(NAMES) <= set(targets())


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("hidden", [False, True])
def test_reference_passes(name, hidden):
    assert passes_as_reference(name, hidden).startswith("OK")


# ---------------------------------------- wrong code, written as a student would
def mse_no_2(pred, target):
    diff = pred - target
    return np.mean(diff**2), diff / diff.size


def mse_sum(pred, target):
    diff = pred - target
    return np.sum(diff**2), 2 * diff


def mse_per_row(pred, target):
    n = pred.shape[0]
    diff = pred - target
    return np.sum(diff**2) / n, 2 * diff / n


def mse_loss_summed(pred, target):
    diff = pred - target
    return (diff**2).sum(), 2 * diff / diff.size


def mae_ge(pred, target):
    diff = pred - target
    return np.abs(diff).mean(), np.where(diff >= 0, 1.0, -1.0) / diff.size


def mae_not_divided(pred, target):
    diff = pred - target
    return np.abs(diff).mean(), np.sign(diff)


def bce_logit_grad(prob, target):
    p = np.clip(prob, 1e-12, 1 - 1e-12)
    loss = -np.mean(target * np.log(p) + (1 - target) * np.log(1 - p))
    return loss, (prob - target) / prob.size


def bce_naive(prob, target):
    loss = -np.mean(target * np.log(prob) + (1 - target) * np.log(1 - prob))
    return loss, (prob - target) / (prob * (1 - prob)) / prob.size


def bce_grad_per_entry(prob, target):
    log_p, log_1mp = np.maximum(np.log(prob), -100), np.maximum(np.log(1 - prob), -100)
    loss = -np.mean(target * log_p + (1 - target) * log_1mp)
    return loss, -target / prob + (1 - target) / (1 - prob)


def bce_only_positive(prob, target):
    return -np.mean(target * np.log(prob)), -target / prob / prob.size


def ce_naive(logits, labels):
    n = logits.shape[0]
    probs = np.exp(logits) / np.sum(np.exp(logits), axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(n), labels]))
    dlogits = probs.copy()
    dlogits[np.arange(n), labels] -= 1
    return loss, dlogits / n


def ce_sum(logits, labels):
    n, _ = logits.shape
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    grad = np.exp(log_probs)
    grad[np.arange(n), labels] -= 1
    return -log_probs[np.arange(n), labels].sum(), grad


def _stable_probs(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def ce_not_divided(logits, labels):
    _, c = logits.shape
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    onehot = np.eye(c)[labels]
    return -np.mean(np.sum(log_probs * onehot, axis=1)), np.exp(log_probs) - onehot


def ce_one_based(logits, labels):
    n, c = logits.shape
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    onehot = np.eye(c)[labels - 1]
    return -np.sum(log_probs * onehot) / n, (np.exp(log_probs) - onehot) / n


def ce_log_probs(logits, labels):
    n = logits.shape[0]
    probs = _stable_probs(logits)
    grad = probs.copy()
    grad[np.arange(n), labels] -= 1
    return -np.mean(np.log(probs[np.arange(n), labels])), grad / n


def ce_backprop_through_log(logits, labels):
    # forward: softmax, pick, log, mean; backward: the chain rule through each step
    n = len(labels)
    exps = np.exp(logits - np.max(logits, axis=1, keepdims=True))
    probs = exps / np.sum(exps, axis=1, keepdims=True)
    picked = probs[np.arange(n), labels]
    loss = np.sum(-np.log(picked)) / n
    dprobs = np.zeros_like(probs)
    dprobs[np.arange(n), labels] = -1.0 / picked / n
    dlogits = probs * dprobs
    dlogits -= probs * np.sum(probs * dprobs, axis=1, keepdims=True)
    return loss, dlogits


STUDENT_MISTAKES = [
    ([mse_no_2], "layers.mse_loss", "mse_grad_no_factor_2"),
    ([mse_sum], "layers.mse_loss", "mse_sum_reduction"),
    ([mse_per_row], "layers.mse_loss", "mse_divided_by_batch"),
    ([mse_loss_summed], "layers.mse_loss", "mse_loss_summed"),
    ([mae_ge], "layers.mae_loss", "mae_sign_ge_zero"),
    ([mae_not_divided], "layers.mae_loss", "mae_grad_not_divided"),
    ([bce_logit_grad], "layers.bce_loss", "bce_grad_missing_denominator"),
    ([bce_only_positive], "layers.bce_loss", "bce_positive_term_only"),
    ([bce_grad_per_entry], "layers.bce_loss", "bce_grad_not_divided"),
    ([ce_naive], "layers.softmax_cross_entropy", "ce_overflow"),
    ([ce_not_divided], "layers.softmax_cross_entropy", "ce_grad_not_divided"),
    ([ce_one_based], "layers.softmax_cross_entropy", "ce_label_off_by_one"),
    ([ce_log_probs], "layers.softmax_cross_entropy", "ce_log_of_softmax"),
    ([ce_backprop_through_log], "layers.softmax_cross_entropy", "ce_log_of_softmax_chain_rule"),
    ([ce_sum], "layers.softmax_cross_entropy", "ce_sum_reduction"),
]


@pytest.mark.parametrize(("fns", "against", "mistake"), STUDENT_MISTAKES,
                         ids=[m for _, _, m in STUDENT_MISTAKES])
@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_student_mistakes_are_diagnosed(fns, against, mistake, hidden):
    # every one of these shows in the visible checks already
    assert_rejected(fns, against, mistake, hidden=hidden)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_bce_without_clamp_passes_visible_and_fails_hidden_with_the_clamp_explained():
    # a policy choice: probabilities of exactly 0 and 1 are only in the hidden trials
    check(bce_naive, against="layers.bce_loss", quiet=True)
    message = assert_rejected([bce_naive], "layers.bce_loss", "bce_log_of_zero", hidden=True)
    assert "loss is nan where the reference gives" in message


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_every_catalogued_mistake_is_caught_by_the_hidden_checks(name):
    assert_catalogue_diagnosed(name, hidden=True)


def test_every_target_catalogues_at_least_three_mistakes():
    for name in NAMES:
        assert len(get_target(name).mistakes) >= 3, name


# ------------------------------------------------------------ contract failures
def mse_none(pred, target):
    diff = pred - target  # noqa: F841 -- forgot the return


def mse_nan(pred, target):
    diff = pred - target
    return np.mean(diff**2), diff * np.nan


def ce_per_example_loss(logits, labels):
    n = logits.shape[0]
    probs = _stable_probs(logits)
    grad = probs.copy()
    grad[np.arange(n), labels] -= 1
    return -np.log(probs[np.arange(n), labels]), grad / n

@pytest.mark.parametrize(("fns", "against", "match"), [
    ([mse_none], "layers.mse_loss", "mse_loss returned None"),
    ([mse_nan], "layers.mse_loss", "contains nan"),
    ([ce_per_example_loss], "layers.softmax_cross_entropy", "loss should be a number, but it is an array of shape"),
])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_contract_failures_give_clear_feedback(fns, against, match):
    assert_rejected(fns, against, match=match)


# ------------------------------------------------- correct, but written differently
def mse_square(pred, target):
    diff = pred - target
    n = int(np.prod(pred.shape))  # a Python int: a numpy int64 would make 2.0 / n float64 and the gradient with it
    return float(np.square(diff).sum() / n), 2.0 / n * diff


def mae_piecewise(pred, target):
    diff = pred - target
    grad = (diff > 0).astype(pred.dtype) - (diff < 0).astype(pred.dtype)
    return float(np.abs(diff).sum()) / diff.size, grad / diff.size


def bce_clipped(prob, target, eps=1e-7):
    p = np.clip(prob, eps, 1 - eps)
    loss = -np.mean(target * np.log(p) + (1 - target) * np.log(1 - p))
    return loss, (-target / p + (1 - target) / (1 - p)) / prob.size


def bce_clamped_like_torch(prob, target):
    with np.errstate(divide="ignore"):
        log_p, log_1mp = np.maximum(np.log(prob), -100.0), np.maximum(np.log1p(-prob), -100.0)
    grad = (prob - target) / np.maximum(prob * (1 - prob), 1e-12)
    return -np.mean(target * log_p + (1 - target) * log_1mp), grad / prob.size


def ce_loop(logits, labels):
    n, _ = logits.shape
    loss, grad = 0.0, np.zeros_like(logits)
    for i in range(n):
        z = logits[i] - logits[i].max()
        log_z = np.log(np.sum(np.exp(z)))
        loss -= z[labels[i]] - log_z
        grad[i] = np.exp(z - log_z)
        grad[i, labels[i]] -= 1
    return loss / n, grad / n


def ce_logsumexp(logits, labels):
    n, c = logits.shape
    m = logits.max(axis=1, keepdims=True)
    log_probs = logits - (m + np.log(np.exp(logits - m).sum(axis=1, keepdims=True)))
    onehot = np.eye(c, dtype=logits.dtype)[labels]
    return -(log_probs * onehot).sum() / n, (np.exp(log_probs) - onehot) / n

CORRECT = [
    ([mse_square], "layers.mse_loss"),
    ([mae_piecewise], "layers.mae_loss"),
    ([bce_clipped], "layers.bce_loss"),
    ([bce_clamped_like_torch], "layers.bce_loss"),
    ([ce_loop], "layers.softmax_cross_entropy"),
    ([ce_logsumexp], "layers.softmax_cross_entropy"),
]


@pytest.mark.parametrize(("fns", "against"), CORRECT, ids=[f"{a}-{f[-1].__name__}" for f, a in CORRECT])
def test_correct_alternatives_are_accepted(fns, against):
    assert_accepted(fns, against)
