"""Trained-model check: a good model passes, bad ones are told why, contract failures are explained."""

import numpy as np
import pytest

from dlcourse.grading import GradingError
from dlcourse.grading.topics.model import check_accuracy
from dlcourse.training import digits_split


def softmax_regression(X_train, y_train, steps, learning_rate=0.5, weight_decay=1e-3):
    """A student's model: softmax regression on standardized pixels, full-batch gradient descent (numpy only)."""
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    std[std == 0] = 1.0
    Z = (X_train - mean) / std
    W, b = np.zeros((Z.shape[1], 10)), np.zeros(10)
    onehot = np.eye(10)[y_train]
    for _ in range(steps):
        scores = Z @ W + b
        p = np.exp(scores - scores.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        grad = (p - onehot) / len(Z)
        W -= learning_rate * (Z.T @ grad + weight_decay * W)
        b -= learning_rate * grad.sum(axis=0)
    return mean, std, W, b


@pytest.fixture(scope="module")
def trained():
    split = digits_split()
    return split, softmax_regression(split.X_train, split.y_train, steps=500)


@pytest.fixture(scope="module")
def scores(trained):
    _, (mean, std, W, b) = trained
    return lambda X: ((X - mean) / std) @ W + b


@pytest.mark.parametrize("hidden", [False, True])
def test_a_trained_model_passes_with_labels_or_scores(scores, hidden):
    assert check_accuracy(scores, hidden=hidden, quiet=True).startswith("OK predict: accuracy")
    assert check_accuracy(lambda X: scores(X).argmax(axis=1), hidden=hidden, quiet=True).startswith("OK")


def test_the_success_line_is_printed_once(scores, capsys):
    assert check_accuracy(scores) is None
    line = capsys.readouterr().out.strip()
    assert line.startswith("OK predict: accuracy") and "\n" not in line


def test_float_labels_that_are_whole_numbers_are_accepted(scores):
    check_accuracy(lambda X: scores(X).argmax(axis=1).astype(float), hidden=True, quiet=True)


def test_predict_may_use_dlcourse_data(trained):
    split, (_, _, W, b) = trained

    def predict(X):
        from dlcourse.data import standardize

        _, X_standardized, _, _ = standardize(split.X_train, X)
        return X_standardized @ W + b

    check_accuracy(predict, quiet=True)


def expect_failure(predict, *fragments, hidden=False, threshold=0.95):
    with pytest.raises(GradingError) as info:
        check_accuracy(predict, threshold=threshold, hidden=hidden, quiet=True)
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)
    return str(info.value)


def test_a_model_that_predicts_one_class_gets_the_divergence_hint():
    message = expect_failure(lambda X: np.full(len(X), 3), "accuracy 10.", "below the threshold 95%",
                             "your model predicts 3 for 100% of the examples", "smaller learning rate")
    assert "    3: 100% of " in message and "    0:   0% of 27  (mistaken most often for 3)" in message


def test_relabeled_outputs_get_the_label_mapping_hint(scores):
    expect_failure(lambda X: (scores(X).argmax(axis=1) + 1) % 10, "consistently predicted as another digit")


def test_a_random_model_gets_the_did_not_learn_hint():
    def guess(X):
        return np.random.default_rng(0).integers(0, 10, len(X))

    expect_failure(guess, "accuracy near chance")


def test_an_undertrained_model_gets_the_per_digit_accuracy_and_the_keep_going_hint(trained):
    split, _ = trained
    mean, std, W, b = softmax_regression(split.X_train, split.y_train, steps=1, learning_rate=0.05)
    message = expect_failure(lambda X: ((X - mean) / std) @ W + b, "accuracy per digit", "close, but not there yet")
    assert message.count("% of ") == 10


def test_the_threshold_is_respected(scores):
    check_accuracy(scores, threshold=0.9, quiet=True)
    expect_failure(scores, "below the threshold 100%", threshold=1.0)


def test_batch_statistics_pass_the_visible_check_and_fail_the_hidden_one(trained):
    _, (_, _, W, b) = trained

    def predict_with_batch_statistics(X):
        mean, std = X.mean(axis=0), X.std(axis=0)
        std[std == 0] = 1.0
        return (((X - mean) / std) @ W + b).argmax(axis=1)

    check_accuracy(predict_with_batch_statistics, quiet=True)
    expect_failure(predict_with_batch_statistics, "must not depend on the other examples in the batch",
                   "TRAINING mean and std", hidden=True)


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda s: lambda X: None, "predict returned None for X_test"),
        (lambda s: lambda X: s(X).T, "returned shape (10, 270) for X_test: class scores must have one ROW per example"),
        (lambda s: lambda X: s(X).argmax(axis=1)[:, None], "shape (270, 1)"),
        (lambda s: lambda X: s(X)[:, :9], "it should return 270 labels (shape (270,), integers 0-9) or class scores"),
        (lambda s: lambda X: s(X).argmax(axis=1) + 0.5, "labels must be integers 0-9"),
        (lambda s: lambda X: s(X).argmax(axis=1) + 1, "labels must be integers 0-9"),
        (lambda s: lambda X: s(X) * np.where(X[:, :1] > -1, np.nan, 1.0), "class scores containing nan or inf"),
        (lambda s: lambda X: ["a"] * len(X), "it should return 270 labels"),
        (lambda s: lambda X: s(X[:, :10]), "predict raised ValueError"),
    ],
)
def test_contract_failures_are_explained(scores, make, fragment):
    expect_failure(make(scores), fragment)


def test_predict_must_not_modify_x_or_use_torch(scores):
    def in_place(X):
        X -= 0.0
        X *= 2.0
        return scores(X / 2.0)

    expect_failure(in_place, "predict modified its input X in place")

    def with_torch(X):
        import torch

        return torch.from_numpy(scores(X)).argmax(dim=1).numpy()

    expect_failure(with_torch, "called torch")


def test_bad_arguments():
    with pytest.raises(GradingError, match="predict should be a function"):
        check_accuracy(None)
    with pytest.raises(ValueError, match="threshold"):
        check_accuracy(lambda X: X, threshold=1.5)
