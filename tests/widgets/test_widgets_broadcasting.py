"""dlcourse.widgets.broadcasting against torch's broadcasting.

EXACT: a single elementwise operation (a - b, a * b) is correctly rounded in
both libraries: identical results.  MEAN_RTOL = 1e-15: a mean of <= 4 numbers,
summed in possibly different orders.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from dlcourse.widgets.broadcasting import OPERATIONS, SHAPES, broadcast_demo, describe_broadcast

MEAN_RTOL = 1e-15

SIZES = {"N": 4, "D": 3}


def numeric(label):
    return [SIZES.get(s, s) for s in SHAPES[label]]


@pytest.mark.parametrize("shape_a, shape_b, operation", list(itertools.product(SHAPES, SHAPES, OPERATIONS)))
def test_broadcast_demo_matches_torch(shape_a, shape_b, operation):
    data = broadcast_demo(shape_a, shape_b, operation)
    a = torch.arange(1, 1 + np.prod(numeric(shape_a)), dtype=torch.float64).reshape(numeric(shape_a))
    b = 10.0 * torch.arange(1, 1 + np.prod(numeric(shape_b)), dtype=torch.float64).reshape(numeric(shape_b))
    reduce, keepdims = OPERATIONS[operation]
    if reduce:
        b = b.mean(dim=-1, keepdim=keepdims)
    torch.testing.assert_close(torch.tensor(data["a"]), a, rtol=0, atol=0)
    torch.testing.assert_close(torch.tensor(data["b"]), b, rtol=MEAN_RTOL, atol=0)
    try:
        expected = a * b if operation == "a * b" else a - b
    except RuntimeError:  # torch refuses the same shapes numpy refuses
        assert data["result"] is None and data["result_shape"] is None
        assert "cannot be broadcast" in data["error"]
        return
    assert data["error"] is None
    assert data["result_shape"] == tuple(expected.shape) == tuple(torch.broadcast_shapes(a.shape, b.shape))
    torch.testing.assert_close(torch.tensor(data["result"]), expected, rtol=MEAN_RTOL, atol=0)
    assert data["outer"] == (expected.numel() > max(a.numel(), b.numel()))


def test_the_classic_silent_bug_and_keepdims():
    bug = broadcast_demo("(N,1)", "(N,)", "a - b")
    assert bug["result_shape"] == (4, 4) and bug["outer"]
    assert bug["steps"]["pad with 1s"] == (["N", "1"], ["1", "N"])
    # the diagonal is the elementwise difference that was meant
    np.testing.assert_array_equal(np.diag(bug["result"]), bug["a"][:, 0] - bug["b"])
    without = broadcast_demo("(N,D)", "(N,D)", "a - b.mean(axis=-1)")
    assert without["error"] is not None and "(N,D)" in without["error"] and "(N,)" in without["error"]
    with_keepdims = broadcast_demo("(N,D)", "(N,D)", "a - b.mean(axis=-1, keepdims=True)")
    assert with_keepdims["result_shape"] == (4, 3) and not with_keepdims["outer"]


@pytest.mark.parametrize("argument", ["shape_a", "shape_b", "operation"])
def test_broadcast_demo_names_a_bad_argument(argument):
    values = {"shape_a": "(N,1)", "shape_b": "(N,)", "operation": "a - b"}
    values[argument] = "(3,)"
    with pytest.raises(ValueError, match=argument):
        broadcast_demo(**values)


def test_the_text_states_the_shapes_and_the_verdict():
    outer = describe_broadcast(broadcast_demo("(N,1)", "(N,)", "a - b"), "(N,1)", "(N,)", "a - b")
    assert "has shape (N,N)" in outer and "SILENT BUG? 16 entries" in outer and "[[-9, -19, -29, -39]," in outer
    error = describe_broadcast(broadcast_demo("(N,D)", "(N,)", "a - b"), "(N,D)", "(N,)", "a - b")
    assert "no result" in error and "cannot be broadcast" in error
