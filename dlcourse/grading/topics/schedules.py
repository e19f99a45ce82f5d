"""Checks for learning-rate schedules and gradient clipping (``schedules.NAME``).

The reference ``dlcourse.schedules`` builds schedules with factories
(``linear_warmup(cosine(...))``); students write the plain rule as a function
of the step, which can be called with plain data::

    linear_decay_lr(step, lr, final_lr, tau) -> float
    warmup_cosine_lr(step, lr, warmup_steps, total_steps, min_lr=0.0) -> float
    step_decay_lr(step, lr, step_size, gamma=0.1) -> float
    clip_grad_value(grads, clip_value) -> list of arrays
    clip_grad_norm(grads, max_norm) -> (list of arrays, total_norm)

A schedule is called once per step (a Python int, counted from 0) at steps
chosen to include 0, the end of the warm-up, ``tau`` or ``total_steps`` and
steps beyond them; the observable is the array of learning rates, so its
``atol = 1e-9 * max lr`` also accepts formulas that give 1e-17 instead of an
exact 0 (``cos(pi/2)**2``).

Tolerance: the default (rtol 1e-6, ``FLOAT32_TOLERANCE`` on the float32
clipping trial): the schedules are closed formulas and clipping is one norm
and one product, so correct float64 implementations agree to ~1e-15.  Every
catalogued mistake exceeds it by a factor of at least 2000 on a visible trial.
torch's ``+ 1e-6`` in ``clip_grad_norm`` changes the result by
``1e-6 / total_norm`` relative, invisible at rtol 1e-6 for norms of order 1;
it is catalogued because trials with tiny gradients (global norm ~3e-4 in
the visible set, ~4e-6 hidden) make it a 3e-3 (or larger) difference.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dlcourse import schedules as S
from dlcourse.grading._core import Target, Trial
from dlcourse.grading._report import GradingError, describe_value
from dlcourse.grading.topics._common import (
    FLOAT32_TOLERANCE,
    expect_values,
    one_role_target,
    random_array,
    with_edge_points,
)
from dlcourse.grading.topics._pictures import schedule_picture

# ------------------- learning-rate schedules as plain functions of the step (the references)


def linear_decay_lr(step: int, lr: float, final_lr: float, tau: int) -> float:
    """``dlcourse.schedules.linear_decay(lr, final_lr, tau)`` at ``step`` (Goodfellow et al. 8.3.1).

    >>> [linear_decay_lr(step, lr=0.1, final_lr=0.001, tau=100) for step in (0, 50, 100, 200)]
    [0.1, 0.0505, 0.001, 0.001]
    """
    return S.linear_decay(lr, final_lr, tau)(step)


def warmup_cosine_lr(step: int, lr: float, warmup_steps: int, total_steps: int, min_lr: float = 0.0) -> float:
    """Linear warm-up from 0 over ``warmup_steps``, then cosine to ``min_lr`` at ``total_steps``, then ``min_lr``.

    ``total_steps`` counts the warm-up (as Hugging Face's
    ``get_cosine_schedule_with_warmup``): the cosine lasts ``total_steps - warmup_steps``.

    >>> [round(warmup_cosine_lr(step, lr=1.0, warmup_steps=2, total_steps=6), 4) for step in range(8)]
    [0.0, 0.5, 1.0, 0.8536, 0.5, 0.1464, 0.0, 0.0]
    """
    return S.linear_warmup(S.cosine(lr, total_steps - warmup_steps, min_lr), warmup_steps)(step)


def step_decay_lr(step: int, lr: float, step_size: int, gamma: float = 0.1) -> float:
    """``dlcourse.schedules.step_decay(lr, step_size, gamma)`` at ``step`` (torch's StepLR).

    >>> [step_decay_lr(step, lr=1.0, step_size=3, gamma=0.5) for step in range(7)]
    [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    """
    return S.step_decay(lr, step_size, gamma)(step)


def _as_number(value: Any, role: str, step: int) -> float:
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        got = "None (is a return statement missing?)" if value is None else describe_value(value)
        raise GradingError(f"{role} must return one number, the learning rate at that step; for step={step} it "
                           f"returned {got}")
    return float(value)


def _schedule_observe(role: str) -> Callable[[Any, Trial], dict[str, Any]]:
    def observe(call: Any, trial: Trial) -> dict[str, Any]:
        steps = trial.extra["steps"]
        rates = [_as_number(call(role, [("step", k), *trial.args], trial.kwargs), role, k) for k in steps]
        return {f"learning rate at steps {steps} (index i = the i-th of these steps, from 0)": np.array(rates)}

    return observe


def _schedule_trials(cases: Sequence[tuple[list[tuple[str, Any]], dict[str, Any], list[int]]], visible: int):
    """``cases``: (positional arguments after step, keyword arguments, key steps); the first ``visible`` are visible."""

    def trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
        built = []
        for args, kwargs, key_steps in cases if hidden else cases[:visible]:
            # the key steps, plus two random ones in between (other ones in hidden mode)
            random_steps = rng.integers(0, max(key_steps) + 1, 2).tolist()
            steps = sorted({int(k) for k in [*key_steps, *random_steps]})
            label = f"{len(steps)} steps from {steps[0]} to {steps[-1]}"
            built.append(Trial(label, list(args), dict(kwargs), {"steps": steps}))
        return built

    return trials


def _linear_decay_cases():
    cases = []
    for lr, final_lr, tau in [(0.1, 1e-3, 100), (0.5, 0.05, 7), (1e-3, 0.0, 1), (2.0, 0.02, 1000), (0.05, 0.01, 3),
                              (1.0, 0.5, 50), (1e-4, 1e-6, 10_000)]:
        key_steps = [0, 1, tau // 2, tau - 1, tau, tau + 1, 2 * tau + 3]
        cases.append(([("lr", lr), ("final_lr", final_lr), ("tau", tau)], {}, key_steps))
    return cases


def _warmup_cosine_cases():
    cases = []
    for lr, warmup, total, kwargs in [(0.1, 10, 100, {"min_lr": 1e-3}), (1.0, 1, 6, {}),
                                      (3e-4, 50, 60, {"min_lr": 1e-5}), (0.5, 3, 1000, {}),
                                      (2.0, 100, 101, {"min_lr": 0.5}), (0.01, 7, 50, {"min_lr": 1e-3}),
                                      (1e-3, 1000, 5000, {})]:
        key_steps = [0, 1, warmup // 2, warmup - 1, warmup, warmup + 1, (warmup + total) // 2, total - 1, total,
                     total + 1, total + (total - warmup) // 2, 2 * total]
        cases.append(([("lr", lr), ("warmup_steps", warmup), ("total_steps", total)], kwargs, key_steps))
    return cases


def _step_decay_cases():
    cases = []
    for lr, step_size, kwargs in [(0.1, 10, {}), (1.0, 3, {"gamma": 0.5}), (0.01, 1, {"gamma": 0.9}),
                                  (0.3, 30, {"gamma": 0.2}), (2.0, 7, {}), (5e-4, 100, {"gamma": 0.95})]:
        s = step_size
        key_steps = [0, 1, s // 2 + 1, s - 1, s, s + 1, 2 * s - 1, 2 * s, 3 * s + 1, 4 * s]
        cases.append(([("lr", lr), ("step_size", s)], kwargs, key_steps))
    return cases


# ------------------- the catalogue: each schedule written as its slide, from named pieces;
# a mistake is that computation with one piece swapped


def _linear_decay(
    alpha: Callable[[int, int], float] = lambda step, tau: min(step, tau) / tau,
    lr_k: Callable[[float, float, float], float] = lambda alpha, lr, final_lr: (1 - alpha) * lr + alpha * final_lr,
) -> Callable[..., float]:
    """``alpha = min(step, tau) / tau``, ``lr_k = (1 - alpha) * lr + alpha * final_lr``, from the pieces given."""

    def linear_decay_lr(step, lr, final_lr, tau):
        return lr_k(alpha(step, tau), lr, final_lr)

    return linear_decay_lr


def _warmup_cosine(
    warmup: Callable[[int, float, int], float] = lambda step, lr, warmup_steps: lr * step / warmup_steps,
    progress: Callable[[int, int, int], float] = (
        lambda step, warmup_steps, total_steps: (step - warmup_steps) / (total_steps - warmup_steps)),
    clamp: Callable[[float], float] = lambda progress: min(progress, 1.0),
    anneal: Callable[[float, float, float], float] = lambda cosine, lr, min_lr: min_lr + (lr - min_lr) * cosine,
) -> Callable[..., float]:
    """Warm-up ``lr * step / warmup_steps``; then ``progress`` (clamped at 1), ``cosine = (1 + cos(pi * progress)) / 2``
    and ``min_lr + (lr - min_lr) * cosine``, from the pieces given."""

    def warmup_cosine_lr(step, lr, warmup_steps, total_steps, min_lr=0.0):
        if step < warmup_steps:
            return warmup(step, lr, warmup_steps)
        done = clamp(progress(step, warmup_steps, total_steps))
        cosine = (1 + math.cos(math.pi * done)) / 2
        return anneal(cosine, lr, min_lr)

    return warmup_cosine_lr


def _step_decay(
    periods: Callable[[int, int], float] = lambda step, step_size: step // step_size,
) -> Callable[..., float]:
    """``lr * gamma ** periods`` with ``periods = step // step_size`` completed periods, or the piece given."""

    def step_decay_lr(step, lr, step_size, gamma=0.1):
        return lr * gamma ** periods(step, step_size)

    return step_decay_lr


_LINEAR_DECAY_MISTAKES = (
    ("linear_decay_no_hold", "After step tau the rate stays at final_lr: use alpha = min(step, tau) / tau.",
     _linear_decay(alpha=lambda step, tau: step / tau)),
    ("linear_decay_to_zero", "Decay to final_lr, not to 0: lr_k = (1 - alpha) * lr + alpha * final_lr.",
     _linear_decay(lr_k=lambda alpha, lr, final_lr: (1 - alpha) * lr + alpha * 0.0)),
    ("linear_decay_off_by_one", "Steps count from 0: step 0 uses the full lr (alpha = step / tau, not "
                                "(step + 1) / tau).", _linear_decay(alpha=lambda step, tau: min(step + 1, tau) / tau)),
    ("linear_decay_swapped", "At step 0 the rate is lr and at tau it is final_lr: lr_k = (1 - alpha) * lr + "
                             "alpha * final_lr; you swapped alpha and 1 - alpha.",
     _linear_decay(lr_k=lambda alpha, lr, final_lr: alpha * lr + (1 - alpha) * final_lr)),
)

_WARMUP_COSINE_MISTAKES = (
    ("warmup_cosine_warmup_off_by_one", "Steps count from 0 and the warm-up starts at 0: lr * step / "
                                        "warmup_steps, not lr * (step + 1) / warmup_steps.",
     _warmup_cosine(warmup=lambda step, lr, warmup_steps: lr * (step + 1) / warmup_steps)),
    ("warmup_cosine_no_warmup", "During the first warmup_steps steps ramp the rate up linearly from 0, "
                                "lr * step / warmup_steps, instead of using lr.",
     _warmup_cosine(warmup=lambda step, lr, warmup_steps: lr)),
    ("warmup_cosine_progress_not_shifted", "The cosine starts when the warm-up ends: progress = (step - "
                                           "warmup_steps) / (total_steps - warmup_steps).",
     _warmup_cosine(progress=lambda step, warmup_steps, total_steps: step / total_steps)),
    ("warmup_cosine_length_includes_warmup", "total_steps includes the warm-up, so the cosine lasts "
                                             "total_steps - warmup_steps steps: divide by that, not by "
                                             "total_steps.",
     _warmup_cosine(progress=lambda step, warmup_steps, total_steps: (step - warmup_steps) / total_steps)),
    ("warmup_cosine_not_clamped", "After total_steps the rate stays at min_lr: clamp the progress at 1 (the "
                                  "cosine formula alone rises again).",
     _warmup_cosine(clamp=lambda progress: progress)),
    ("warmup_cosine_min_lr_ignored", "The cosine decays to min_lr: min_lr + (lr - min_lr) * (1 + cos(pi * "
                                     "progress)) / 2.", _warmup_cosine(anneal=lambda cosine, lr, min_lr: lr * cosine)),
    ("warmup_cosine_min_lr_unscaled", "Scale the cosine by lr - min_lr so that it starts at lr: min_lr + "
                                      "(lr - min_lr) * (1 + cos(pi * progress)) / 2.",
     _warmup_cosine(anneal=lambda cosine, lr, min_lr: min_lr + lr * cosine)),
)

_STEP_DECAY_MISTAKES = (
    ("step_decay_float_exponent", "Decay in whole steps: the exponent is the number of completed periods, "
                                  "step // step_size, not step / step_size.",
     _step_decay(periods=lambda step, step_size: step / step_size)),
    ("step_decay_off_by_one", "Steps count from 0: the first decay happens at step == step_size, so the "
                              "exponent is step // step_size, not (step + 1) // step_size.",
     _step_decay(periods=lambda step, step_size: (step + 1) // step_size)),
    ("step_decay_ceil", "The exponent is floor(step / step_size) (step // step_size), not the ceiling.",
     _step_decay(periods=lambda step, step_size: math.ceil(step / step_size))),
    ("step_decay_once", "Multiply by gamma once per period, lr * gamma ** (step // step_size), not only once.",
     _step_decay(periods=lambda step, step_size: min(step // step_size, 1))),
)


def _schedule_target(name: str, reference: Callable[..., float], cases: list, mistakes: Sequence[tuple]) -> Target:
    """A learning-rate schedule: the first 3 cases are visible; ``mistakes`` are (id, sentence, wrong schedule).

    A failure's picture is the rate at the trial's steps (clipping has none: not a sequence over steps).
    """
    role = reference.__name__
    return one_role_target(name, role, reference, _schedule_trials(cases, visible=3), _schedule_observe(role), mistakes,
                           what="schedules", picture=schedule_picture(role))


# ------------------------------------------------------------------- gradient clipping

# (shapes, scale, clipping parameter as a multiple of the scale / of the global norm)
_CLIP_CASES = [
    ([(7,)], 1.0, 0.5), ([(3, 5), (5,)], 2.0, 0.3), ([(1,), (2, 3)], 1e-4, 0.4),     # visible
    ([(1, 4)], 1.0, 2.0), ([(64, 33), (33,)], 1e3, 0.01), ([(9,), (2, 3, 4), (1,)], 1e-6, 0.7),
    ([(5, 3), (3,)], 3.0, 5.0),
]
_NORM_CASES = [
    ([(7,), (3, 5)], 1.0, 0.3), ([(1,), (4,)], 0.1, 3.0), ([(3,), (2, 2)], 1e-4, 0.3),  # visible
    ([(5, 3)], 3.0, 0.5), ([(2, 3, 4), (4,), (1,)], 10.0, 1.5), ([(64, 33), (33,)], 1e3, 1e-3),
    ([(9,), (1, 4)], 1e-6, 0.2), ([(6,), (6,), (6,)], 1.0, 0.999),
]


def _clip_trials(cases, parameter: str, relative_to_norm: bool):
    def trials(rng: np.random.Generator, hidden: bool) -> list[Trial]:
        built = []
        chosen = [*cases, ([(4, 3), (3,)], 2.0, 0.5)] if hidden else cases[:3]
        for number, (shapes, scale, factor) in enumerate(chosen):
            float32 = hidden and number == len(chosen) - 1
            grads = [random_array(rng, shape, scale, np.float32 if float32 else np.float64) for shape in shapes]
            if relative_to_norm:
                value = factor * float(np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in grads)))
                status = ", global norm above max_norm" if factor < 1 else ", global norm below max_norm"
            else:
                value, status = factor * scale, ""
                # entries beyond both bounds, exactly on them, and 0
                grads = [with_edge_points(g, [1.5 * value, -1.5 * value, value, -value, 0.0]) for g in grads]
            label = (f"{'float32 ' if float32 else ''}{len(grads)} gradient array(s) of shapes "
                     f"{[g.shape for g in grads]}, values ~{scale:g}{status}")
            built.append(Trial(label, [("grads", grads), (parameter, value)],
                               tolerance=FLOAT32_TOLERANCE if float32 else None))
        return built

    return trials


def _clip_value(
    clip: Callable[[np.ndarray, float], np.ndarray] = lambda g, clip_value: np.clip(g, -clip_value, clip_value),
) -> Callable[..., list[np.ndarray]]:
    """Every entry of every array into ``[-clip_value, clip_value]``, or the ``clip`` given."""

    def clip_grad_value(grads, clip_value):
        return [clip(g, clip_value) for g in grads]

    return clip_grad_value


def _clip_norm(
    global_norm: Callable[[list[float]], float] = lambda norms: math.sqrt(sum(n * n for n in norms)),
    eps: float = 1e-6,
    norm_used: Callable[[float, float], float] = lambda own_norm, total_norm: total_norm,
    shrink: Callable[[float], float] = lambda scale: min(scale, 1.0),
    reported: Callable[[float, float], float] = lambda total_norm, scale: total_norm,
) -> Callable[..., tuple[list[np.ndarray], float]]:
    """``total_norm = sqrt(sum_i ||g_i||^2)``, ``scale = min(max_norm / (total_norm + eps), 1)``, every
    ``g_i * scale`` and ``total_norm`` returned (torch's ``clip_grad_norm_``), from the pieces given."""

    def clip_grad_norm(grads, max_norm):
        norms = [float(np.sqrt(np.sum(g * g))) for g in grads]
        total_norm = global_norm(norms)
        scales = [shrink(max_norm / (norm_used(norm, total_norm) + eps)) for norm in norms]
        clipped = [g * scale for g, scale in zip(grads, scales, strict=True)]
        return clipped, reported(total_norm, shrink(max_norm / (total_norm + eps)))

    return clip_grad_norm


_CLIP_VALUE_MISTAKES = (
    ("clip_value_upper_only", "Clip both sides: every entry goes into [-clip_value, clip_value], e.g. "
                              "np.clip(g, -clip_value, clip_value).",
     _clip_value(clip=lambda g, clip_value: np.minimum(g, clip_value))),
    ("clip_value_sign_lost", "Keep the sign of a clipped entry: a large negative entry becomes -clip_value, "
                             "not +clip_value (np.clip(g, -clip_value, clip_value)).",
     _clip_value(clip=lambda g, clip_value: np.where(np.abs(g) > clip_value, clip_value, g))),
    ("clip_value_rescales", "Clipping by value clips each entry separately; rescaling the whole array is "
                            "clipping by norm.",
     _clip_value(clip=lambda g, clip_value: g * min(1.0, clip_value / np.max(np.abs(g))))),
)

_CLIP_NORM_MISTAKES = (
    ("clip_norm_per_tensor", "Use ONE global norm over all arrays together, total_norm = sqrt(sum of "
                             "||g_i||**2), and scale every array by the same factor.",
     _clip_norm(norm_used=lambda own_norm, total_norm: own_norm)),
    ("clip_norm_always_rescales", "Only shrink: scale = min(1, max_norm / (total_norm + 1e-6)); gradients "
                                  "already shorter than max_norm stay as they are.",
     _clip_norm(shrink=lambda scale: scale)),
    ("clip_norm_returns_clipped_norm", "Return the total norm measured BEFORE clipping (as torch does), not the "
                                       "norm of the clipped gradients.",
     _clip_norm(reported=lambda total_norm, scale: total_norm * scale)),
    ("clip_norm_no_eps", "torch divides by total_norm + 1e-6: scale = min(1, max_norm / (total_norm + 1e-6)); "
                         "the 1e-6 shows when the gradients are tiny.", _clip_norm(eps=0.0)),
    ("clip_norm_sum_of_norms", "The global norm is sqrt(sum of ||g_i||**2), the norm of all entries together, "
                               "not the sum of the arrays' norms.", _clip_norm(global_norm=sum)),
)


def _expect_list(clipped: Any, grads: list[np.ndarray], role: str) -> Any:
    if not isinstance(clipped, (list, tuple)):
        got = "None (is a return statement missing?)" if clipped is None else describe_value(clipped)
        got = f"an {got}" if isinstance(clipped, np.ndarray) else got
        raise GradingError(f"{role} must return a list with one clipped array per gradient ({len(grads)} here), "
                           f"in the order of grads; it returned {got}")
    return clipped


def _clip_value_observe(call: Any, trial: Trial) -> dict[str, Any]:
    clipped = call("clip_grad_value", trial.args)
    return {"clipped gradients": _expect_list(clipped, trial.args[0][1], "clip_grad_value")}


def _clip_norm_observe(call: Any, trial: Trial) -> dict[str, Any]:
    result = call("clip_grad_norm", trial.args)
    if isinstance(result, list) and all(isinstance(g, np.ndarray) for g in result):
        # a list of two arrays would otherwise pass for a pair
        raise GradingError("clip_grad_norm must return two values, (clipped_grads, total_norm); it returned only "
                           "the list of gradients. End it with: return clipped_grads, total_norm")
    clipped, total_norm = expect_values(result, "clip_grad_norm", ("clipped_grads", "total_norm"))
    return {"clipped gradients": _expect_list(clipped, trial.args[0][1], "clip_grad_norm"),
            "total_norm (the global norm BEFORE clipping)": total_norm}


def _clip_target(name: str, reference: Callable[..., Any], cases: list, parameter: str, relative_to_norm: bool,
                 observe: Callable[[Any, Trial], dict[str, Any]], mistakes: Sequence[tuple]) -> Target:
    """A gradient-clipping function; ``mistakes`` are (id, sentence, wrong function)."""
    return one_role_target(name, reference.__name__, reference, _clip_trials(cases, parameter, relative_to_norm),
                           observe, mistakes, what="gradient lists")


def textbook(name: str) -> tuple[Callable[..., Any], ...]:
    """The catalogue's correct computation (every piece right) for target ``schedules.<name>``."""
    correct = {"linear_decay": _linear_decay, "warmup_cosine": _warmup_cosine, "step_decay": _step_decay,
               "clip_grad_value": _clip_value, "clip_grad_norm": _clip_norm}
    return (correct[name](),)


TARGETS: tuple[Target, ...] = (
    _schedule_target("schedules.linear_decay", linear_decay_lr, _linear_decay_cases(), _LINEAR_DECAY_MISTAKES),
    _schedule_target("schedules.warmup_cosine", warmup_cosine_lr, _warmup_cosine_cases(), _WARMUP_COSINE_MISTAKES),
    _schedule_target("schedules.step_decay", step_decay_lr, _step_decay_cases(), _STEP_DECAY_MISTAKES),
    _clip_target("schedules.clip_grad_value", S.clip_grad_value, _CLIP_CASES, "clip_value", False,
                 _clip_value_observe, _CLIP_VALUE_MISTAKES),
    _clip_target("schedules.clip_grad_norm", S.clip_grad_norm, _NORM_CASES, "max_norm", True,
                 _clip_norm_observe, _CLIP_NORM_MISTAKES),
)
