"""dlcourse.autograd.shapes: the gradient of broadcasting is torch's sum_to_size; axis arguments."""

import numpy as np
import pytest
import torch

from autograd.helpers import rand
from autograd.test_ops import BROADCAST_SHAPES
from dlcourse.autograd.shapes import normalize_axes, unbroadcast


@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
def test_unbroadcast_is_torch_sum_to_size(shapes):
    broadcast = np.broadcast_shapes(*shapes)
    grad = rand(broadcast, 27)
    for shape in shapes:
        expected = torch.tensor(grad).sum_to_size(shape).numpy()
        result = unbroadcast(grad, shape)
        assert result.shape == shape
        np.testing.assert_allclose(result, expected, rtol=1e-12, atol=1e-12)


def test_unbroadcast_keeps_a_gradient_of_the_right_shape_as_is():
    grad = rand((2, 3), 28)
    assert unbroadcast(grad, (2, 3)) is grad


def test_normalize_axes():
    assert normalize_axes(None, 3) == (0, 1, 2)
    assert normalize_axes(-1, 3) == (2,)
    assert normalize_axes((2, -3), 3) == (0, 2)
    assert normalize_axes(None, 0) == ()
    with pytest.raises(ValueError, match=r"axis must be an int \(or ints\) in \[-ndim, ndim\) = \[0, 0\)"):
        normalize_axes(0, 0)
    with pytest.raises(ValueError, match="axis must be an int"):
        normalize_axes(True, 2)
