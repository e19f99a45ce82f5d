"""Checks for the minibatch iterator (``data.minibatches``).

The student writes ``minibatches(X, y, batch_size, *, shuffle=True, rng=None,
drop_last=False)`` returning (or being a generator of) pairs ``(X_batch,
y_batch)``; the check calls it with keywords for the options.  A generator's
body only runs when iterated, so :func:`call_listed` iterates it inside the
same guarded call.

A shuffled epoch is random, and a correct student need not draw the same
permutation as the reference, so the check never compares batch contents.
Every row of X encodes its own index (X[i] = i + [0, 0.25, 0.5, ...]) and y[i]
is i, which turns each epoch into a sequence of example indices; the
observables are properties of that sequence that every correct
implementation shares: the number and sizes of the batches, how many distinct
examples appear and how often, whether X and y rows stay paired, whether the
order is shuffled, changes from one epoch to the next (the same Generator
object, called again) and is reproduced by a Generator in the same state, and
whether ``shuffle=False`` keeps the original order.

Source of the exercise: Univ. of Macau 'Modern Techniques' (SGD with a
DataLoader); SDU summer school 'Gradient-Based Learning' (SGD on minibatches).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from dlcourse import data as D
from dlcourse.grading._core import Caller, Target, Trial
from dlcourse.grading._guard import grader_code, guarded_call
from dlcourse.grading._report import GradingError, describe_value
from dlcourse.grading.topics._common import one_role_target

__all__ = ["call_listed"]

# Below this many examples per epoch a correct shuffle returns the original
# order too often (1 in n!) to be judged: 10! = 3.6 million.
_MIN_EXAMPLES_TO_JUDGE_ORDER = 10


class _NotIterable:
    """What a call returned when it could not be iterated (reported outside the guard)."""

    @grader_code  # built inside the watched call
    def __init__(self, value: Any) -> None:
        self.value = value


def call_listed(call: Caller, role: str, args: Sequence[tuple[str, Any]], kwargs: dict[str, Any] | None = None) -> list:
    """``list(call(role, args, kwargs))`` with the iteration inside the same guarded call.

    Calling a generator function runs none of its body; the guard must also
    watch the iteration (time limit, forbidden modules, inputs modified while
    batches are made).
    """
    function = call.functions[role]

    @grader_code
    def listed(*values: Any, **options: Any) -> Any:
        result = function(*values, **options)
        if isinstance(result, (str, bytes)) or not isinstance(result, Iterable):
            return _NotIterable(result)
        return list(result)

    if call.trusted:
        result = listed(*(value for _, value in args), **(kwargs or {}))
    else:
        target = call.target
        result = guarded_call(listed, role, args, kwargs, pure=target.pure, forbidden=target.forbidden,
                              allowed=target.allowed, time_limit=target.time_limit)
    if isinstance(result, _NotIterable):
        raise GradingError(
            f"{role} should yield the batches (X_batch, y_batch) (write a generator with `yield`, or return a "
            f"list of pairs), but it returned {describe_value(result.value)}"
        )
    return result


def _example_data(n: int, x_shape: tuple[int, ...], y_columns: int) -> tuple[np.ndarray, np.ndarray]:
    """X whose row i is i + distinct fractions, y whose row i starts with i."""
    width = math.prod(x_shape)
    X = (np.arange(n)[:, None] + np.arange(width) / (2 * width)).reshape((n, *x_shape))
    y = np.arange(n) if y_columns == 0 else np.arange(n)[:, None] * np.array([1.0, -1.0][:y_columns])
    return X, y


def _decode_epoch(batches: list, X: np.ndarray, y: np.ndarray, epoch: int) -> tuple[list[int], np.ndarray, np.ndarray]:
    """(batch sizes, index of every X row yielded, index of every y row yielded), checking the batch contract."""
    sizes, x_index, y_index = [], [], []
    for number, batch in enumerate(batches):
        where = f"minibatches, epoch {epoch}, batch {number}:"
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            returned = isinstance(batch, np.ndarray)
            hint = " (did you `return` a batch instead of `yield`ing each one?)" if returned else ""
            raise GradingError(f"{where} each batch must be a pair (X_batch, y_batch), got "
                               f"{describe_value(batch)}{hint}")
        X_batch, y_batch = (np.asarray(part) for part in batch)
        if X_batch.shape[1:] != X.shape[1:] or X_batch.ndim != X.ndim:
            raise GradingError(f"{where} X_batch has shape {X_batch.shape}; it should hold whole rows of X, shape "
                               f"(batch size, {', '.join(map(str, X.shape[1:]))})")
        if y_batch.shape[1:] != y.shape[1:] or y_batch.ndim != y.ndim or len(y_batch) != len(X_batch):
            raise GradingError(f"{where} y_batch has shape {y_batch.shape} for an X_batch of {len(X_batch)} rows; "
                               f"it should hold the {len(X_batch)} matching entries of y, shape "
                               f"({len(X_batch)}{''.join(f', {s}' for s in y.shape[1:])})")
        rows = [_row_indices(part, full) for part, full in ((X_batch, X), (y_batch, y))]
        if rows[0] is None or rows[1] is None:
            name = "X_batch" if rows[0] is None else "y_batch"
            raise GradingError(f"{where} {name} holds values that are not rows of {name[0]}: select whole rows "
                               f"with an index array, {name[0]}[indices]")
        sizes.append(len(X_batch))
        x_index.append(rows[0])
        y_index.append(rows[1])
    empty = np.zeros(0, dtype=int)
    return sizes, np.concatenate(x_index or [empty]), np.concatenate(y_index or [empty])


def _row_indices(part: np.ndarray, full: np.ndarray) -> np.ndarray | None:
    """The index of each row of ``part`` in ``full`` (row i starts with the value i), or None if one is not a row."""
    if len(part) == 0:
        return np.zeros(0, dtype=int)
    first = part.reshape(len(part), -1)[:, 0].astype(float)
    index = np.rint(first).astype(int)
    if np.any(index != first) or np.any(index < 0) or np.any(index >= len(full)):
        return None
    return index if np.array_equal(part, full[index]) else None


def _observe(call: Caller, trial: Trial) -> dict[str, Any]:
    (_, X), (_, y), (_, batch_size) = trial.args
    options = trial.kwargs
    rng = options.get("rng")
    same_state = copy.deepcopy(rng)  # a Generator in the state the first epoch starts from
    first = _decode_epoch(call_listed(call, "minibatches", trial.args, options), X, y, 1)
    sizes, x_index, y_index = first
    full_count = math.ceil(len(X) / batch_size)
    times_seen = np.bincount(x_index, minlength=len(X))
    observed = {
        "number of batches (epoch 1)": len(sizes),
        f"sizes of the first {full_count} batches (epoch 1; 0 = no such batch)":
            np.array((sizes + [0] * full_count)[:full_count]),
        "distinct examples yielded (epoch 1)": int(np.count_nonzero(times_seen)),
        "most times one example was yielded (epoch 1)": int(times_seen.max(initial=0)),
        "every y_batch row belongs to the X_batch row beside it (epoch 1)": bool(np.array_equal(x_index, y_index)),
    }
    yielded = len(X) - len(X) % batch_size if options.get("drop_last", False) else len(X)
    in_order = bool(np.array_equal(x_index, np.arange(len(x_index))))
    if not options.get("shuffle", True):
        observed["shuffle=False visits the examples in their original order 0, 1, 2, ..."] = in_order
    elif yielded >= _MIN_EXAMPLES_TO_JUDGE_ORDER:
        second = _decode_epoch(call_listed(call, "minibatches", trial.args, options), X, y, 2)
        again = _decode_epoch(call_listed(call, "minibatches", trial.args, {**options, "rng": same_state}), X, y, 1)
        observed["epoch 1 is shuffled (not in the original order)"] = not in_order
        observed["epoch 2 (the same rng, called again) comes in a new order"] = not np.array_equal(second[1], x_index)
        observed["an rng in the same state gives the same epoch again (reproducible)"] = bool(
            np.array_equal(again[1], x_index) and again[0] == sizes)
    return observed


# (label, n, batch_size, options, X row shape, y columns (0 = 1-D labels)); rng added where shuffle is on
_VISIBLE_CASES = (
    ("10 examples in batches of 3", 10, 3, {}, (3,), 0),
    ("12 examples in batches of 4, drop_last=True", 12, 4, {"drop_last": True}, (3,), 0),
    ("11 examples in batches of 4, drop_last=True", 11, 4, {"drop_last": True}, (3,), 0),
    ("10 examples in order (shuffle=False)", 10, 4, {"shuffle": False}, (3,), 0),
)
_HIDDEN_CASES = (
    ("batch_size 1", 12, 1, {}, (2,), 0),
    ("batch_size larger than the data set", 5, 8, {}, (3,), 0),
    ("batch_size larger than the data set, drop_last=True", 5, 8, {"drop_last": True}, (3,), 0),
    ("one example", 1, 1, {}, (4,), 0),
    ("batch_size equal to the data set size", 13, 13, {"drop_last": True}, (3,), 0),
    ("8x8 images and two regression targets per example", 23, 5, {}, (8, 8), 2),
    ("100 examples in batches of 32", 100, 32, {"drop_last": False}, (5,), 0),
    ("100 examples in batches of 32, drop_last=True", 100, 32, {"drop_last": True}, (5,), 0),
    ("in order with drop_last=True", 11, 3, {"shuffle": False, "drop_last": True}, (3,), 0),
    # last: an implementation that always draws from rng fails here outright (rng is None)
    ("shuffle=False without an rng", 9, 2, {"shuffle": False, "rng": None}, (3,), 0),
)


def _trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
    trials = []
    for label, n, batch_size, options, x_shape, y_columns in _VISIBLE_CASES + (_HIDDEN_CASES if hidden else ()):
        X, y = _example_data(n, x_shape, y_columns)
        kwargs = dict(options)
        if kwargs.get("rng", "missing") is None:
            del kwargs["rng"]  # leave it to the default
        else:
            kwargs["rng"] = np.random.default_rng(rng.integers(2**32))
        trials.append(Trial(label, [("X", X), ("y", y), ("batch_size", batch_size)], kwargs))
    return trials


# ----------------------------------------------------------------- mistakes


def _variant(order: Callable[..., np.ndarray], stop: Callable[[int, int, bool], int], *, shorter_by: int = 0,
             own_order_for_y: bool = False) -> Callable[..., Any]:
    """A minibatch generator with one step done wrong.

    ``order(n, shuffle, rng)`` draws the visiting order, ``stop(n,
    batch_size, drop_last)`` is where the batch starts end, ``shorter_by``
    shrinks every slice, ``own_order_for_y`` draws a second order for y.
    """

    def minibatches(X, y, batch_size, *, shuffle=True, rng=None, drop_last=False):
        x_order = order(len(X), shuffle, rng)
        y_order = order(len(X), shuffle, rng) if own_order_for_y else x_order
        for start in range(0, stop(len(X), batch_size, drop_last), batch_size):
            end = start + batch_size - shorter_by
            yield X[x_order[start:end]], y[y_order[start:end]]

    return minibatches


def _rng_order(n: int, shuffle: bool, rng: Any) -> np.ndarray:
    return rng.permutation(n) if shuffle else np.arange(n)


def _right_stop(n: int, batch_size: int, drop_last: bool) -> int:
    return n - n % batch_size if drop_last else n


_MISTAKES = (
    ("always_drops_last", "Keep the last, smaller batch unless drop_last=True: loop over range(0, n, batch_size).",
     _variant(_rng_order, lambda n, b, drop: n - n % b)),
    ("ignores_drop_last", "With drop_last=True leave out the last batch when it is smaller than batch_size.",
     _variant(_rng_order, lambda n, b, drop: n)),
    ("drop_last_drops_full_batch", "drop_last=True drops only a SMALLER last batch: when batch_size divides n, "
     "every batch is full and all are kept.",
     _variant(_rng_order, lambda n, b, drop: (math.ceil(n / b) - 1) * b if drop else n)),
    ("stops_one_batch_early", "The loop stops one batch early: use range(0, n, batch_size), not "
     "range(0, n - batch_size, batch_size).", _variant(_rng_order, lambda n, b, drop: n - b)),
    ("slice_end_inclusive", "Python slices exclude their end: take order[start:start + batch_size], not "
     "order[start:start + batch_size - 1], or every batch loses an example.",
     _variant(_rng_order, _right_stop, shorter_by=1)),
    ("no_shuffle", "With shuffle=True visit the examples in a new random order: order = rng.permutation(n).",
     _variant(lambda n, shuffle, rng: np.arange(n), _right_stop)),
    ("same_order_every_epoch", "Draw the permutation from the rng you are given (rng.permutation(n)); creating "
     "a new seeded generator inside the function repeats the same order every epoch.",
     _variant(lambda n, shuffle, rng: np.random.default_rng(0).permutation(n) if shuffle else np.arange(n),
              _right_stop)),
    ("ignores_rng", "Draw the permutation from the rng argument (rng.permutation(n)), not from np.random's global "
     "state, so that a run can be reproduced from its seed.",
     _variant(lambda n, shuffle, rng: np.random.permutation(n) if shuffle else np.arange(n), _right_stop)),
    ("separate_orders_for_x_and_y", "Shuffle X and y with ONE permutation (X[order], y[order]): two separate "
     "shuffles pair each example with another example's label.",
     _variant(_rng_order, _right_stop, own_order_for_y=True)),
    ("ignores_shuffle_false", "With shuffle=False keep the original order 0, 1, ..., n - 1; only shuffle when "
     "shuffle=True.", _variant(lambda n, shuffle, rng: rng.permutation(n), _right_stop)),
)


TARGETS: tuple[Target, ...] = (
    one_role_target("data.minibatches", "minibatches", D.minibatches, _trials, _observe, _MISTAKES, what="epochs"),
)
