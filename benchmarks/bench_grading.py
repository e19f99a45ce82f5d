"""Time every check in visible and hidden mode, against the bare reference computation.

For each target, runs the reference through the full check (guarded calls,
contract, comparison) as if it were a student's submission, and times the
same trials evaluated by the reference alone (the baseline, measured in the
same run). Prints seconds per check and the overhead ratio::

    python benchmarks/bench_grading.py [--prefix optim.]
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import statistics
import time
from functools import partial

import numpy as np

from dlcourse.grading import get_target, targets
from dlcourse.grading._core import Caller, _quietly, run_check, seed_for


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def observe_all(target, reference, trials) -> list:
    """The reference's observations of every trial: what a check costs without the student's side."""
    return [_quietly(partial(target.observe, reference, copy.deepcopy(trial))) for trial in trials]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", default="", help="only targets whose name starts with this")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    print(f"{'target':38s} {'visible':>9s} {'hidden':>9s} {'baseline':>9s} {'overhead':>8s}")
    visible_times = []
    for name in targets():
        if not name.startswith(args.prefix):
            continue
        # the reference lives in dlcourse, which student code may not reach: lift that watch only
        target = dataclasses.replace(get_target(name), forbidden=("torch",))
        visible = best_of(partial(run_check, target, list(target.reference)), args.repeats)
        hidden = best_of(partial(run_check, target, list(target.reference), hidden=True), 1)
        trials = target.trials(np.random.default_rng(seed_for(name, False)), False)
        baseline = best_of(partial(observe_all, target, Caller(target.reference, target.roles, None), trials),
                           args.repeats)
        visible_times.append(visible)
        print(f"{name:38s} {visible:8.3f}s {hidden:8.3f}s {baseline:8.4f}s {visible / baseline:7.1f}x")
    if visible_times:
        print(
            f"\n{len(visible_times)} targets: visible checks take {statistics.median(visible_times):.3f} s "
            f"(median), {max(visible_times):.3f} s at most"
        )


if __name__ == "__main__":
    main()
