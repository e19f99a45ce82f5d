"""The trial helpers shared by the layers.* topics."""

import numpy as np
import pytest

from dlcourse.grading import GradingError
from dlcourse.grading.topics._common import FLOAT32_TOLERANCE
from dlcourse.grading.topics._layer_common import array_of_shape, cases, tolerance_for


def test_float32_trials_get_the_float32_tolerance_and_others_the_targets():
    assert tolerance_for(np.float32) is FLOAT32_TOLERANCE
    assert tolerance_for(np.float64) is None


def test_hidden_mode_appends_the_extra_cases():
    assert cases(("a", "b"), ("c",), hidden=False) == ("a", "b")
    assert cases(("a", "b"), ("c",), hidden=True) == ("a", "b", "c")


def test_array_of_shape_passes_the_array_through_and_names_what_is_wrong():
    value = np.zeros((2, 3))
    assert array_of_shape(value, (2, 3), "dx", "relu_backward") is value
    with pytest.raises(GradingError, match=r"dx returned by relu_backward should be an array of shape \(3, 2\)"):
        array_of_shape(value, (3, 2), "dx", "relu_backward")
    with pytest.raises(GradingError, match="should be an array of shape"):
        array_of_shape([[0.0, 0.0, 0.0]] * 2, (2, 3), "dx", "relu_backward")
