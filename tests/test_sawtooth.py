"""dlcourse.sawtooth: the deep tent network and the shallow least-squares fit, against torch (float64)."""

import numpy as np
import pytest
import torch

from dlcourse.sawtooth import count_pieces, shallow_relu_fit, tent_network

X = np.linspace(0, 1, 2**10 + 1)          # dyadic: every kink i / 2^k (k <= 10) is a grid point


def tent(x):
    return 2 * np.maximum(x, 0) - 4 * np.maximum(x - 0.5, 0)


def as_torch(net):
    """The same MLP as a torch.nn.Sequential in float64 (torch stores W^T)."""
    modules = []
    for layer in range(1, net.num_layers + 1):
        W = net.params[f"W{layer}"]
        linear = torch.nn.Linear(*W.shape).double()
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(W.T))
            linear.bias.copy_(torch.tensor(net.params[f"b{layer}"]))
        modules += [linear, torch.nn.ReLU()] if layer < net.num_layers else [linear]
    return torch.nn.Sequential(*modules)


@pytest.mark.parametrize("k", [1, 2, 3, 5, 8])
def test_tent_network_is_the_composed_tent_map_and_agrees_with_torch(k):
    net = tent_network(k)
    assert net.sizes == (1, *[2] * k, 1)
    ours = net.forward(X[:, None]).ravel()
    composed = X
    for _ in range(k):
        composed = tent(composed)
    np.testing.assert_allclose(ours, composed, rtol=0, atol=1e-12)
    with torch.no_grad():
        theirs = as_torch(net)(torch.tensor(X[:, None])).numpy().ravel()
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
    assert count_pieces(X, ours) == 2**k


def test_count_pieces_counts_slope_changes():
    assert count_pieces(X, np.abs(X - 0.5)) == 2
    assert count_pieces(X, 2 * X - 1) == 1
    assert count_pieces(X, np.maximum(X - 0.25, 0) - 3 * np.maximum(X - 0.75, 0)) == 3
    odd = np.linspace(0, 1, 10)            # a kink at 0.5 between two grid points shows as two
    assert count_pieces(odd, np.abs(odd - 0.5)) == 3


def test_shallow_fit_is_torch_least_squares():
    rng = np.random.default_rng(0)
    x, target, kinks = np.sort(rng.uniform(-1, 2, 50)), rng.normal(size=50), rng.uniform(0, 1, 7)
    fitted, rms = shallow_relu_fit(x, target, kinks)
    features = torch.cat([torch.relu(torch.tensor(x)[:, None] - torch.tensor(kinks)[None, :]),
                          torch.ones(50, 1, dtype=torch.float64)], dim=1)
    solution = torch.linalg.lstsq(features, torch.tensor(target)[:, None], driver="gelsd").solution
    theirs = (features @ solution).numpy().ravel()
    np.testing.assert_allclose(fitted, theirs, rtol=1e-10, atol=1e-12)
    assert rms == pytest.approx(float(np.sqrt(np.mean((theirs - target) ** 2))), rel=1e-10)


@pytest.mark.parametrize("k", [2, 4, 5])
def test_the_sawtooth_needs_a_unit_at_every_kink_and_one_more(k):
    target = tent_network(k).forward(X[:, None]).ravel()
    grid = np.arange(2**k) / 2**k                              # 0 and the 2^k - 1 kinks
    assert shallow_relu_fit(X, target, grid)[1] < 1e-12
    assert shallow_relu_fit(X, target, grid[1:])[1] > 1e-2     # without the unit linear on [0, 1]
    assert shallow_relu_fit(X, target, np.delete(grid, 2))[1] > 1e-2   # a kink missing
    # more units than kinks on an even grid are exact only if the grid contains every kink
    assert shallow_relu_fit(X, target, np.arange(2**k + 1) / (2**k + 1))[1] > 1e-2
    assert shallow_relu_fit(X, target, np.arange(2**(k + 1)) / 2**(k + 1))[1] < 1e-12


def test_bad_arguments():
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        tent_network(0)
    with pytest.raises(ValueError, match="x must be strictly increasing"):
        count_pieces(np.array([0.0, 1.0, 0.5]), np.zeros(3))
    with pytest.raises(ValueError, match="x and y must be 1-D"):
        count_pieces(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="kinks must be 1-D with at least one entry"):
        shallow_relu_fit(X, X, np.array([]))
    with pytest.raises(ValueError, match="x and target must be 1-D"):
        shallow_relu_fit(X, X[:-1], np.array([0.5]))
    with pytest.raises(TypeError, match="kinks must be a floating-point array"):
        shallow_relu_fit(X, X, np.arange(3))
