"""Dropout checks: the reference passes, catalogued mistakes are diagnosed, correct variants pass."""

import dataclasses

import numpy as np
import pytest

from dlcourse.grading import GradingError, get_target, targets
from dlcourse.grading._core import Caller, run_check, seed_for
from dlcourse.grading.topics import dropout as topic
from grading.helpers import assert_accepted, assert_catalogue_diagnosed, assert_rejected, passes_as_reference

NAMES = [target.name for target in topic.TARGETS]


def test_the_module_declares_its_targets():
    assert NAMES == ["layers.dropout_forward", "layers.dropout_backward"]
    assert set(NAMES) <= set(targets())


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("hidden", [False, True])
def test_reference_passes(name, hidden):
    assert passes_as_reference(name, hidden).startswith("OK")


# ---------------------------------------- wrong code, written as a student would
def drop_no_rescale(x, p=0.5, training=True, rng=None):
    if not training:
        return x, None
    mask = rng.random(x.shape) > p
    return x * mask, mask


def drop_keep_p(x, p=0.5, training=True, rng=None):
    if not training:
        return x, None
    mask = (rng.random(x.shape) < p) / p
    return x * mask, mask


def drop_scale_eval(x, p=0.5, training=True, rng=None):
    if not training:
        return x / (1 - p), None
    if p == 1:  # the exercise: every unit dropped, zeros rather than a division by zero
        return np.zeros_like(x), np.zeros_like(x)
    mask = (rng.random(x.shape) >= p) / (1 - p)
    return x * mask, mask


def drop_in_eval(x, p=0.5, training=True, rng=None):
    if p == 1:  # the exercise: every unit dropped, zeros rather than a division by zero
        return np.zeros_like(x), np.zeros_like(x)
    mask = (rng.random(x.shape) >= p) / (1 - p)
    return x * mask, mask


def drop_global_rng(x, p=0.5, training=True, rng=None):
    if not training:
        return x, None
    if p == 1:  # the exercise: every unit dropped, zeros rather than a division by zero
        return np.zeros_like(x), np.zeros_like(x)
    mask = (np.random.rand(*x.shape) >= p) / (1 - p)
    return x * mask, mask


def drop_paper(x, p=0.5, training=True, rng=None):
    if not training:
        return x * (1 - p), None
    mask = rng.random(x.shape) >= p
    return x * mask, mask


def drop_paper_times_p(x, p=0.5, training=True, rng=None):
    if training:
        keep = rng.uniform(0, 1, size=x.shape) > p
        return x * keep, keep
    return p * x, None  # "scale by p at test time", with p the drop rate here


def drop_one_mask_for_the_batch(x, p=0.5, training=True, rng=None):
    if not training:
        return x, None
    if p == 1:  # the exercise: every unit dropped, zeros rather than a division by zero
        return np.zeros_like(x), np.zeros_like(x)
    mask = (rng.random(x.shape[1:]) > p) / (1 - p)  # one mask, broadcast over the rows
    return x * mask, mask


def drop_binomial_per_feature(x, p=0.5, training=True, rng=None):
    if not training:
        return x, None
    keep = rng.binomial(1, 1 - p, size=x.shape[-1])  # one draw per feature, shared by every example
    return np.where(keep == 1, x / (1 - p), 0.0).astype(x.dtype), keep


def drop_fwd(x, p=0.5, training=True, rng=None):
    if not training:
        return x, None
    if p == 1:  # the exercise: every unit dropped, zeros rather than a division by zero
        return np.zeros_like(x), np.zeros_like(x)
    mask = ((rng.random(x.shape) >= p) / (1 - p)).astype(x.dtype)
    return x * mask, mask


def drop_bwd_no_mask(dout, mask):
    return dout


def drop_bwd_forgot_scale(dout, mask):
    return dout if mask is None else dout * (mask > 0)


STUDENT_MISTAKES = [
    ([drop_no_rescale], "layers.dropout_forward", "dropout_no_rescale"),
    ([drop_keep_p], "layers.dropout_forward", "dropout_p_is_keep"),
    ([drop_scale_eval], "layers.dropout_forward", "dropout_scales_in_eval"),
    ([drop_in_eval], "layers.dropout_forward", "dropout_drops_in_eval"),
    ([drop_global_rng], "layers.dropout_forward", "dropout_ignores_rng"),
    ([drop_paper], "layers.dropout_forward", "dropout_original_paper"),
    ([drop_paper_times_p], "layers.dropout_forward", "dropout_original_paper_times_p"),
    ([drop_one_mask_for_the_batch], "layers.dropout_forward", "dropout_mask_shared_by_batch"),
    ([drop_binomial_per_feature], "layers.dropout_forward", "dropout_mask_shared_by_batch"),
    ([drop_fwd, drop_bwd_no_mask], "layers.dropout_backward", "dropout_backward_no_mask"),
    ([drop_fwd, drop_bwd_forgot_scale], "layers.dropout_backward", "dropout_backward_no_scale"),
]


@pytest.fixture
def seeded_global_rng():
    # drop_global_rng draws from np.random as a careless student would; seed it so the test is reproducible
    state = np.random.get_state()
    np.random.seed(1234)
    yield
    np.random.set_state(state)


@pytest.mark.parametrize(("fns", "against", "mistake"), STUDENT_MISTAKES,
                         ids=[m for _, _, m in STUDENT_MISTAKES])
@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_student_mistakes_are_diagnosed(fns, against, mistake, hidden, seeded_global_rng):
    # every one of these shows in the visible checks already
    assert_rejected(fns, against, mistake, hidden=hidden)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_every_catalogued_mistake_is_caught_by_the_hidden_checks(name):
    assert_catalogue_diagnosed(name, hidden=True)


