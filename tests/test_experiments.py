"""dlcourse.experiments.layer_spread against torch.autograd, float64.

The network is rebuilt here in torch from draws made in the prescribed order
(x, W_1 ... W_depth, g) with the standard deviations written out from the
papers, never from dlcourse.  tests/grading/test_experiments.py reuses
``torch_spread`` to recompute the answer key of the plot's conclusions.
"""

import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from dlcourse import init as I
from dlcourse.experiments import (
    SPREAD_ACTIVATION_PAIRS,
    SPREAD_ACTIVATIONS,
    SPREAD_INITS,
    SPREAD_WEIGHT_STD,
    layer_spread,
)

# float64; torch and numpy sum each matrix product in their own order (~1e-16 relative per entry and layer),
# over at most 20 layers, and a std averages many entries: 1e-10 leaves a wide margin
TORCH_RTOL = 1e-10
# std of the N(0, std^2) weights for a square (width, width) matrix: Glorot, He (fan_in, ReLU gain sqrt 2), fixed
PAPER_STD = {"xavier_normal": lambda width: math.sqrt(2.0 / (width + width)),
             "he_normal": lambda width: math.sqrt(2.0 / width),
             "normal_0.01": lambda width: 0.01}
TORCH_ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu, "linear": lambda z: z}
DEFAULT_SIZES = (20, 256, 512)


@pytest.fixture(autouse=True)
def one_torch_thread():
    # 20 (512, 256) x (256, 256) products: two threads fighting numpy and xdist for 2 cores run 5x slower
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def torch_spread(init, activation, depth, width, batch, seed):
    """(activation_std, gradient_std) of the same network, by torch.autograd in float64."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, width))
    weights = [rng.normal(0.0, PAPER_STD[init](width), size=(width, width)) for _ in range(depth)]
    g = rng.standard_normal((batch, width))
    f = TORCH_ACTIVATIONS[activation]
    h = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    inputs, outputs = [], []
    for W in weights:
        h.retain_grad()
        inputs.append(h)
        h = f(h @ torch.tensor(W, dtype=torch.float64))
        outputs.append(h)
    (h * torch.tensor(g, dtype=torch.float64)).sum().backward()
    activation_std = np.array([out.detach().std(correction=0).item() for out in outputs])
    gradient_std = np.array([inp.grad.std(correction=0).item() for inp in inputs])
    return activation_std, gradient_std


@pytest.mark.parametrize("init", SPREAD_INITS)
@pytest.mark.parametrize("activation", SPREAD_ACTIVATIONS)
@pytest.mark.parametrize(("depth", "width", "batch"), [(3, 7, 5), (1, 4, 1), (20, 33, 9)])
def test_layer_spread_matches_torch_autograd(init, activation, depth, width, batch):
    seed = depth * 1000 + width
    expected = torch_spread(init, activation, depth, width, batch, seed)
    obtained = layer_spread(init, activation, depth, width, batch, rng=np.random.default_rng(seed))
    for e, o in zip(expected, obtained, strict=True):
        assert o.shape == (depth,) and o.dtype == np.float64
        np.testing.assert_allclose(o, e, rtol=TORCH_RTOL, atol=0)


@pytest.mark.parametrize(("init", "activation"), [("he_normal", "relu"), ("normal_0.01", "tanh")])
def test_layer_spread_defaults_match_torch_with_seed_0(init, activation):
    # rng=None means np.random.default_rng(0); the defaults are depth 20, width 256, batch 512
    expected = torch_spread(init, activation, *DEFAULT_SIZES, seed=0)
    for e, o in zip(expected, layer_spread(init, activation), strict=True):
        np.testing.assert_allclose(o, e, rtol=TORCH_RTOL, atol=0)


def test_layer_spread_draws_only_from_rng():
    rng = np.random.default_rng(3)
    first = layer_spread("xavier_normal", "tanh", 2, 3, 4, rng=rng)
    second = layer_spread("xavier_normal", "tanh", 2, 3, 4, rng=rng)  # the generator advanced: another network
    again = layer_spread("xavier_normal", "tanh", 2, 3, 4, rng=np.random.default_rng(3))
    assert not np.array_equal(first[0], second[0])
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"init": "glorot"}, ValueError, "init must be one of"),
    ({"activation": "sigmoid"}, ValueError, "activation must be one of"),
    ({"depth": 0}, ValueError, "depth must be an integer >= 1"),
    ({"width": 2.0}, ValueError, "width must be an integer >= 1"),
    ({"batch": -3}, ValueError, "batch must be an integer >= 1"),
    ({"rng": 42}, TypeError, "rng must be a numpy.random.Generator"),
])
def test_layer_spread_rejects_bad_arguments(kwargs, error, match):
    arguments = {"init": "he_normal", "activation": "relu", "depth": 2, "width": 3, "batch": 2} | kwargs
    with pytest.raises(error, match=match):
        layer_spread(**arguments)


@pytest.mark.parametrize("width", [1, 7, 256])
@pytest.mark.parametrize("init", SPREAD_INITS)
def test_weight_std_draws_the_matrices_of_the_dlcourse_init_function(init, width):
    # SPREAD_WEIGHT_STD writes the std out so layer_spread reads like its docstring; it must stay what
    # dlcourse.init draws with, draw for draw
    initializer = {"xavier_normal": I.xavier_normal, "he_normal": I.he_normal,
                   "normal_0.01": lambda shape, rng: I.normal(shape, rng, std=0.01)}[init]
    ours = np.random.default_rng(width).normal(0.0, SPREAD_WEIGHT_STD[init](width), size=(width, width))
    np.testing.assert_array_equal(ours, initializer((width, width), np.random.default_rng(width)))


def test_weight_std_is_the_papers():
    for init, std in SPREAD_WEIGHT_STD.items():
        for width in (1, 7, 256):
            assert std(width) == pytest.approx(PAPER_STD[init](width), rel=1e-15)


def test_the_tables_name_the_same_choices():
    assert SPREAD_INITS == tuple(SPREAD_WEIGHT_STD) == ("xavier_normal", "he_normal", "normal_0.01")
    assert SPREAD_ACTIVATIONS == tuple(SPREAD_ACTIVATION_PAIRS) == ("tanh", "relu", "linear")


def test_importing_the_module_does_not_import_torch():
    code = "import sys, dlcourse.experiments; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
