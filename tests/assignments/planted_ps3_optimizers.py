"""Planted wrong submissions for ps3_optimizers: each must lose exactly the points of its part, with a diagnosis."""

from assignments import likely_cause

PLANTED = [
    {
        "name": "momentum_moving_average",
        "notebook": "ps3_optimizers.ipynb",
        "cell": "momentum",
        "source": '''def momentum_init(theta):
    return {"step": 0, "v": np.zeros_like(theta)}


def momentum_step(theta, grad, state, *, lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0):
    t = state["step"] + 1
    g = grad + weight_decay * theta
    # velocity as a running average of the gradients (the moving-average form)
    v = momentum * state["v"] + (1 - momentum) * g
    new_theta = theta - lr * v
    return new_theta, {"step": t, "v": v}
''',
        "zero": ["momentum_tests"],
        "feedback": likely_cause("optim.momentum", "momentum_moving_average"),
    },
    {
        "name": "adam_no_bias_correction",
        "notebook": "ps3_optimizers.ipynb",
        "cell": "adam",
        "source": '''def adam_init(theta):
    return {"step": 0, "m": np.zeros_like(theta), "v": np.zeros_like(theta)}


def adam_step(theta, grad, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    t = state["step"] + 1
    g = grad + weight_decay * theta
    m = beta1 * state["m"] + (1 - beta1) * g
    v = beta2 * state["v"] + (1 - beta2) * g * g
    # the moments are used as they are, without dividing by 1 - beta**t
    new_theta = theta - lr * m / (np.sqrt(v) + eps)
    return new_theta, {"step": t, "m": m, "v": v}
''',
        "zero": ["adam_tests"],
        "feedback": likely_cause("optim.adam", "adam_no_bias_correction"),
    },
]
