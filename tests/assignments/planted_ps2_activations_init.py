"""Planted wrong submissions for ps2_activations_init (run by tests/test_assignments.py).

Each entry replaces one solution cell with a realistic mistake; autograding must zero exactly the listed
test cells, and their error output must carry the catalogued diagnosis (named here by its mistake id).
"""

from assignments import likely_cause

PLANTED = [
    {
        "name": "layer_spread_without_activation_derivative",
        "notebook": "ps2_activations_init.ipynb",
        "cell": "spread_experiment",
        "source": '''def layer_spread(init, activation, depth=20, width=256, batch=512, rng=None):
    """Std of the activations and of the gradients, layer by layer, in a deep bias-free network.

    Args:
        init: "xavier_normal", "he_normal" or "normal_0.01": the distribution of every weight matrix.
        activation: "tanh", "relu" or "linear".
        depth: number of layers (default 20).
        width: units per layer; every W has shape (width, width) (default 256).
        batch: number of input rows (default 512).
        rng: numpy.random.Generator; None means np.random.default_rng(0).
    Returns:
        (activation_std, gradient_std), two float arrays of shape (depth,):
        activation_std[l] = std of the output of layer l + 1,
        gradient_std[l] = std of dL/d(input of layer l + 1), for L = sum(output * g).
    """
    if rng is None:
        rng = np.random.default_rng(0)
    std = {"xavier_normal": math.sqrt(1.0 / width), "he_normal": math.sqrt(2.0 / width), "normal_0.01": 0.01}[init]
    f, f_grad = {
        "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
        "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(z.dtype)),
        "linear": (lambda z: z, np.ones_like),
    }[activation]

    h = rng.standard_normal((batch, width))
    weights = [rng.normal(0.0, std, size=(width, width)) for _ in range(depth)]
    g = rng.standard_normal((batch, width))

    zs, activation_std = [], np.empty(depth)
    for layer, W in enumerate(weights):
        z = h @ W
        h = f(z)
        zs.append(z)
        activation_std[layer] = h.std()

    gradient_std = np.empty(depth)
    dh = g  # dL/d(output of the last layer)
    for layer in reversed(range(depth)):
        dh = dh @ weights[layer].T  # now dL/d(input of this layer)
        gradient_std[layer] = dh.std()
    return activation_std, gradient_std''',
        "zero": ["spread_experiment_tests"],
        "feedback": likely_cause("experiments.layer_spread", "spread_no_activation_derivative"),
    },
    {
        "name": "relu_grad_one_at_zero",
        "notebook": "ps2_activations_init.ipynb",
        "cell": "activations_classic",
        "source": '''def sigmoid(x):
    """Logistic sigmoid 1 / (1 + exp(-x)), elementwise, without overflow.

    Args:
        x: float array of any shape.
    Returns:
        Array of x's shape, values in (0, 1).
    """
    z = np.exp(-np.abs(x))  # <= 1, never overflows
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


def sigmoid_grad(x):
    """Derivative of the sigmoid at x: sigmoid(x) * (1 - sigmoid(x)); same shape as x."""
    # sigma(x) * sigma(-x) = z / (1 + z)^2 with z = exp(-|x|), for either sign of x
    z = np.exp(-np.abs(x))
    return z / ((1 + z) * (1 + z))


def tanh(x):
    """Hyperbolic tangent, elementwise; same shape as x, values in (-1, 1)."""
    return np.tanh(x)


def tanh_grad(x):
    """Derivative of tanh at x: 1 - tanh(x)**2; same shape as x."""
    t = np.tanh(x)
    return 1 - t * t


def relu(x):
    """max(0, x), elementwise; same shape as x."""
    return np.maximum(x, 0)


def relu_grad(x):
    """Derivative of ReLU: 1 where x > 0, 0 elsewhere (0 at x = 0, as torch); same shape and dtype as x."""
    return (x >= 0).astype(x.dtype)''',
        "zero": ["activations_classic_tests"],
        "feedback": likely_cause("activations.relu_grad", "relu_grad_at_zero"),
    },
]
