"""What a failed check's figure costs: a failing check without its picture, with it built, and built + drawn.

Each case is a typical wrong answer (Adam without bias correction, leaky ReLU
with the wrong slope, He init without the gain, dropout without the
rescaling, a linear decay that never holds).  Times are medians of ``--runs``
runs after a warm-up (the reference's observations are computed once per
process, as in a notebook); matplotlib's import, a one-off per process that a
notebook has usually paid already, is measured apart in a fresh process::

    python benchmarks/bench_feedback_figure.py [--runs 15]

:func:`measure` returns the three medians of one case, for other scripts.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dlcourse.grading import GradingError, get_target
from dlcourse.grading._core import run_check
from dlcourse.grading._figures import png


def adam_init(theta):
    return {"m": np.zeros_like(theta), "v": np.zeros_like(theta)}


def adam_without_bias_correction(theta, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    grad = grad + weight_decay * theta
    m = betas[0] * state["m"] + (1 - betas[0]) * grad
    v = betas[1] * state["v"] + (1 - betas[1]) * grad * grad
    return theta - lr * m / (np.sqrt(v) + eps), {"m": m, "v": v}


def leaky_relu_wrong_slope(x, negative_slope=0.01):
    return np.where(x > 0, x, 0.1 * x)


def he_normal_without_gain(shape, rng, mode="fan_in"):
    return rng.normal(0.0, np.sqrt(1.0 / shape[0]), size=shape)


def dropout_without_rescaling(x, p=0.5, training=True, rng=None):
    if not training:
        return x, None
    mask = rng.random(x.shape) < 1 - p
    return x * mask, mask


def linear_decay_never_held(step, lr, final_lr, tau):
    return (1 - step / tau) * lr + step / tau * final_lr


# (words, target, the student's functions)
CASES: list[tuple[str, str, Sequence[Callable[..., Any]]]] = [
    ("Adam without bias correction", "optim.adam", (adam_without_bias_correction, adam_init)),
    ("leaky ReLU with slope 0.1", "activations.leaky_relu", (leaky_relu_wrong_slope,)),
    ("He normal without the gain", "init.he_normal", (he_normal_without_gain,)),
    ("dropout without 1 / (1 - p)", "layers.dropout_forward", (dropout_without_rescaling,)),
    ("linear decay never held", "schedules.linear_decay", (linear_decay_never_held,)),
]


def _failing(target, functions) -> GradingError:
    try:
        run_check(target, list(functions))
    except GradingError as error:
        return error
    raise AssertionError(f"{target.name}: the wrong answer passed")


def _median_ms(fn: Callable[[], Any], runs: int) -> float:
    fn()  # warm-up: the reference's observations, imports
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def measure(name: str, functions: Sequence[Callable[..., Any]], runs: int = 15) -> tuple[float, float, float]:
    """Median ms of the failing check without its picture, with the picture built, and built + drawn."""
    target = get_target(name)
    bare = dataclasses.replace(target, picture=None)
    pictured = dataclasses.replace(target)
    if _failing(pictured, functions).picture is None:
        raise AssertionError(f"{name}: the failure has no picture")
    without = _median_ms(lambda: _failing(bare, functions), runs)
    built = _median_ms(lambda: _failing(pictured, functions), runs)
    drawn = _median_ms(lambda: png(_failing(pictured, functions).picture), runs)
    return without, built, drawn


def matplotlib_import_seconds() -> float:
    """matplotlib's Figure and Agg canvas imported in a fresh process (numpy already imported, as in a notebook)."""
    code = ("import time, numpy; start = time.perf_counter(); import matplotlib.figure, "
            "matplotlib.backends.backend_agg; print(time.perf_counter() - start)")
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print(f"matplotlib import (once per process): {1000 * matplotlib_import_seconds():.0f} ms")
    print(f"{'failing check':32s} {'target':24s} {'no picture':>10s} {'+ built':>9s} {'+ drawn':>9s} "
          f"{'picture':>8s} {'ratio':>6s}")
    for words, name, functions in CASES:
        without, built, drawn = measure(name, functions, args.runs)
        figure = drawn - without  # the picture's cost: building (inside the check) and drawing
        print(f"{words:32s} {name:24s} {without:8.1f}ms {built:7.1f}ms {drawn:7.1f}ms {figure:6.1f}ms "
              f"{drawn / without:5.2f}x")
    print(f"medians of {args.runs} runs; '+ drawn' is the whole failing check with its figure as PNG bytes, "
          f"'picture' what the figure adds, 'ratio' = '+ drawn' / 'no picture'")


if __name__ == "__main__":
    main()
