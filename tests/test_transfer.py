"""dlcourse.transfer: the washed-out inputs, the frozen probe's pieces, and the lecture's claims."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.transfer import finetune_vs_scratch, frozen_features_probe, washed_out


def test_washed_out_maps_black_and_white_to_greys():
    x = np.array([0.0, 0.25, 1.0])
    np.testing.assert_allclose(washed_out(x, 0.5), [0.25, 0.375, 0.75])
    np.testing.assert_array_equal(washed_out(x, 1.0), x)
    np.testing.assert_allclose(washed_out(x, 0.0), 0.5)
    with pytest.raises(ValueError, match="contrast"):
        washed_out(x, 1.5)


def test_frozen_features_are_no_better_than_pixels_or_random_features():
    """The lecture's negative case, at the lecture's settings: within a few points of the best baseline."""
    result = frozen_features_probe()
    for accuracies in result.values():
        best_baseline = max(accuracies["pixels, linear"], accuracies["random features"])
        assert abs(accuracies["features from 0-4"] - best_baseline) < 0.03
    assert result[10]["pixels, linear"] > 0.85   # the head does learn 5-9 from 50 examples


def test_finetuning_beats_scratch_and_the_unchanged_network():
    """The lecture's positive case, at the lecture's settings."""
    result = finetune_vs_scratch()
    for accuracies in result.values():
        assert accuracies["pretrained, fine-tuned"] > accuracies["from scratch"] + 0.05
        assert accuracies["pretrained, fine-tuned"] > accuracies["pretrained, not fine-tuned"] + 0.1
    assert result[1]["from scratch"] < result[1]["pretrained, not fine-tuned"]


def test_with_full_contrast_the_unchanged_network_is_the_source_network():
    clean = finetune_vs_scratch((1,), contrast=1.0, repeats=1, epochs=1)
    assert clean[1]["pretrained, not fine-tuned"] > 0.9   # the source task itself


@pytest.mark.parametrize("function", [frozen_features_probe, finetune_vs_scratch])
def test_bad_input_is_rejected(function):
    with pytest.raises(ValueError, match="ks"):
        function((0,))
    with pytest.raises(ValueError, match="ks"):
        function((101,))
    with pytest.raises(ValueError, match="repeats"):
        function((1,), repeats=0)
