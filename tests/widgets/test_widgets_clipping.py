"""dlcourse.widgets.clipping against torch's gradient clipping and torch.optim.SGD on the cliff.

TRAJECTORY_RTOL = 1e-9, TRAJECTORY_ATOL = 1e-12: 150 SGD steps in float64
against torch autograd + torch.optim.SGD.  Rounding is amplified where the
curvature is large: on the cliff face one step multiplies a perturbation by
|1 - lr h| with lr h up to ~ 100, once per crossing.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch_paths import torch_sgd

from dlcourse.surfaces import CLIFF
from dlcourse.widgets.clipping import CLIPPING, clipped_descent, clipping_cliff_explorer, describe_cliff

TRAJECTORY_RTOL, TRAJECTORY_ATOL = 1e-9, 1e-12

@pytest.mark.parametrize("clipping,threshold", [("off", 1.0), ("by value", 1.0), ("by norm", 1.0), ("by norm", 30.0),
                                                ("by value", 0.3)])
def test_clipped_descent_matches_torch_clip_and_sgd(clipping, threshold):
    result = clipped_descent(clipping, threshold)

    def clip(grad, t):
        holder = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
        holder.grad = grad.clone()
        if clipping == "by value":
            torch.nn.utils.clip_grad_value_([holder], threshold)
        elif clipping == "by norm":
            torch.nn.utils.clip_grad_norm_([holder], threshold)
        return holder.grad

    expected = torch_sgd(CLIFF.f, CLIFF.default_start, 150, 0.1, clip)
    np.testing.assert_allclose(result.trajectory, expected, rtol=TRAJECTORY_RTOL, atol=TRAJECTORY_ATOL)
    np.testing.assert_allclose(result.losses, CLIFF.f(expected), rtol=TRAJECTORY_RTOL, atol=TRAJECTORY_ATOL)


def test_the_unclipped_step_is_thrown_far_and_clipped_steps_are_bounded():
    unclipped = clipped_descent("off", 1.0)
    assert unclipped.step_lengths.max() > 5 and unclipped.grad_norms.max() > 50  # 250x the plateau's 0.3
    by_norm, by_value = clipped_descent("by norm", 1.0), clipped_descent("by value", 1.0)
    assert by_norm.step_lengths.max() <= 0.1 * 1.0  # lr * max_norm
    assert by_value.step_lengths.max() <= 0.1 * 1.0 * math.sqrt(2) + 1e-15  # each of 2 entries <= lr * clip_value
    np.testing.assert_array_equal(by_norm.unclipped, unclipped.trajectory)


@pytest.mark.parametrize("kwargs,match", [({"clipping": "norm"}, "clipping"), ({"threshold": 0.0}, "threshold"),
                                          ({"lr": -1.0}, "lr"), ({"steps": 0}, "steps")])
def test_clipped_descent_names_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        clipped_descent(**({"clipping": "off", "threshold": 1.0} | kwargs))


def test_the_widget_offers_every_kind_of_clipping():
    assert CLIPPING == ("off", "by value", "by norm")
    assert clipping_cliff_explorer().controls["clipping"].options == CLIPPING


def test_the_text_states_the_longest_steps():
    run = clipped_descent("by norm", 1.0)
    text = describe_cliff(run, "by norm", 1.0)
    unclipped = np.linalg.norm(np.diff(run.unclipped, axis=0), axis=1)
    assert f"longest step, {unclipped.max():.3g}, is step {unclipped.argmax()}" in text
    assert f"Clipping by norm at 1: the longest step is {run.step_lengths.max():.3g}" in text
    assert "Clipping" not in describe_cliff(clipped_descent("off", 1.0), "off", 1.0).split("Right")[0]
