"""Minibatch checks: the reference passes, catalogued mistakes are diagnosed, correct variants pass."""

import dataclasses

import numpy as np
import pytest

from dlcourse.grading import GradingError, get_target
from dlcourse.grading._core import run_check
from grading.helpers import assert_accepted, assert_catalogue_diagnosed, assert_rejected, passes_as_reference

NAME = "data.minibatches"


@pytest.mark.parametrize("hidden", [False, True])
def test_reference_passes(hidden):
    assert passes_as_reference(NAME, hidden).startswith("OK")


@pytest.mark.parametrize("hidden", [False, True])
def test_every_catalogued_mistake_is_caught(hidden):
    assert_catalogue_diagnosed(NAME, hidden)


# Wrong implementations written from scratch, as a student would.
def always_drops_last(X, y, batch_size, shuffle=True, rng=None, drop_last=False):
    idx = rng.permutation(len(X)) if shuffle else np.arange(len(X))
    for k in range(len(X) // batch_size):
        b = idx[k * batch_size:(k + 1) * batch_size]
        yield X[b], y[b]


def ignores_drop_last(X, y, batch_size, shuffle=True, rng=None, drop_last=False):
    idx = rng.permutation(len(X)) if shuffle else np.arange(len(X))
    for start in range(0, len(X), batch_size):
        yield X[idx[start:start + batch_size]], y[idx[start:start + batch_size]]


def drops_any_last_batch(X, y, batch_size, shuffle=True, rng=None, drop_last=False):
    idx = rng.permutation(len(X)) if shuffle else np.arange(len(X))
    batches = [(X[idx[s:s + batch_size]], y[idx[s:s + batch_size]]) for s in range(0, len(X), batch_size)]
    return batches[:-1] if drop_last else batches


def loop_stops_early(X, y, batch_size, shuffle=True, rng=None, drop_last=False):
    idx = rng.permutation(len(X)) if shuffle else np.arange(len(X))
    for start in range(0, len(X) - batch_size, batch_size):
        yield X[idx[start:start + batch_size]], y[idx[start:start + batch_size]]


def inclusive_slice_end(X, y, batch_size, shuffle=True, rng=None, drop_last=False):
    n = len(X)
    idx = rng.permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    for i in range(0, stop, batch_size):
        j = idx[i:i + batch_size - 1]
        yield X[j], y[j]


def never_shuffles(X, y, batch_size, shuffle=True, rng=None, drop_last=False):
    n = len(X)
    stop = n - n % batch_size if drop_last else n
    for i in range(0, stop, batch_size):
        yield X[i:i + batch_size], y[i:i + batch_size]


def reseeds_every_call(X, y, batch_size, shuffle=True, rng=None, drop_last=False):
    n = len(X)
    idx = np.random.default_rng(42).permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    for i in range(0, stop, batch_size):
        yield X[idx[i:i + batch_size]], y[idx[i:i + batch_size]]


def global_numpy_random(X, y, batch_size, shuffle=True, rng=None, drop_last=False):
    n = len(X)
    idx = np.arange(n)
    if shuffle:
        np.random.shuffle(idx)
    stop = n - n % batch_size if drop_last else n
    for i in range(0, stop, batch_size):
        yield X[idx[i:i + batch_size]], y[idx[i:i + batch_size]]


def shuffles_x_and_y_separately(X, y, batch_size, shuffle=True, rng=None, drop_last=False):
    n = len(X)
    if shuffle:
        X, y = X[rng.permutation(n)], y[rng.permutation(n)]
    stop = n - n % batch_size if drop_last else n
    for i in range(0, stop, batch_size):
        yield X[i:i + batch_size], y[i:i + batch_size]


def always_shuffles(X, y, batch_size, shuffle=True, rng=None, drop_last=False):
    n = len(X)
    idx = rng.permutation(n)
    stop = n - n % batch_size if drop_last else n
    for i in range(0, stop, batch_size):
        yield X[idx[i:i + batch_size]], y[idx[i:i + batch_size]]


@pytest.mark.parametrize(
    ("fn", "mistake"),
    [
        (always_drops_last, "always_drops_last"),
        (ignores_drop_last, "ignores_drop_last"),
        (drops_any_last_batch, "drop_last_drops_full_batch"),
        (loop_stops_early, "stops_one_batch_early"),
        (inclusive_slice_end, "slice_end_inclusive"),
        (never_shuffles, "no_shuffle"),
        (reseeds_every_call, "same_order_every_epoch"),
        (global_numpy_random, "ignores_rng"),
        (shuffles_x_and_y_separately, "separate_orders_for_x_and_y"),
        (always_shuffles, "ignores_shuffle_false"),
    ],
)
@pytest.mark.parametrize("hidden", [False, True])
def test_mistakes_are_diagnosed(fn, mistake, hidden):
    assert_rejected([fn], NAME, mistake, hidden=hidden)


# Contract failures.
def returns_nothing(X, y, batch_size, shuffle=True, rng=None, drop_last=False):
    batches = [(X[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(X), batch_size)]  # noqa: F841


def returns_first_batch(X, y, batch_size, shuffle=True, rng=None, drop_last=False):
    idx = rng.permutation(len(X))
    for i in range(0, len(X), batch_size):
        return X[idx[i:i + batch_size]], y[idx[i:i + batch_size]]


def flattened_batches(X, y, batch_size, shuffle=True, rng=None, drop_last=False):
    idx = rng.permutation(len(X))
    for i in range(0, len(X), batch_size):
        yield X[idx[i:i + batch_size]].ravel(), y[idx[i:i + batch_size]]


def labels_one_short(X, y, batch_size, shuffle=True, rng=None, drop_last=False):
    idx = rng.permutation(len(X))
    for i in range(0, len(X), batch_size):
        yield X[idx[i:i + batch_size]], y[idx[i:i + batch_size - 1]]


def shuffles_in_place(X, y, batch_size, shuffle=True, rng=None, drop_last=False):
    state = rng.bit_generator.state
    rng.shuffle(X)
    rng.bit_generator.state = state
    rng.shuffle(y)
    for i in range(0, len(X), batch_size):
        yield X[i:i + batch_size], y[i:i + batch_size]


def mixes_columns(X, y, batch_size, shuffle=True, rng=None, drop_last=False):
    for i in range(0, len(X), batch_size):
        yield X[i:i + batch_size, ::-1], y[i:i + batch_size]


def no_drop_last_argument(X, y, batch_size, shuffle=True, rng=None):
    idx = rng.permutation(len(X)) if shuffle else np.arange(len(X))
    for i in range(0, len(X), batch_size):
        yield X[idx[i:i + batch_size]], y[idx[i:i + batch_size]]


def loops_forever(X, y, batch_size, shuffle=True, rng=None, drop_last=False):
    i = 0
    while True:
        yield X[i:i + batch_size], y[i:i + batch_size]


@pytest.mark.parametrize(
    ("fn", "match"),
    [
        (returns_nothing, "should yield the batches (X_batch, y_batch)"),
        (returns_first_batch, "each batch must be a pair (X_batch, y_batch)"),
        (flattened_batches, "X_batch has shape (9,)"),
        (labels_one_short, "y_batch has shape (2,) for an X_batch of 3 rows"),
        (shuffles_in_place, "modified its input X in place"),
        (mixes_columns, "X_batch holds values that are not rows of X"),
        (no_drop_last_argument, "got an unexpected keyword argument 'drop_last'"),
    ],
)
def test_contract_failures_are_explained(fn, match):
    assert_rejected([fn], NAME, match=match)


def test_an_endless_generator_is_stopped_while_it_is_iterated():
    # the iteration happens inside the guarded call, so the time limit applies to it
    target = dataclasses.replace(get_target(NAME), time_limit=0.3)  # don't wait the full limit
    with pytest.raises(GradingError, match=r"minibatches did not finish within 0\.3 s"):
        run_check(target, [loops_forever])


# Correct implementations written differently from the reference.
def returns_a_list(X, y, batch_size, shuffle=True, rng=None, drop_last=False):
    n = X.shape[0]
    idx = rng.choice(n, n, replace=False) if shuffle else np.arange(n)
    out, i = [], 0
    while i < n:
        b = idx[i:i + batch_size]
        if len(b) < batch_size and drop_last:
            break
        out.append([X[b], y[b]])
        i += batch_size
    return out


def shuffles_an_index_array(X, y, batch_size, *, shuffle=True, rng=None, drop_last=False):
    order = np.arange(len(X))
    if shuffle:
        rng.shuffle(order)
    n_batches = len(X) // batch_size if drop_last else -(-len(X) // batch_size)
    for k in range(n_batches):
        chosen = order[k * batch_size:(k + 1) * batch_size]
        yield np.take(X, chosen, axis=0), np.take(y, chosen, axis=0)


class BatchIterator:
    """An iterator object instead of a generator."""

    def __init__(self, X, y, batch_size, shuffle=True, rng=None, drop_last=False):
        self.X, self.y, self.size = X, y, batch_size
        self.order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
        self.stop = len(X) - len(X) % batch_size if drop_last else len(X)
        self.start = 0

    def __iter__(self):
        return self

    def __next__(self):
        if self.start >= self.stop:
            raise StopIteration
        chosen = self.order[self.start:self.start + self.size]
        self.start += self.size
        return self.X[chosen], self.y[chosen]


@pytest.mark.parametrize("fn", [returns_a_list, shuffles_an_index_array, BatchIterator])
def test_correct_alternatives_are_accepted(fn):
    assert_accepted([fn], NAME)
