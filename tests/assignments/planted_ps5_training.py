"""Planted wrong submissions for ps5_training.ipynb: each must lose exactly the points of its part, with a diagnosis."""

from assignments import likely_cause

PLANTED = [
    {
        "name": "minibatches_separate_shuffles",
        "notebook": "ps5_training.ipynb",
        "cell": "minibatches",
        "source": '''def minibatches(X, y, batch_size, *, shuffle=True, rng=None, drop_last=False):
    n = len(X)
    if shuffle:
        # shuffle the inputs and the labels (as on the slide: X, Y <- Shuffle(X), Shuffle(Y))
        X, y = X[rng.permutation(n)], y[rng.permutation(n)]
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        yield X[start:start + batch_size], y[start:start + batch_size]
''',
        "zero": ["minibatches_tests"],
        "feedback": likely_cause("data.minibatches", "separate_orders_for_x_and_y"),
    },
    {
        "name": "l2_penalty_without_half",
        "notebook": "ps5_training.ipynb",
        "cell": "weight_decay",
        "source": '''def l2_penalty(params, weight_decay):
    penalty = 0.0
    grads = {}
    for name, W in params.items():
        penalty += weight_decay * np.sum(W ** 2)
        grads[name] = 2 * weight_decay * W
    return penalty, grads


def decoupled_decay(theta, lr, weight_decay):
    return theta - lr * weight_decay * theta
''',
        "zero": ["weight_decay_tests"],
        "feedback": likely_cause("regularization.l2_penalty", "l2_no_half"),
    },
]
