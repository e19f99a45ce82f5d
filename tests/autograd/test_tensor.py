"""dlcourse.autograd.tensor: the graph, backward(), gradient accumulation, no_grad, against torch (float64)."""

import numpy as np
import pytest
import torch

from autograd.helpers import assert_close, check_against_torch, pair, rand
from dlcourse.autograd import Tensor, is_grad_enabled, no_grad, zero_grad
from dlcourse.gradcheck import numerical_gradient, rel_error


def test_node_used_on_several_paths_sums_gradients():
    def fn(x, w):
        h = x.tanh()  # h feeds four uses
        return h * h + h * w + (h @ w.T) / 3.0 + h.exp()

    check_against_torch(fn, [rand((3, 3), 11), rand((3, 3), 12)])
    check_against_torch(lambda x: x * x + x, [rand((4,), 13)])
    check_against_torch(lambda x: x - x / (x * x + 1.0), [rand((2, 5), 14)])


@pytest.mark.parametrize("batch", [1, 3, 7])
def test_mlp_loss(batch):
    rng = np.random.default_rng(batch)
    x, y = rng.normal(size=(batch, 5)), rng.normal(size=(batch, 2))
    params = [rng.normal(size=(5, 7)), rng.normal(size=7), rng.normal(size=(7, 2)), rng.normal(size=2)]

    def mse(xp_x, xp_y):
        def loss(w1, b1, w2, b2):
            return (((xp_x @ w1 + b1).tanh() @ w2 + b2 - xp_y) ** 2).mean()

        return loss

    # The input x also requires grad here, to check data gradients too.
    ours, theirs = zip(*(pair(a) for a in [x, *params]), strict=True)
    loss = mse(ours[0], Tensor(y))(*ours[1:])
    loss_t = mse(theirs[0], torch.tensor(y))(*theirs[1:])
    assert loss.shape == ()
    assert_close(loss.item(), loss_t.item())
    loss.backward()
    loss_t.backward()
    for mine, reference in zip(ours, theirs, strict=True):
        assert_close(mine.grad, reference.grad)


def test_gradients_pass_numerical_gradient_check():
    # A third opinion besides torch: central differences on a Tensor-valued loss
    # (numerical_gradient accepts a 0-d Tensor through float()).  h = 1e-5 in
    # float64 on O(1) values: relative error < 1e-7 (see tests/test_gradcheck.py).
    rng = np.random.default_rng(26)
    x, w_np = Tensor(rng.normal(size=(3, 4))), rng.normal(size=(4, 2))

    def loss(w):
        return ((x @ w).sigmoid() * (x.sum(axis=0) @ w)).mean()

    w = Tensor(w_np, requires_grad=True)
    loss(w).backward()
    numeric = numerical_gradient(lambda v: loss(Tensor(v)), w_np)
    assert rel_error(numeric, w.grad) < 1e-7


def test_chain_of_ops_with_reductions():
    def fn(a, b, c, d):
        mixed = (a.sigmoid() * b - c.relu()) / ((d * 0.5).exp() + 1.0)
        return ((mixed * mixed + 1.0).log().mean(axis=0, keepdims=True) @ b.T).sum(axis=-1)

    check_against_torch(fn, [rand((4, 3), s) for s in range(15, 19)])


def test_deep_chain_does_not_hit_the_recursion_limit():
    depth = 5000  # 3 ops per step: 15000 nodes, far beyond the recursion limit of 1000
    x_np = rand((3,), 19)
    x, xt = pair(x_np)
    y, yt = x, xt
    for _ in range(depth):
        y = (y * 0.9995 + 0.001).tanh()
        yt = (yt * 0.9995 + 0.001).tanh()
    y.sum().backward()
    yt.sum().backward()
    # 15000 ops each rounding once: rtol=1e-9.
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-9)
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-9)


def test_no_grad_records_nothing_and_restores_state():
    w = Tensor(np.ones(3), requires_grad=True)
    with no_grad():
        assert not is_grad_enabled()
        out = (w * 2.0).sum()
        with no_grad():
            pass
        assert not is_grad_enabled()  # a nested block does not re-enable recording
    assert is_grad_enabled()
    assert not out.requires_grad and out._parents == ()
    with pytest.raises(RuntimeError, match="does not require grad"):
        out.backward()
    with pytest.raises(ZeroDivisionError), no_grad():
        _ = 1 / 0
    assert is_grad_enabled()

    @no_grad()
    def update(param):
        return param - 0.1

    assert not update(w).requires_grad
    assert (w * 2.0).requires_grad  # recording is back on


def test_requires_grad_propagates_like_torch():
    a, b = Tensor([1.0, 2.0]), Tensor([3.0, 4.0], requires_grad=True)
    assert not (a * 2.0).requires_grad
    assert (a * b).requires_grad
    assert not b.detach().requires_grad and b.detach().data is b.data


def test_grad_is_none_until_backward_and_zero_grad_resets_it():
    w = Tensor(rand((2, 3), 20), requires_grad=True)
    assert w.grad is None
    (w * w).sum().backward()
    assert w.grad is not None
    w.zero_grad()
    assert w.grad is None
    v = Tensor(np.ones(2), requires_grad=True)
    (w.sum() + v.sum()).backward()
    zero_grad([w, v])
    assert w.grad is None and v.grad is None