def test_every_target_catalogues_at_least_three_mistakes():
    for name in NAMES:
        assert len(get_target(name).mistakes) >= 3, name


def test_a_mask_shared_by_the_batch_is_named_by_its_own_observable():
    message = assert_rejected([drop_one_mask_for_the_batch], "layers.dropout_forward")
    assert "every row of the batch (axis 0) gets the same mask" in message
    assert "should be False, got True" in message


# ------------------------------------------- empty sets of kept or dropped units
def drop_keep_where(x, p=0.5, training=True, rng=None):
    if not training:
        return x, None
    keep = rng.random(x.shape) < p  # p read as the keep probability: at p = 0 nothing is kept
    return np.where(keep, x / p, 0.0), (keep, p)


def drop_keep_where_back(dout, cache):
    return dout if cache is None else np.where(cache[0], dout / cache[1], 0.0)


def drop_p_or_default(x, p=0.5, training=True, rng=None):
    p = p or 0.5  # "no rate given": but p = 0 is a rate, so units are dropped where none should be
    if not training:
        return x, None
    keep = rng.random(x.shape) >= p
    return x * keep / (1 - p), p


def drop_bwd_scale_only(dout, cache):
    return dout if cache is None else dout / (1 - cache)


def _only_the_trial_with_p_0(name):
    target = get_target(name)
    trials = target.trials(np.random.default_rng(seed_for(name, True)), True)
    only = [trial for trial in trials if dict(trial.args)["p"] == 0]
    assert len(only) == 1
    return dataclasses.replace(target, trials=lambda rng, hidden: only, forbidden=("torch",))


@pytest.mark.parametrize(("fns", "against", "said", "empty_set"), [
    # the reference keeps every unit; the student keeps none: "expected 1, obtained 0" over no unit was reported
    ([drop_keep_where], "layers.dropout_forward", "some units are kept (out != 0) with training=True should be "
     "True, got False", "over the units kept"),
    ([drop_keep_where, drop_keep_where_back], "layers.dropout_backward", "some units are kept (out != 0) with "
     "training=True should be True, got False", "over the units kept"),
    # the reference drops no unit; the student drops some: "expected 0, obtained 2" over the reference's none
    ([drop_p_or_default, drop_bwd_scale_only], "layers.dropout_backward", "some units are dropped (out == 0) with "
     "training=True should be False, got True", "over the units dropped"),
])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_no_statistic_over_an_empty_set_of_units_is_compared(fns, against, said, empty_set):
    with pytest.raises(GradingError) as info:
        run_check(_only_the_trial_with_p_0(against), fns, hidden=True)
    message = str(info.value)
    assert said in message
    assert empty_set not in message and "expected" not in message


def test_statistics_over_an_empty_set_are_nan_for_everyone():
    # p = 0: the reference drops nothing, so "over the units dropped" is undefined, not 0
    target = _only_the_trial_with_p_0("layers.dropout_backward")
    trial = target.trials(None, True)[0]
    observed = target.observe(Caller(target.reference, target.roles, None), trial)
    assert observed[topic._DROPOUT_LABELS["dropped_any"]] is False
    assert np.isnan(observed[topic._DROPOUT_LABELS["back_dropped"]])


# ------------------------------------------------------------ contract failures
def drop_bwd_flat(dout, mask):
    return dout.reshape(-1)

@pytest.mark.parametrize(("fns", "against", "match"), [
    ([drop_fwd, drop_bwd_flat], "layers.dropout_backward",
     "dx returned by dropout_backward should be an array of shape"),
])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_contract_failures_give_clear_feedback(fns, against, match):
    assert_rejected(fns, against, match=match)


# ------------------------------------------------- correct, but written differently
def drop_binomial(x, p=0.5, training=True, rng=None):
    if not training:
        return x, None
    if p == 1:  # the exercise: every unit dropped, zeros rather than a division by zero
        return np.zeros_like(x), (np.zeros(x.shape), p)
    mask = rng.binomial(1, 1 - p, size=x.shape)
    scale = mask / (1 - p)
    return x * scale.astype(x.dtype), (mask, p)


def drop_bwd_mask_p(dout, cache):
    if cache is None:
        return dout
    mask, p = cache
    return np.zeros_like(dout) if p == 1 else (dout * mask / (1 - p)).astype(dout.dtype)


def drop_uniform(x, p=0.5, training=True, rng=None):
    if not training:
        return x.copy(), "eval"
    if p == 1:  # the exercise: every unit dropped, zeros rather than a division by zero
        return np.zeros_like(x), np.zeros_like(x)
    keep = rng.uniform(size=x.shape) < 1 - p
    return np.where(keep, x / (1 - p), 0).astype(x.dtype), keep / (1 - p)


def drop_bwd_uniform(dout, cache):
    return dout if isinstance(cache, str) else dout * cache

CORRECT = [
    ([drop_binomial], "layers.dropout_forward"),
    ([drop_uniform], "layers.dropout_forward"),
    ([drop_fwd], "layers.dropout_forward"),
    ([drop_binomial, drop_bwd_mask_p], "layers.dropout_backward"),
    ([drop_uniform, drop_bwd_uniform], "layers.dropout_backward"),
]


@pytest.mark.parametrize(("fns", "against"), CORRECT, ids=[f"{a}-{f[-1].__name__}" for f, a in CORRECT])
def test_correct_alternatives_are_accepted(fns, against):
    assert_accepted(fns, against)
