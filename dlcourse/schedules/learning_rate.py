"""Learning-rate schedules: ``schedule(step) -> lr``, made by factories (the optax design).

Steps count from 0: ``schedule(k)`` is the learning rate used by the (k+1)-th
optimizer step, the value torch's ``scheduler.get_last_lr()`` reports after
``k`` calls of ``scheduler.step()``.  Every schedule accepts a Python or numpy
integer (and returns a ``float``) or an integer ndarray of steps (and returns
a float64 array of the same shape).  See :mod:`dlcourse.schedules` for why
the rate decays at all (Robbins & Monro 1951).

Source: Goodfellow, Bengio & Courville, *Deep Learning* (2016), section
8.3.1; Loshchilov & Hutter (2017); Goyal et al. (2017); SDU summer school
'Gradient-Based Learning'; VU Amsterdam DLVU lecture 4 'Tools of the trade'.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dlcourse._checks import check_int, check_range

__all__ = [
    "Schedule",
    "constant",
    "cosine",
    "exponential_decay",
    "linear_decay",
    "linear_warmup",
    "step_decay",
]

Steps = int | np.integer | np.ndarray
Schedule = Callable[[Steps], float | np.ndarray]


# ---------------------------------------------------------------------------
# plumbing shared by every schedule
# ---------------------------------------------------------------------------


def _as_steps(step: Steps) -> tuple[np.ndarray, bool]:
    """Return ``(steps as an int64 array, whether step was a scalar)``."""
    if isinstance(step, (bool, np.bool_)):
        raise TypeError(f"step must be an integer >= 0 or an integer ndarray, got bool {step!r}")
    if isinstance(step, (int, np.integer)):
        steps, scalar = np.asarray(step, dtype=np.int64), True
    elif isinstance(step, np.ndarray) and np.issubdtype(step.dtype, np.integer):
        steps, scalar = step.astype(np.int64, copy=False), False
    else:
        found = f"ndarray of dtype {step.dtype}" if isinstance(step, np.ndarray) else type(step).__name__
        raise TypeError(
            f"step must be an integer >= 0 or an integer ndarray (e.g. np.arange(1000)), "
            f"got {found}; steps are counted in whole optimizer steps"
        )
    if steps.size and steps.min() < 0:
        raise ValueError(
            f"step must be >= 0 (steps are counted from 0), got minimum step {int(steps.min())}"
        )
    return steps, scalar


def _make_schedule(rule: Callable[[np.ndarray], np.ndarray], description: str) -> Schedule:
    """Wrap ``rule`` (int64 steps -> float64 learning rates) into a public schedule."""

    def schedule(step: Steps) -> float | np.ndarray:
        steps, scalar = _as_steps(step)
        lr = rule(steps)
        return float(lr) if scalar else lr

    # The description makes a schedule readable in a REPL or a plot legend.
    schedule.__name__ = schedule.__qualname__ = description
    return schedule


def _check_lr(lr: object, name: str = "lr") -> float:
    return check_range(lr, name, 0.0, None, low_inclusive=False)


# ---------------------------------------------------------------------------
# schedules
# ---------------------------------------------------------------------------


def constant(lr: float) -> Schedule:
    """Constant learning rate: lr_k = lr.

    Args:
        lr: learning rate, > 0.

    Returns:
        ``schedule(step)``.

    Notes:
        Satisfies sum lr_k = inf but not sum lr_k^2 < inf (Robbins & Monro 1951):
        with noisy minibatch gradients SGD does not converge to the minimum but
        keeps fluctuating in a region whose size grows with lr.  Full-batch
        gradient descent can use a constant rate because the true gradient
        itself goes to zero (SDU 'Gradient-Based Learning').

    Example:
        >>> sched = constant(0.1)
        >>> sched(0), sched(np.arange(3))
        (0.1, array([0.1, 0.1, 0.1]))
    """
    lr = _check_lr(lr)
    return _make_schedule(lambda k: np.full(k.shape, lr), f"constant(lr={lr:g})")


def step_decay(lr: float, step_size: int, gamma: float = 0.1) -> Schedule:
    """Step decay (torch ``StepLR``): multiply by ``gamma`` every ``step_size`` steps.

        lr_k = lr * gamma ** floor(k / step_size)

    Args:
        lr: initial learning rate, > 0.
        step_size: number of steps between two decays, a positive integer.
        gamma: decay factor in (0, 1]; default 0.1 (divide by 10).

    Returns:
        ``schedule(step)``.

    Notes:
        The classic "divide by 10 when the validation loss plateaus" recipe,
        with the plateaus fixed in advance.  A piecewise-constant schedule that
        decays geometrically has sum lr_k < inf, so Robbins-Monro's first
        condition fails in theory; training stops long before that matters.
        torch's ``StepLR`` counts ``k`` in calls of ``scheduler.step()``, which
        is usually once per epoch: pass ``step_size`` in the same unit.

    Example:
        >>> step_decay(0.1, step_size=2, gamma=0.5)(np.arange(6))
        array([0.1  , 0.1  , 0.05 , 0.05 , 0.025, 0.025])
    """
    lr = _check_lr(lr)
    step_size = check_int(step_size, "step_size", 1)
    gamma = check_range(gamma, "gamma", 0.0, 1.0, low_inclusive=False)
    return _make_schedule(
        lambda k: lr * gamma ** (k // step_size),
        f"step_decay(lr={lr:g}, step_size={step_size}, gamma={gamma:g})",
    )


def exponential_decay(lr: float, gamma: float) -> Schedule:
    """Exponential decay (torch ``ExponentialLR``): lr_k = lr * gamma ** k.

    Args:
        lr: initial learning rate, > 0.
        gamma: decay factor per step, in (0, 1].

    Returns:
        ``schedule(step)``.

    Notes:
        sum lr_k = lr / (1 - gamma) is finite for gamma < 1: the total distance
        SGD can travel is bounded, so a too-small gamma freezes training before
        it arrives (Robbins-Monro's first condition fails).

    Example:
        >>> exponential_decay(1.0, gamma=0.5)(np.arange(4))
        array([1.   , 0.5  , 0.25 , 0.125])
    """
    lr = _check_lr(lr)
    gamma = check_range(gamma, "gamma", 0.0, 1.0, low_inclusive=False)
    return _make_schedule(
        lambda k: lr * gamma**k, f"exponential_decay(lr={lr:g}, gamma={gamma:g})"
    )


def linear_decay(lr: float, final_lr: float, tau: int) -> Schedule:
    """Linear decay until step ``tau``, then constant (Goodfellow et al. 8.3.1).

        alpha = k / tau
        lr_k  = (1 - alpha) * lr + alpha * final_lr     for k <= tau
        lr_k  = final_lr                                for k >  tau

    Identical to torch ``LinearLR(start_factor=1, end_factor=final_lr / lr,
    total_iters=tau)``.

    Args:
        lr: initial learning rate lr_0, > 0.
        final_lr: learning rate lr_tau reached at step ``tau``, in [0, lr];
            Goodfellow et al. suggest roughly 1% of lr.
        tau: number of decay steps, a positive integer; the book suggests
            enough iterations for a few hundred passes through the training set.

    Returns:
        ``schedule(step)``.

    Notes:
        Source: Goodfellow, Bengio & Courville, *Deep Learning* (2016), section
        8.3.1; SDU summer school 'Gradient-Based Learning'.  This rule does NOT
        satisfy sum lr_k^2 < inf: after ``tau`` the rate is a positive
        constant, so the sum of squares grows without bound (and with
        ``final_lr = 0`` the first condition fails instead).  It is used anyway
        because Robbins-Monro is an asymptotic guarantee for convex problems,
        while training runs a finite number of steps: what matters in practice
        is that the noise level lr_tau at the end is small enough, and a
        constant lr_tau > 0 keeps the last steps useful instead of freezing
        training like lr_k ~ 1/k would.

    Example:
        >>> linear_decay(0.1, final_lr=0.01, tau=3)(np.arange(5)).round(4)
        array([0.1 , 0.07, 0.04, 0.01, 0.01])
    """
    lr = _check_lr(lr)
    final_lr = check_range(final_lr, "final_lr", 0.0, lr)
    tau = check_int(tau, "tau", 1)

    def rule(k: np.ndarray) -> np.ndarray:
        alpha = np.minimum(k, tau) / tau
        return (1 - alpha) * lr + alpha * final_lr

    return _make_schedule(rule, f"linear_decay(lr={lr:g}, final_lr={final_lr:g}, tau={tau})")


def cosine(lr: float, total_steps: int, min_lr: float = 0.0) -> Schedule:
    """Cosine annealing from ``lr`` to ``min_lr`` over ``total_steps`` steps.

        lr_k = min_lr + (lr - min_lr) * (1 + cos(pi * k / total_steps)) / 2    for k <= total_steps
        lr_k = min_lr                                                          for k >  total_steps

    Equal to torch ``CosineAnnealingLR(T_max=total_steps, eta_min=min_lr)`` for
    k <= total_steps.

    Args:
        lr: initial (maximum) learning rate, > 0.
        total_steps: length of the annealing, a positive integer.
        min_lr: final learning rate, in [0, lr]; default 0.

    Returns:
        ``schedule(step)``.

    Notes:
        Source: Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with
        Warm Restarts", ICLR 2017 (one cycle, no restart); the "cooldown" of
        VU DLVU lecture 4.  The rate stays near ``lr`` for long, then falls
        smoothly, spending its last steps at small rates.
        After ``total_steps`` this schedule holds ``min_lr``.  torch's
        ``CosineAnnealingLR`` does not: its formula is periodic, so stepping
        past ``T_max`` makes the rate climb back to ``lr`` over the next
        ``T_max`` steps (period ``2 * T_max``).  Use ``total_steps`` equal to
        the length of training to avoid the difference.

    Example:
        >>> cosine(0.1, total_steps=4)(np.arange(6)).round(4)
        array([0.1   , 0.0854, 0.05  , 0.0146, 0.    , 0.    ])
    """
    lr = _check_lr(lr)
    total_steps = check_int(total_steps, "total_steps", 1)
    min_lr = check_range(min_lr, "min_lr", 0.0, lr)

    def rule(k: np.ndarray) -> np.ndarray:
        t = np.minimum(k, total_steps)
        return min_lr + (lr - min_lr) * (1 + np.cos(np.pi * t / total_steps)) / 2

    return _make_schedule(
        rule, f"cosine(lr={lr:g}, total_steps={total_steps}, min_lr={min_lr:g})"
    )


def linear_warmup(schedule: Schedule, warmup_steps: int, start_factor: float = 0.0) -> Schedule:
    """Put a linear warm-up of ``warmup_steps`` steps in front of any schedule.

        peak = schedule(0)
        lr_k = peak * (start_factor + (1 - start_factor) * k / warmup_steps)    for k <  warmup_steps
        lr_k = schedule(k - warmup_steps)                                       for k >= warmup_steps

    The wrapped schedule starts from its own step 0 when the warm-up ends, so
    ``linear_warmup(cosine(lr, T), W)`` lasts W + T steps.  This is what torch's
    ``SequentialLR([LinearLR(start_factor=s, total_iters=W), X], milestones=[W])``
    does, and the two agree step for step for any ``start_factor`` s > 0.

    Args:
        schedule: the schedule to warm up; it must accept the same step
            arguments as the schedules here (int or integer ndarray).
        warmup_steps: length of the warm-up, an integer >= 0 (0 = no warm-up).
        start_factor: fraction of ``schedule(0)`` used at step 0, in [0, 1];
            default 0 (warm up from zero, as most transformer recipes do).

    Returns:
        ``schedule(step)``.

    Notes:
        Why: early in training the weights are far from anything sensible, the
        gradients are large and (for Adam) the second-moment estimates are
        based on very few samples, so the full learning rate can blow training
        up.  Goyal et al., "Accurate, Large Minibatch SGD: Training ImageNet in
        1 Hour" (2017) introduced gradual warm-up for large batches (there from
        lr/k up to the scaled rate lr in 5 epochs); VU DLVU lecture 4 'Tools of
        the trade' lists warm-up and cooldown among the standard tricks.
        Conventions differ: torch's ``LinearLR`` requires start_factor > 0
        (default 1/3) because it updates the rate multiplicatively; optax and
        Hugging Face warm up from 0, which spends step 0 with lr = 0 (an SGD
        step that does nothing).  Here any start_factor in [0, 1] is allowed.

    Example:
        >>> sched = linear_warmup(constant(0.1), warmup_steps=4)
        >>> sched(np.arange(6)).round(4)
        array([0.   , 0.025, 0.05 , 0.075, 0.1  , 0.1  ])
        >>> sched.__name__
        'linear_warmup(constant(lr=0.1), warmup_steps=4, start_factor=0)'
    """
    if not callable(schedule):
        raise TypeError(
            f"schedule must be a schedule function such as cosine(0.1, 1000), "
            f"got {type(schedule).__name__}"
        )
    warmup_steps = check_int(warmup_steps, "warmup_steps", 0)
    start_factor = check_range(start_factor, "start_factor", 0.0, 1.0)
    peak = check_range(schedule(0), "schedule(0)", 0.0, None)

    def rule(k: np.ndarray) -> np.ndarray:
        ramp = peak * (start_factor + (1 - start_factor) * k / max(warmup_steps, 1))
        after = schedule(np.maximum(k - warmup_steps, 0))
        return np.where(k < warmup_steps, ramp, after)

    name = getattr(schedule, "__name__", "schedule")
    return _make_schedule(
        rule, f"linear_warmup({name}, warmup_steps={warmup_steps}, start_factor={start_factor:g})"
    )
