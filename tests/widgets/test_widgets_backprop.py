"""Tests for dlcourse.widgets.backprop: the worked-example graph against torch.autograd."""

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from dlcourse.widgets.backprop import (
    computation_graph,
    computation_graph_explorer,
    describe_computation_graph,
    draw_computation_graph,
)

# float64, the same elementary operations (sin, cos, *, +) as torch up to a few
# ulps in sin/cos: rtol=1e-12, atol for values that are ~0.
RTOL, ATOL = 1e-12, 1e-14
POINTS = [(2.0, 1.0), (-1.3, 0.0), (0.0, -2.7), (0.7, np.pi / 2), (-3.0, 3.1)]


def torch_gradients(x1, x2):
    t1 = torch.tensor(x1, dtype=torch.float64, requires_grad=True)
    t2 = torch.tensor(x2, dtype=torch.float64, requires_grad=True)
    a1, a2 = torch.sin(t2), t1 * t2
    for node in (a1, a2):
        node.retain_grad()
    f = a1 + a2
    f.backward()
    return f.item(), t1.grad.item(), t2.grad.item(), a1.grad.item(), a2.grad.item()


@pytest.mark.parametrize("x1, x2", POINTS)
def test_values_and_adjoints_match_torch(x1, x2):
    data = computation_graph(x1, x2)
    f, x1bar, x2bar, abar1, abar2 = torch_gradients(x1, x2)
    np.testing.assert_allclose(data["values"]["a3"], f, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(
        [data["adjoints"][k] for k in ("x1", "x2", "a1", "a2", "a3")], [x1bar, x2bar, abar1, abar2, 1.0],
        rtol=RTOL, atol=ATOL,
    )


@pytest.mark.parametrize("x1, x2", POINTS)
def test_the_two_edges_out_of_x2_carry_the_path_gradients_that_sum_to_x2bar(x1, x2):
    data = computation_graph(x1, x2)
    into_x2 = {path: adjoint for src, _, _, adjoint, path in data["edges"] if src == "x2"}
    assert set(into_x2) == {1, 2}
    # torch: d sin(x2)/dx2 alone and d(x1 x2)/dx2 alone are the two paths
    t2 = torch.tensor(x2, dtype=torch.float64, requires_grad=True)
    (through_sin,) = torch.autograd.grad(torch.sin(t2), t2)
    (through_product,) = torch.autograd.grad(x1 * t2, t2)
    np.testing.assert_allclose([into_x2[1], into_x2[2]], [through_sin.item(), through_product.item()],
                               rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(into_x2[1] + into_x2[2], data["adjoints"]["x2"], rtol=RTOL, atol=ATOL)


def test_every_edge_carries_its_source_value_forward():
    data = computation_graph(0.4, -1.1)
    for src, _, value, _, _ in data["edges"]:
        assert value == data["values"][src]


@pytest.mark.parametrize("x1, x2", POINTS)
def test_slope_curves_are_the_two_terms_and_their_sum(x1, x2):
    data = computation_graph(x1, x2, n_points=7)
    grid = data["x2_grid"]
    assert grid.shape == (7,) and grid[0] <= min(-np.pi, x2 - 0.5) and grid[-1] >= max(np.pi, x2 + 0.5)
    np.testing.assert_allclose(data["sin_curve"], torch.sin(torch.tensor(grid)).numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(data["product_curve"], x1 * grid, rtol=RTOL)
    np.testing.assert_allclose(data["f_curve"], data["sin_curve"] + data["product_curve"], rtol=RTOL)


@pytest.mark.parametrize("bad, error, match", [("a", TypeError, "x1"), (float("nan"), ValueError, "x1")])
def test_bad_input_names_the_argument(bad, error, match):
    with pytest.raises(error, match=match):
        computation_graph(bad, 1.0)


def test_draw_rejects_an_unknown_pass():
    data = computation_graph(1.0, 1.0)
    with pytest.raises(ValueError, match="show"):
        draw_computation_graph(Figure(), data, 1.0, 1.0, "sideways")


def test_builder_keywords_set_the_initial_controls():
    explorer = computation_graph_explorer(x1=-1.5, x2=0.5, show="forward")
    assert explorer.values() == {"x1": -1.5, "x2": 0.5, "show": "forward"}
    assert explorer.data["values"]["a2"] == pytest.approx(-0.75, rel=RTOL)


def test_the_text_states_the_values_and_the_summed_adjoint():
    data = computation_graph(2.0, 1.0)
    both = describe_computation_graph(data, 2.0, 1.0, "both")
    assert "f = a1 + a2 = 2.84" in both and "df/dx2 = 2.54" in both and "cos(x2) = 0.54" in both
    forward = describe_computation_graph(data, 2.0, 1.0, "forward")
    assert "f = a1 + a2" in forward and "Adjoints" not in forward
