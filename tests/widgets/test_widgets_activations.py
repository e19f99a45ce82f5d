"""Tests for dlcourse.widgets.activations: curves and deep-network gradients against torch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse.activations import ACTIVATIONS
from dlcourse.widgets.activations import (
    ACTIVATION_NAMES,
    _standard_draws,
    activation_curves,
    activation_explorer,
    describe_activation_curves,
    describe_gradient_depth,
    gradient_depth,
)

# Elementwise functions in float64, the same operations as torch up to
# reassociation: rtol=1e-12 (atol for derivatives that are ~0 in the tails).
CURVE_RTOL, CURVE_ATOL = 1e-12, 1e-14
# Up to 50 layers of products of 64x64 matrices: rounding from reassociation
# in each matmul compounds layer after layer (observed 3e-13): rtol=1e-11 on the norms.
DEPTH_RTOL = 1e-11

PARAMS = {"negative_slope": 0.2, "alpha": 1.7, "beta": 2.5}
TORCH = {
    "sigmoid": lambda x, p: torch.sigmoid(x),
    "tanh": lambda x, p: torch.tanh(x),
    "relu": lambda x, p: F.relu(x),
    "leaky_relu": lambda x, p: F.leaky_relu(x, p["negative_slope"]),
    "prelu": lambda x, p: F.prelu(x, torch.tensor([p["negative_slope"]], dtype=torch.float64)),
    "elu": lambda x, p: F.elu(x, p["alpha"]),
    "gelu": lambda x, p: F.gelu(x, approximate=p["approximate"]),
    "selu": lambda x, p: F.selu(x),
    "silu": lambda x, p: F.silu(x),
    "mish": lambda x, p: F.mish(x),
    "softplus": lambda x, p: F.softplus(x, beta=p["beta"]),
}


def torch_value_and_grad(name, x, params):
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = TORCH[name](xt, params)
    (dy,) = torch.autograd.grad(y.sum(), xt)
    return y.detach().numpy(), dy.numpy()


def test_every_activation_of_the_library_is_offered():
    assert set(ACTIVATION_NAMES) == set(ACTIVATIONS) | {"prelu"} == set(TORCH)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_curves_match_torch_with_the_parameters_of_the_controls(name, approximate):
    params = {**PARAMS, "approximate": approximate}
    data = activation_curves(name, x_max=6.0, n_points=241, **params)
    y, dy = torch_value_and_grad(name, data["x"], params)
    np.testing.assert_allclose(data["y"], y, rtol=CURVE_RTOL, atol=CURVE_ATOL)
    np.testing.assert_allclose(data["dy"], dy, rtol=CURVE_RTOL, atol=CURVE_ATOL)


USED_CONTROL = {"leaky_relu": "negative_slope", "prelu": "negative_slope", "elu": "alpha", "softplus": "beta",
                "gelu": "approximate"}


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_parameters_are_either_used_or_listed_as_unused(name):
    data = activation_curves(name, **PARAMS)
    controls = {"negative_slope", "alpha", "beta", "approximate"}
    expected_unused = controls - {USED_CONTROL.get(name)}
    assert set(data["unused"]) == expected_unused
    assert len(data["kwargs"]) == (name in USED_CONTROL)


def test_saturated_marks_small_derivatives():
    data = activation_curves("tanh", x_max=4.0, saturation=0.1, n_points=9)
    np.testing.assert_array_equal(data["saturated"], np.abs(1 - np.tanh(data["x"]) ** 2) < 0.1)
    assert data["saturated"][0] and not data["saturated"][4]


@pytest.mark.parametrize(
    "kwargs, match",
    [({"activation": "swish"}, "activation"), ({"activation": "elu", "alpha": 0.0}, "alpha"),
     ({"activation": "gelu", "approximate": "erf"}, "approximate"), ({"activation": "relu", "x_max": -1.0}, "x_max")],
)
def test_curves_reject_bad_input_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        activation_curves(**kwargs)


def test_activation_builder_keywords_set_the_initial_controls():
    explorer = activation_explorer(activation="elu", alpha=2.0)
    assert explorer.values()["activation"] == "elu" and explorer.data["kwargs"] == {"alpha": 2.0}


# ---------------------------------------------------------------- depth
def torch_depth(name, depth, gain, width=64, batch=64, seed=0):
    x, upstream, standard = _standard_draws(width, batch, seed)
    fn = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": F.relu, "leaky_relu": F.leaky_relu,
          "elu": F.elu, "gelu": F.gelu, "selu": F.selu, "silu": F.silu, "mish": F.mish, "softplus": F.softplus}[name]
    weights = [torch.tensor(standard[layer] * (gain / np.sqrt(width)), requires_grad=True) for layer in range(depth)]
    h, zs, hs = torch.tensor(x), [], []
    for W in weights:
        z = h @ W
        z.retain_grad()
        h = fn(z)
        zs.append(z)
        hs.append(h)
    (h * torch.tensor(upstream)).sum().backward()
    dfactor = []
    for z in zs:
        zd = z.detach().requires_grad_()
        (d,) = torch.autograd.grad(fn(zd).sum(), zd)
        dfactor.append(d.pow(2).mean().sqrt().item())
    return {
        "grad_W": np.array([W.grad.norm().item() for W in weights]),
        "delta": np.array([z.grad.norm().item() for z in zs]),
        "activation_std": np.array([h.std(unbiased=False).item() for h in hs]),
        "dfactor": np.array(dfactor),
    }


@pytest.mark.parametrize("depth, gain", [(1, 1.0), (7, 0.6), (50, 1.3)])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_gradient_depth_matches_torch_autograd(name, depth, gain):
    ours = gradient_depth(name, depth, gain)
    expected = torch_depth(name, depth, gain)
    for key, value in expected.items():
        np.testing.assert_allclose(ours[key], value, rtol=DEPTH_RTOL, err_msg=key)


def test_predicted_is_the_top_gradient_times_the_product_of_factors_below_it():
    out = gradient_depth("tanh", 12, 1.1)
    factors = 1.1 * out["dfactor"]
    assert out["predicted"][-1] == out["delta"][-1]
    np.testing.assert_allclose(out["predicted"][:-1] / out["predicted"][1:], factors[:-1], rtol=1e-12)


def test_sigmoid_vanishes_and_relu_with_he_gain_does_not():
    sigmoid = gradient_depth("sigmoid", 30, 1.0)["grad_W"]
    relu = gradient_depth("relu", 50, np.sqrt(2.0))["grad_W"]
    # sigmoid' <= 1/4, so 29 steps down shrink the gradient by far more than 1e-10
    assert sigmoid[0] / sigmoid[-1] < 1e-10
    assert 0.1 < relu[0] / relu[-1] < 10


def test_cached_results_are_read_only():
    out = gradient_depth("relu", 3, 1.0)
    with pytest.raises(ValueError):
        out["grad_W"][0] = 0.0
    assert gradient_depth("relu", 3, 1.0) is out


@pytest.mark.parametrize(
    "args, match",
    [(("swish", 3, 1.0), "activation"), (("relu", 51, 1.0), "depth"), (("relu", 0, 1.0), "depth"),
     (("relu", 3, 0.0), "gain")],
)
def test_gradient_depth_rejects_bad_input_by_name(args, match):
    with pytest.raises(ValueError, match=match):
        gradient_depth(*args)


def test_the_texts_state_the_figures_numbers():
    from dlcourse.widgets.activations import _compute_depth

    data = activation_curves("relu")
    text = describe_activation_curves(data, "relu", 0.05, 5.0)
    assert "relu" in text and "f′(5) = 1" in text and "x < 0" in text and "50% of the window" in text
    depth = _compute_depth("sigmoid", 10, 1.0, True)
    text = describe_gradient_depth(depth, "sigmoid", 10, 1.0, True)
    grad_W = depth["main"]["grad_W"]
    assert f"{grad_W[0]:.3g} at layer 1" in text and f"{grad_W[-1]:.3g} at layer 10" in text
    assert "below 1 (the gradient shrinks) at 10 of 10 layers" in text and "tanh" in text  # the grey curves
