"""dlcourse.backprop.worked_examples: the lecture's two computations against torch.autograd and gradcheck."""

import numpy as np
import pytest
import torch

from backprop.helpers import NUMERICAL_REL_TOL, as_torch, assert_close
from dlcourse.backprop import logistic_example, worked_example
from dlcourse.gradcheck import numerical_gradient, rel_error


def torch_worked_example(x1, x2):
    x1t, x2t = as_torch(x1), as_torch(x2)
    a1 = torch.sin(x2t)
    a2 = x1t * x2t
    a3 = a1 + a2
    for node in (a1, a2, a3):
        node.retain_grad()
    a3.backward(torch.ones_like(a3))
    # Per-path contributions to df/dx2: the gradient through each branch alone.
    (path1,) = torch.autograd.grad(torch.sin(x2t), x2t, torch.ones_like(a3))
    (path2,) = torch.autograd.grad(x1t.detach() * x2t, x2t, torch.ones_like(a3))
    numpy = lambda t: t.detach().numpy()  # noqa: E731
    return {
        "a1": numpy(a1), "a2": numpy(a2), "a3": numpy(a3),
        "abar1": numpy(a1.grad), "abar2": numpy(a2.grad), "abar3": numpy(a3.grad),
        "x1bar": numpy(x1t.grad), "x2bar": numpy(x2t.grad),
        "x2bar_path1": numpy(path1), "x2bar_path2": numpy(path2),
    }


@pytest.mark.parametrize(
    "x1, x2",
    [(2.0, 3.0), (-1.5, 0.25), (np.array([0.3, -2.0, 1.1]), np.array([1.7, 0.4, -3.0]))],
    ids=["scalars", "negative", "arrays"],
)
def test_worked_example_matches_torch(x1, x2):
    result = worked_example(x1, x2)
    expected = torch_worked_example(x1, x2)
    for name, value in expected.items():
        assert_close(getattr(result, name), value)
    assert_close(result.f, expected["a3"])
    # The two paths add up to the total.
    assert_close(result.x2bar_path1 + result.x2bar_path2, expected["x2bar"])


def test_worked_example_gradcheck():
    x = np.array([0.8, -1.3])
    result = worked_example(x[0], x[1])
    numeric = numerical_gradient(lambda v: worked_example(v[0], v[1]).f, x)
    assert rel_error(numeric, np.array([result.x1bar, result.x2bar])) < NUMERICAL_REL_TOL


@pytest.mark.parametrize("n", [1, 3, 7])
def test_logistic_example_matches_torch(n):
    rng = np.random.default_rng(10 + n)
    w, x = rng.normal(size=n), rng.normal(size=n)
    result = logistic_example(w, x)
    wt, xt = as_torch(w), torch.tensor(x, dtype=torch.float64)
    u = torch.dot(wt, xt)
    p = torch.sigmoid(u)
    loss = 1.0 / p
    u.retain_grad()
    p.retain_grad()
    loss.backward()
    assert_close(result.u, u.item())
    assert_close(result.p, p.item())
    assert_close(result.L, loss.item())
    assert_close(result.pbar, p.grad.item())
    assert_close(result.ubar, u.grad.item())
    assert_close(result.wbar_gates, wt.grad.numpy())
    assert_close(result.wbar_combined, wt.grad.numpy())
    # The slide's simplification -(1 - sigma) x drops a factor 1/sigma.
    assert not np.allclose(-(1.0 - result.p) * x, wt.grad.numpy(), rtol=1e-3)
