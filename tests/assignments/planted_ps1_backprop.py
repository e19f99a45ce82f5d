"""Planted wrong submissions for ps1_backprop: each must lose exactly the points of its part, with a diagnosis."""

from assignments import likely_cause

PLANTED = [
    {
        "name": "multiply_gate_swapped",
        "notebook": "ps1_backprop.ipynb",
        "cell": "gates",
        "source": '''class MultiplyGate:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dz):
        # each input times dz (the local derivatives mixed up)
        return self.x * dz, self.y * dz


class AddGate:
    def forward(self, x, y):
        return x + y

    def backward(self, dz):
        return dz, dz


class SinGate:
    def forward(self, x):
        self.x = x
        return np.sin(x)

    def backward(self, dz):
        return np.cos(self.x) * dz


class SigmoidGate:
    def forward(self, x):
        self.s = 1 / (1 + np.exp(-x))
        return self.s

    def backward(self, dz):
        return self.s * (1 - self.s) * dz
''',
        "zero": ["gates_tests"],
        "feedback": likely_cause("backprop.MultiplyGate", "multiply_swapped"),
    },
    {
        "name": "two_layer_net_no_relu_mask",
        "notebook": "ps1_backprop.ipynb",
        "cell": "two_layer_net",
        "source": '''def two_layer_net(X, y, params):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    n = len(X)
    z1 = X @ W1 + b1
    h = np.maximum(0, z1)
    scores = h @ W2 + b2
    scores = scores - scores.max(axis=1, keepdims=True)
    log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), y].mean()
    probs = np.exp(log_probs)

    dscores = probs.copy()
    dscores[np.arange(n), y] -= 1
    dscores /= n
    dW2 = h.T @ dscores
    db2 = dscores.sum(axis=0)
    dh = dscores @ W2.T
    dz1 = dh  # forgot the ReLU's mask
    dW1 = X.T @ dz1
    db1 = dz1.sum(axis=0)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
''',
        "zero": ["two_layer_net_tests"],
        "feedback": likely_cause("layers.two_layer_net", "mlp_no_relu_mask"),
    },
]
