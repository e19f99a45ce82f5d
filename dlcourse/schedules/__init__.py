"""Learning-rate schedules and gradient clipping.

A schedule is a pure function of the step, ``schedule(step) -> lr``, made by a
factory (the optax design):

    >>> import numpy as np
    >>> from dlcourse.schedules import cosine, linear_warmup
    >>> sched = linear_warmup(cosine(0.1, total_steps=900), warmup_steps=100)
    >>> sched(0), sched(100), round(sched(550), 4)   # warm-up from 0, peak, half-way down
    (0.0, 0.1, 0.05)
    >>> sched(np.arange(1000)).shape                  # the whole curve at once, for a plot
    (1000,)
    >>> sched.__name__
    'linear_warmup(cosine(lr=0.1, total_steps=900, min_lr=0), warmup_steps=100, start_factor=0)'

Steps count from 0: ``schedule(k)`` is the learning rate used by the (k+1)-th
optimizer step.  That is the value torch's ``scheduler.get_last_lr()`` reports
after ``k`` calls of ``scheduler.step()``.  Every schedule accepts a Python or
numpy integer (and returns a ``float``) or an integer ndarray of steps (and
returns a float64 array of the same shape).

Why decay at all (Robbins & Monro 1951; Goodfellow et al., *Deep Learning*,
section 8.3.1; SDU summer school 'Gradient-Based Learning'; VU Amsterdam DLVU
lecture 4 'Tools of the trade'): a minibatch gradient is a noisy estimate of the
true gradient, and its noise does not vanish at the minimum.  With a constant
learning rate SGD keeps bouncing around the minimum; stochastic approximation
converges (for convex problems, almost surely) when

    sum_k lr_k = inf      (enough total movement to reach the optimum from anywhere)
    sum_k lr_k^2 < inf    (the accumulated noise, variance ~ sum lr_k^2, stays finite)

for example lr_k ~ 1/k.  The schedules used in practice (step, linear,
cosine, exponential) do not satisfy both conditions literally; see each
docstring for why they are used anyway.

The two gradient-clipping functions (Pascanu et al. 2013) are the other half
of "taming the step size": they bound the step when the gradient itself
explodes.  Modules: :mod:`dlcourse.schedules.learning_rate` (the schedules)
and :mod:`dlcourse.schedules.clipping`.
"""

from dlcourse.schedules.clipping import clip_grad_norm, clip_grad_value
from dlcourse.schedules.learning_rate import (
    Schedule,
    constant,
    cosine,
    exponential_decay,
    linear_decay,
    linear_warmup,
    step_decay,
)

__all__ = [
    "Schedule",
    "clip_grad_norm",
    "clip_grad_value",
    "constant",
    "cosine",
    "exponential_decay",
    "linear_decay",
    "linear_warmup",
    "step_decay",
]
