"""dlcourse.early_stopping: the rule against its definition, and the recorded run against the lecture's claims."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.early_stopping import early_stopping, early_stopping_run
from dlcourse.training import digits_split


def rule_by_definition(val_loss, patience):
    for t in range(len(val_loss)):
        best = int(np.argmin(val_loss[: t + 1]))  # the first smallest
        if t - best >= patience:
            return t, best
    return len(val_loss) - 1, int(np.argmin(val_loss))


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("patience", [1, 3, 10])
def test_early_stopping_is_its_definition(seed, patience):
    rng = np.random.default_rng(seed)
    # a falling then rising curve with noise, and ties from rounding
    t = np.arange(40)
    val_loss = np.round((t - rng.integers(5, 35)) ** 2 / 100 + rng.normal(0, 0.3, 40), 1)
    assert early_stopping(val_loss, patience) == rule_by_definition(val_loss, patience)
    assert early_stopping(list(val_loss), patience) == rule_by_definition(val_loss, patience)


def test_nan_never_improves_and_bad_input_is_rejected():
    assert early_stopping([1.0, np.nan, np.nan, 0.5], patience=2) == (2, 0)
    with pytest.raises(ValueError, match="patience"):
        early_stopping([1.0, 2.0], patience=0)
    with pytest.raises(ValueError, match="val_loss"):
        early_stopping([], patience=2)
    with pytest.raises(ValueError, match="val_loss"):
        early_stopping(np.zeros((2, 2)), patience=2)


def test_run_overfits_the_flipped_labels_as_the_lecture_says():
    run = early_stopping_run()
    best = int(np.argmin(run["val_loss"]))
    assert 0 < best < len(run["val_loss"]) - 10
    assert run["val_loss"][-1] > run["val_loss"][best] + 0.2
    assert run["val_accuracy"][best] > run["val_accuracy"][-1] + 0.05
    assert run["train_loss"][-1] < 0.2 < run["train_loss"][best]   # the flipped labels are memorized by the end
    assert run["weight_norm"][-1] > 1.5 * run["weight_norm"][best]
    assert 40 < int(run["flipped"]) < 70                            # about 0.2 * 300 * 9/10


def test_run_uses_the_course_split_and_rejects_bad_input():
    run = early_stopping_run(20, epochs=2, label_noise=0.0)
    assert int(run["flipped"]) == 0 and run["val_loss"].shape == (2,)
    with pytest.raises(ValueError, match="n_train"):
        early_stopping_run(len(digits_split().X_train) + 1)
    with pytest.raises(ValueError, match="label_noise"):
        early_stopping_run(label_noise=1.5)
