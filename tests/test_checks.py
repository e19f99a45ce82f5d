"""The shared validators: every error names the argument, what was expected and what was given."""

import numpy as np
import pytest

from dlcourse._checks import (
    as_float_array,
    check_choice,
    check_int,
    check_range,
    check_rng,
    check_same_shape,
    check_shape2d,
)


def test_as_float_array_keeps_float_arrays_and_converts_scalars():
    x = np.ones(3, dtype=np.float32)
    assert as_float_array(x, "x") is x
    assert as_float_array(2, "x").dtype == np.float64
    assert as_float_array([1.5, 2], "x").shape == (2,)


@pytest.mark.parametrize("bad", [np.arange(3), np.array([True, False])])
def test_as_float_array_rejects_non_float_arrays(bad):
    with pytest.raises(TypeError, match=r"theta must be a floating-point array, got dtype .*theta\.astype"):
        as_float_array(bad, "theta")


def test_as_float_array_rejects_non_numbers():
    with pytest.raises(TypeError, match="grad"):
        as_float_array("abc", "grad")
    with pytest.raises(TypeError, match="bool"):
        as_float_array(True, "x")


def test_check_same_shape_names_both_arguments_and_shapes():
    with pytest.raises(ValueError, match=r"grad must have the same shape as theta.*\(3,\).*\(3, 1\)"):
        check_same_shape(np.zeros(3), np.zeros((3, 1)), "theta", "grad")
    check_same_shape(np.zeros((2, 2)), np.ones((2, 2)), "a", "b")


def test_check_rng():
    rng = np.random.default_rng(0)
    assert check_rng(rng) is rng
    with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator.*int"):
        check_rng(0)


def test_check_range_bounds_and_messages():
    assert check_range(0.5, "p", 0, 1) == 0.5
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\), got 1"):
        check_range(1, "p", 0, 1, high_inclusive=False)
    with pytest.raises(ValueError, match=r"eps must be in \(0, inf\)"):
        check_range(0.0, "eps", 0, None, low_inclusive=False)
    with pytest.raises(ValueError, match="lr"):
        check_range(float("nan"), "lr", 0)
    with pytest.raises(TypeError, match="lr must be a real number"):
        check_range("0.1", "lr", 0)


def test_check_choice_lists_the_options():
    assert check_choice("relu", "nonlinearity", ["relu", "tanh"]) == "relu"
    with pytest.raises(ValueError, match=r"nonlinearity must be one of 'relu', 'tanh'; got 'rleu'"):
        check_choice("rleu", "nonlinearity", ["relu", "tanh"])


def test_check_shape2d():
    assert check_shape2d((3, 4)) == (3, 4)
    for bad in [(3,), (0, 2), (2.0, 3), "ab", (True, 2)]:
        with pytest.raises(ValueError, match="shape must be a pair of positive integers"):
            check_shape2d(bad)


def test_check_int():
    assert check_int(3, "batch_size", 1) == 3
    assert check_int(np.int64(0), "steps", 0) == 0
    for bad in [0, 2.0, True, "3"]:
        with pytest.raises(ValueError, match=r"batch_size must be an integer >= 1, got"):
            check_int(bad, "batch_size", 1)
