"""Float64 torch twins of dlcourse.layers.MLP, trained on dlcourse.data.minibatches, for the training tests."""

from __future__ import annotations

import numpy as np
import torch

from dlcourse.data import minibatches

TORCH_OPTIMIZERS = {
    "sgd": lambda params, lr: torch.optim.SGD(params, lr=lr),
    "momentum": lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9),
    "nesterov": lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True),
    "rmsprop": lambda params, lr: torch.optim.RMSprop(params, lr=lr),
    "adam": lambda params, lr: torch.optim.Adam(params, lr=lr),
}


def torch_mlp(params: dict[str, np.ndarray]) -> torch.nn.Sequential:
    """A float64 torch MLP (Linear, ReLU, ..., Linear) holding the same weights (torch stores W.T)."""
    layers = []
    n_layers = len(params) // 2
    for layer in range(1, n_layers + 1):
        W = params[f"W{layer}"]
        linear = torch.nn.Linear(*W.shape, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(W.T))
            linear.bias.copy_(torch.tensor(params[f"b{layer}"]))
        layers += [linear, torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def torch_train(model, X, y, optimizer, lr, epochs, batch_size, seed, masks=None):
    """Train the torch model on dlcourse.data.minibatches(rng=default_rng(seed)); return the full loss per epoch."""
    opt = TORCH_OPTIMIZERS[optimizer](model.parameters(), lr)
    rng = np.random.default_rng(seed)
    X_all, y_all = torch.tensor(X), torch.tensor(y)
    losses = [torch.nn.functional.cross_entropy(model(X_all), y_all).item()]
    for _ in range(epochs):
        for X_batch, y_batch in minibatches(X, y, batch_size, rng=rng):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(torch.tensor(X_batch)), torch.tensor(y_batch)).backward()
            if masks:
                for layer, mask in masks.items():
                    layer.weight.grad *= mask
            opt.step()
        with torch.no_grad():
            losses.append(torch.nn.functional.cross_entropy(model(X_all), y_all).item())
    return np.array(losses)
