"""Check that a trained model reaches an accuracy threshold on held-out digits.

Unlike the other checks there is no reference output to agree with: the
student's model is judged by its accuracy on the test set of the course's one
fixed split of the 8x8 digits, ``dlcourse.training.digits_split``.  The
exercise and the check use the same split::

    from dlcourse.grading import check_accuracy
    from dlcourse.training import digits_split

    X_train, y_train, X_val, y_val, X_test, y_test = digits_split()
    ...                                   # train on X_train, tune on X_val
    check_accuracy(predict)               # predict(X) -> labels or (N, 10) scores
    check_accuracy(predict, hidden=True)  # also: predictions must not depend on the batch

``predict`` runs guarded like every student function (inputs untouched, time
limit, no torch and no reference code, except :mod:`dlcourse.data` for
loading and standardizing data) and only ever sees the arrays passed to it.

Source of the exercise: SDU summer school 'Gradient-Based Learning' (training
a classifier with SGD); VU Amsterdam DLVU lecture 4 'Tools of the trade'
(held-out data, standardize with training statistics).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from dlcourse._checks import check_range
from dlcourse.grading._guard import DEFAULT_FORBIDDEN, guarded_call
from dlcourse.grading._report import GradingError, describe_value
from dlcourse.training import digits_split

__all__ = ["NUM_CLASSES", "check_accuracy"]

NUM_CLASSES = 10
# predict may load and standardize data with the library (dlcourse.data uses
# the shared validators in dlcourse._checks); everything else in dlcourse and
# torch stays forbidden.
ALLOWED = ("dlcourse.data", "dlcourse._checks")
TIME_LIMIT = 10.0


def _labels_from(output: Any, n: int, where: str) -> np.ndarray:
    """Integer labels from predict's output (labels or (n, 10) scores), or GradingError saying what is wrong."""
    expected = f"{n} labels (shape ({n},), integers 0-9) or class scores of shape ({n}, {NUM_CLASSES})"
    if output is None:
        raise GradingError(f"predict returned None for {where}: return {expected} (did you forget `return`?)")
    try:
        values = np.asarray(output)
    except Exception:  # a ragged list, an object numpy cannot convert
        values = np.asarray(None)
    if not (np.issubdtype(values.dtype, np.integer) or np.issubdtype(values.dtype, np.floating)):
        raise GradingError(f"predict returned {describe_value(output)} for {where}; it should return {expected}")
    if values.shape == (n, NUM_CLASSES):
        if not np.all(np.isfinite(values)):
            raise GradingError(f"predict returned class scores containing nan or inf for {where}: look for an "
                               f"overflow (exp of a large number) or a division by zero (a std of 0)")
        return values.argmax(axis=1)
    if values.shape == (NUM_CLASSES, n):
        raise GradingError(f"predict returned shape {values.shape} for {where}: class scores must have one ROW per "
                           f"example, shape ({n}, {NUM_CLASSES}); transpose them")
    if values.shape != (n,):
        raise GradingError(f"predict returned an array of shape {values.shape} for {where}; it should return {expected}"
                           + (" (use .ravel() for labels of shape (n, 1))" if values.shape == (n, 1) else ""))
    if not np.all(np.isfinite(values)) or np.any(values != np.round(values)) or values.min() < 0 \
            or values.max() >= NUM_CLASSES:
        raise GradingError(f"predict returned values in [{values.min():.3g}, {values.max():.3g}] for {where}; labels "
                           f"must be integers 0-9 (take the argmax of the class scores over axis 1)")
    return values.astype(int)


def _predict(predict: Callable[[np.ndarray], Any], X: np.ndarray, where: str) -> np.ndarray:
    output = guarded_call(predict, "predict", [("X", X)], pure=True, forbidden=DEFAULT_FORBIDDEN,
                          allowed=ALLOWED, time_limit=TIME_LIMIT)
    return _labels_from(output, len(X), where)


def _batches_for_hidden_check(y: np.ndarray) -> list[np.ndarray]:
    """Test-set rows to predict separately: one example of each digit alone, then 7 others, then the rest."""
    singles = [np.flatnonzero(y == digit)[:1] for digit in range(NUM_CLASSES)]
    rest = np.setdiff1d(np.arange(len(y)), np.concatenate(singles))
    return [rows for rows in singles if rows.size] + [rest[:7], rest[7:]]


def _per_class(labels: np.ndarray, y: np.ndarray) -> str:
    """One line per digit: accuracy and what it was mostly mistaken for."""
    lines = []
    for digit in range(NUM_CLASSES):
        predicted = labels[y == digit]
        wrong = predicted[predicted != digit]
        line = f"    {digit}: {np.mean(predicted == digit):4.0%} of {len(predicted)}"
        if wrong.size:
            confused = np.bincount(wrong, minlength=NUM_CLASSES).argmax()
            line += f"  (mistaken most often for {confused})"
        lines.append(line)
    return "\n".join(lines)


