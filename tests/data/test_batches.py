"""dlcourse.data.batches: minibatches against torch.utils.data.DataLoader."""

import math

import numpy as np
import pytest
import torch

from dlcourse.data import minibatches


def _loader_batches(X, y, batch_size, shuffle, drop_last):
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(y))
    generator = torch.Generator().manual_seed(0)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, generator=generator
    )
    return [(xb.numpy(), yb.numpy()) for xb, yb in loader]


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("batch_size", [1, 3, 10, 50])
@pytest.mark.parametrize("n", [1, 7, 10, 33])
def test_minibatches_match_dataloader(n, batch_size, drop_last):
    rng = np.random.default_rng(n)
    X, y = rng.normal(size=(n, 3)), rng.integers(0, 10, size=n)
    # in order: the very same batches as DataLoader(shuffle=False)
    ours = list(minibatches(X, y, batch_size, shuffle=False, drop_last=drop_last))
    theirs = _loader_batches(X, y, batch_size, False, drop_last)
    assert len(ours) == len(theirs) == (n // batch_size if drop_last else math.ceil(n / batch_size))
    for (xb, yb), (xt, yt) in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(xb, xt)
        np.testing.assert_array_equal(yb, yt)
    # shuffled: the same batch sizes as DataLoader(shuffle=True); every example at most once
    ours = list(minibatches(X, y, batch_size, rng=rng, drop_last=drop_last))
    theirs = _loader_batches(X, y, batch_size, True, drop_last)
    assert [len(b[0]) for b in ours] == [len(b[0]) for b in theirs]
    assert [len(b[1]) for b in ours] == [len(b[1]) for b in theirs]
    rows = np.concatenate([xb for xb, _ in ours]) if ours else np.zeros((0, 3))
    row_ids = [int(np.flatnonzero((row == X).all(axis=1))[0]) for row in rows]
    assert len(set(row_ids)) == len(row_ids)
    if not drop_last:
        assert sorted(row_ids) == list(range(n))
    for xb, yb in ours:  # rows and labels stay paired
        ids = [int(np.flatnonzero((row == X).all(axis=1))[0]) for row in xb]
        np.testing.assert_array_equal(yb, y[ids])


def test_minibatches_new_permutation_every_epoch_and_seeded():
    X, y = np.arange(40.0)[:, None], np.arange(40)
    rng = np.random.default_rng(0)
    epoch1 = np.concatenate([yb for _, yb in minibatches(X, y, 8, rng=rng)])
    epoch2 = np.concatenate([yb for _, yb in minibatches(X, y, 8, rng=rng)])
    assert sorted(epoch1) == sorted(epoch2) == list(range(40))
    assert not np.array_equal(epoch1, epoch2)
    again = np.concatenate([yb for _, yb in minibatches(X, y, 8, rng=np.random.default_rng(0))])
    np.testing.assert_array_equal(epoch1, again)


def test_minibatches_are_copies():
    X, y = np.zeros((6, 2)), np.zeros(6, dtype=int)
    for xb, yb in minibatches(X, y, 4, shuffle=False):
        xb += 1.0
        yb += 1
    assert not X.any() and not y.any()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"shuffle": True, "rng": None}, ValueError, "rng is required when shuffle=True"),
        ({"rng": 42}, TypeError, "rng must be a numpy.random.Generator"),
        ({"batch_size": 0}, ValueError, "batch_size must be an integer >= 1"),
        ({"batch_size": 2.0}, ValueError, "batch_size must be an integer"),
        ({"y": np.zeros(4)}, ValueError, "X and y must have the same number of examples"),
    ],
)
def test_minibatches_errors_are_raised_at_the_call(kwargs, error, match):
    arguments = {"X": np.zeros((5, 2)), "y": np.zeros(5), "batch_size": 2, "rng": np.random.default_rng(0)}
    arguments |= kwargs
    with pytest.raises(error, match=match):
        minibatches(**arguments)  # not only when iterated