def test_grad_accumulates_over_backward_calls_like_torch():
    w_np, x_np = rand((3, 2), 21), rand((4, 3), 22)
    w, wt = pair(w_np)
    loss = (Tensor(x_np) @ w).tanh().sum()
    loss_t = (torch.tensor(x_np) @ wt).tanh().sum()
    loss.backward()
    loss.backward()  # the same graph twice (torch needs retain_graph=True)
    loss_t.backward(retain_graph=True)
    loss_t.backward()
    (w * w).sum().backward()  # and a second graph
    (wt * wt).sum().backward()
    assert_close(w.grad, wt.grad)


def test_retain_grad_on_intermediate_matches_torch():
    x, xt = pair(rand((3,), 23))
    h, ht = x.sigmoid(), xt.sigmoid()
    z, zt = h * 3.0, ht * 3.0
    h.retain_grad()
    ht.retain_grad()
    (z * h).sum().backward()
    (zt * ht).sum().backward()
    assert_close(h.grad, ht.grad)
    assert z.grad is None  # non-leaf without retain_grad, as in torch
    with pytest.raises(RuntimeError, match="retain_grad"):
        Tensor(1.0).retain_grad()


def test_backward_on_a_leaf_and_with_a_tensor_gradient():
    w = Tensor(np.ones(2), requires_grad=True)
    w.backward(Tensor([2.0, 3.0]))
    np.testing.assert_array_equal(w.grad, [2.0, 3.0])


def test_backward_errors():
    w = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"one-element output.*shape \(2, 3\).*\.sum\(\)"):
        (w * 2.0).backward()
    with pytest.raises(ValueError, match=r"grad must have the same shape as the output.*\(2, 3\).*\(3,\)"):
        (w * 2.0).backward(np.ones(3))
    with pytest.raises(TypeError, match="grad must be a floating-point array"):
        (w * 2.0).backward(np.ones((2, 3), dtype=int))
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).sum().backward()
    w.sum().reshape(1, 1).backward()  # a one-element (1, 1) output works without grad, like torch
    np.testing.assert_array_equal(w.grad, np.ones((2, 3)))


def test_bad_data_and_item():
    t = Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"item\(\) needs a Tensor with exactly one element"):
        t.item()
    with pytest.raises(TypeError, match="data must be numbers"):
        Tensor(["a"])


def test_data_conversion_and_dtypes():
    ints = Tensor(np.arange(3), requires_grad=True)
    assert ints.dtype == np.float64
    assert Tensor(2).dtype == np.float64 and Tensor([True]).dtype == np.float64
    source = np.array([1.0, 2.0])
    copied = Tensor(source)
    source[0] = 99.0
    assert copied.data[0] == 1.0  # the constructor copies, like torch.tensor
    w32 = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    out = (w32 * 2.0 + 1).exp().sum()  # Python numbers do not promote, like torch
    assert out.dtype == np.float32
    out.backward()
    assert w32.grad.dtype == np.float32
    mixed = (w32 * np.ones(3)).sum()  # a float64 array promotes the result, not the gradient
    assert mixed.dtype == np.float64
    mixed.backward()
    mixed.backward()
    assert w32.grad.dtype == np.float32


def test_inputs_are_not_mutated():
    x_np, w_np = rand((3, 4), 24), rand((4, 2), 25)
    x_before, w_before = x_np.copy(), w_np.copy()
    x, w = Tensor(x_np, requires_grad=True), Tensor(w_np, requires_grad=True)
    upstream = np.ones((3, 2))
    ((x @ w).sigmoid() + x.sum(axis=1, keepdims=True)).backward(upstream)
    np.testing.assert_array_equal(x.data, x_before)
    np.testing.assert_array_equal(w.data, w_before)
    np.testing.assert_array_equal(upstream, np.ones((3, 2)))


def test_stored_gradients_are_private_writable_arrays():
    upstream = np.ones(3)
    leaf = Tensor(np.zeros(3), requires_grad=True)
    leaf.backward(upstream)
    leaf.grad += 1.0
    np.testing.assert_array_equal(upstream, np.ones(3))
    summed = Tensor(np.zeros((2, 3)), requires_grad=True)
    summed.sum().backward()  # the gradient of sum is a broadcast (read-only) view internally
    summed.grad += 1.0
    np.testing.assert_array_equal(summed.grad, np.full((2, 3), 2.0))


def test_item_shape_and_repr():
    t = Tensor([[1.5]], requires_grad=True)
    assert t.item() == 1.5 and isinstance(t.item(), float)
    assert float(t) == 1.5
    assert t.shape == (1, 1) and t.ndim == 2
    assert repr(t) == "Tensor([[1.5]], requires_grad=True)"
    assert repr(Tensor([1.0, 2.0])) == "Tensor([1., 2.])"
    assert repr(t * 2.0) == "Tensor([[3.]], op='mul')"