def _hint(labels: np.ndarray, y: np.ndarray, accuracy: float) -> str:
    counts = np.bincount(labels, minlength=NUM_CLASSES)
    top = int(counts.argmax())
    if counts[top] > 0.5 * len(labels):
        return (f"your model predicts {top} for {counts[top] / len(labels):.0%} of the examples: training diverged or "
                f"did not run. Check that the loss decreases, try a smaller learning rate, and standardize the "
                f"inputs with the training mean and std.")
    # digit d predicted mostly as m(d) != d for most digits: outputs are mapped to the wrong labels
    mostly = [np.bincount(labels[y == d], minlength=NUM_CLASSES).argmax() for d in range(NUM_CLASSES)]
    if sum(m != d for d, m in enumerate(mostly)) >= NUM_CLASSES // 2 and len(set(mostly)) >= NUM_CLASSES - 2:
        return ("most digits are consistently predicted as another digit: check how outputs map to labels "
                "(the one-hot encoding of y, and the argmax over axis 1 of the scores).")
    if accuracy < 0.3:
        return ("accuracy near chance (10%): the model did not learn. Check that X and y stay paired when you "
                "shuffle, that the update goes against the gradient (theta - lr * grad), and that you train on "
                "X_train with y_train.")
    return ("close, but not there yet: train for more epochs or tune the learning rate, standardize the inputs with "
            "the TRAINING mean and std, and compare training and validation accuracy (a large gap means "
            "overfitting: add weight decay or stop earlier).")


def check_accuracy(predict: Callable[[np.ndarray], Any], threshold: float = 0.95, hidden: bool = False,
                   *, quiet: bool = False) -> str | None:
    """Check that ``predict`` classifies the held-out digits test split with accuracy >= ``threshold``.

    Args:
        predict: the student's function X -> labels, X of shape (N, 64) as in
            ``dlcourse.training.digits_split``; it returns N integer labels 0-9 or (N, 10)
            class scores (the argmax of each row is the label).
        threshold: the accuracy to reach, in [0, 1] (default 0.95: softmax
            regression on standardized pixels reaches about 0.96).
        hidden: also predict the test set in pieces (one example of each
            digit alone, then seven examples, then the rest): the labels must
            be the same as in one batch, as they are for a model that uses
            training statistics only.
        quiet: return the success line instead of printing it.

    Returns:
        None (the success line is printed), or the success line when ``quiet``.

    Raises:
        GradingError: below the threshold (with the accuracy per digit, the
            most frequent confusions and a hint), on a wrong output shape or
            kind, or when predict raises, modifies X, reaches torch or the
            reference, or runs past the time limit.
    """
    if not callable(predict):
        raise GradingError(f"predict should be a function, but it is {type(predict).__name__} {predict!r}")
    threshold = check_range(threshold, "threshold", 0.0, 1.0)
    split = digits_split()
    X, y = split.X_test, split.y_test
    start = time.perf_counter()
    labels = _predict(predict, X, "X_test")
    accuracy = float(np.mean(labels == y))
    correct = int(np.sum(labels == y))
    if accuracy < threshold:
        raise GradingError(
            f"predict: accuracy {accuracy:.1%} ({correct} of {len(y)}) on the held-out digits test split is below "
            f"the threshold {threshold:.0%}.\n  accuracy per digit:\n{_per_class(labels, y)}\n"
            f"Hint: {_hint(labels, y, accuracy)}"
        )
    if hidden:
        for rows in _batches_for_hidden_check(y):
            part = _predict(predict, X[rows], f"a batch of {len(rows)} test example(s)")
            differ = np.flatnonzero(part != labels[rows])
            if differ.size:
                index = int(rows[differ[0]])
                raise GradingError(
                    f"predict labels X_test[{index}] as {part[differ[0]]} in a batch of {len(rows)} example(s) but "
                    f"as {labels[index]} when given all of X_test: a prediction must not depend on the other "
                    f"examples in the batch. Standardize with the TRAINING mean and std (not the batch's), and use "
                    f"running statistics for batch norm at test time."
                )
    mode = "hidden" if hidden else "visible"
    line = (f"OK predict: accuracy {accuracy:.1%} ({correct} of {len(y)}) on the held-out digits test split, "
            f"threshold {threshold:.0%} ({mode} check, {time.perf_counter() - start:.2f} s)")
    if quiet:
        return line
    print(line)  # printed, not returned, so a notebook cell shows it once
    return None
