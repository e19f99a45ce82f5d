"""How noisy minibatch gradients are: their measured and predicted spread for several batch sizes.

Source: SDU summer school 'Gradient-Based Learning' (SGD, inexact gradients);
Georgia Tech CS 4644/7643 'Optimization' (noisy gradients); Goodfellow et
al., *Deep Learning* section 8.1.3 (the standard error of a minibatch mean).
"""

from __future__ import annotations

import numpy as np

from dlcourse._checks import as_float_array, check_int, check_rng

__all__ = ["minibatch_gradient_spread"]


def minibatch_gradient_spread(per_example_grads: np.ndarray, batch_sizes: tuple[int, ...], n_batches: int,
                              rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Mean and spread of minibatch gradients, measured and predicted, for several batch sizes.

    A minibatch gradient averages B per-example gradients drawn without
    replacement from the n examples; here the batches are those of shuffled
    epochs (a new permutation split into n // B batches of B), as in training.  It is
    unbiased, E[g_B] = g (the full gradient), and its total variance is

        E |g_B - g|^2 = tr(Sigma) / B * (n - B) / (n - 1),

    with tr(Sigma) = mean_i |g_i - g|^2: about 1/B for B << n, and 0 at B = n.

    Args:
        per_example_grads: (n, P) one flattened gradient per example.
        batch_sizes: batch sizes in 1..n.
        n_batches: minibatches drawn per batch size, >= 2.
        rng: numpy Generator.

    Returns:
        dict of arrays over ``batch_sizes``: "batch_size"; "variance", the mean
        of |g_B - g|^2 over the drawn batches; "predicted", the formula above;
        "bias", |mean of the drawn g_B - g| (-> 0 as n_batches grows).

    Example:
        >>> grads = np.random.default_rng(0).normal(size=(100, 3))
        >>> spread = minibatch_gradient_spread(grads, (1, 10, 100), 1000, np.random.default_rng(1))
        >>> spread["variance"].round(3), spread["predicted"].round(3)
        (array([3.101, 0.285, 0.   ]), array([3.101, 0.282, 0.   ]))
    """
    grads = as_float_array(per_example_grads, "per_example_grads")
    if grads.ndim != 2:
        raise ValueError(f"per_example_grads must have shape (n, P), got {grads.shape}")
    n = len(grads)
    sizes = np.array([check_int(b, "batch_sizes[i]", 1) for b in batch_sizes])
    if sizes.max() > n:
        raise ValueError(f"batch_sizes must be at most n = {n}, got {sizes.max()}")
    n_batches, rng = check_int(n_batches, "n_batches", 2), check_rng(rng)
    full = grads.mean(axis=0)
    trace = np.mean(np.sum((grads - full) ** 2, axis=1))
    variance, bias = np.empty(len(sizes)), np.empty(len(sizes))
    for i, b in enumerate(sizes):
        per_epoch, batch_grads = n // b, []
        while sum(map(len, batch_grads)) < n_batches:  # the batches of shuffled epochs, as in training
            order = rng.permutation(n)[: per_epoch * b]
            batch_grads.append(grads[order].reshape(per_epoch, b, -1).mean(axis=1))
        batch_grads = np.concatenate(batch_grads)[:n_batches]
        variance[i] = np.mean(np.sum((batch_grads - full) ** 2, axis=1))
        bias[i] = np.linalg.norm(batch_grads.mean(axis=0) - full)
    predicted = trace / sizes * (n - sizes) / max(n - 1, 1)
    return {"batch_size": sizes, "variance": variance, "predicted": predicted, "bias": bias}
