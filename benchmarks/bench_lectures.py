"""Time each lecture's headless execution and each widget's update, against baselines from the same run.

Lectures: seconds to execute top to bottom with nbclient (budget 30 s), and
the ratio to executing an empty notebook (kernel start-up, the floor).
Widgets: median and max wall-clock seconds of an update (compute + draw + PNG
+ text) over every control moved to a few values (budget 0.2 s), the same in
process CPU time (what the update costs, whatever else runs on the machine),
and the ratio of the median to rendering an empty figure of the same size (the
floor).  The load average is printed before and after: on a machine shared
with other jobs the wall clock grows with it, the CPU time much less::

    python benchmarks/bench_lectures.py [--skip-lectures] [--skip-widgets]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from pathlib import Path

import nbformat
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from nbclient import NotebookClient

from dlcourse.widgets import UPDATE_BUDGET_SECONDS, widget_builders

ROOT = Path(__file__).resolve().parents[1]
LECTURE_BUDGET_SECONDS = 30.0


def execute(notebook: nbformat.NotebookNode, path: Path) -> float:
    start = time.perf_counter()
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path)}}).execute()
    return time.perf_counter() - start


def bench_lectures() -> None:
    lectures = sorted((ROOT / "lectures").glob("*.ipynb"))
    empty = execute(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("pass")]), ROOT / "lectures")
    budget = f"(empty notebook: {empty:.1f} s, budget {LECTURE_BUDGET_SECONDS:.0f} s)"
    print(f"{'lecture':34s} {'seconds':>8s} {'x empty':>8s}  {budget}")
    for path in lectures:
        seconds = execute(nbformat.read(path, as_version=4), path.parent)
        flag = "" if seconds <= LECTURE_BUDGET_SECONDS else "  over budget"
        print(f"{path.stem:34s} {seconds:8.1f} {seconds / empty:8.1f}{flag}")


def other_values(control) -> list:
    """A few valid values of a control, for timing updates."""
    options = getattr(control, "options", None)
    if options is not None and not hasattr(control, "min"):
        values = [o[1] if isinstance(o, tuple) else o for o in options]
        if type(control).__name__ == "SelectMultiple":
            return [tuple(values[: i + 1]) for i in range(min(3, len(values)))]
        return values[:4]
    if isinstance(control.value, bool):
        return [not control.value, control.value]
    if hasattr(control, "base"):  # a log slider: min and max are exponents
        low, high = control.min, control.max
        return [control.base ** (low + (high - low) * f) for f in (0.2, 0.6, 1.0)]
    if hasattr(control, "min") and not isinstance(control.value, tuple):
        low, high = control.min, control.max
        return [low + (high - low) * f for f in (0.2, 0.6, 1.0)]
    if isinstance(control.value, tuple):
        low, high = control.min, control.max
        return [(low, low + (high - low) * f) for f in (0.5, 1.0)]
    return []


def empty_render(figsize: tuple[float, float]) -> float:
    figure = Figure(figsize=figsize, dpi=80)  # no layout engine, as the widgets' figures
    FigureCanvasAgg(figure)
    start = time.perf_counter()
    figure.savefig(io.BytesIO(), format="png")
    return time.perf_counter() - start


def load() -> str:
    return "load average " + ", ".join(f"{v:.2f}" for v in os.getloadavg()) + f" on {os.cpu_count()} cores"


def bench_widgets() -> None:
    budget = f"(budget {UPDATE_BUDGET_SECONDS * 1e3:.0f} ms; {load()})"
    print(f"\n{'widget':34s} {'median':>8s} {'max':>8s} {'cpu med':>8s} {'cpu max':>8s} {'updates':>8s} "
          f"{'x empty':>8s}  {budget}")
    for name, builder in sorted(widget_builders().items()):
        explorer = builder()
        explorer.update_times.clear()
        explorer.update_cpu_times.clear()
        for control in explorer.controls.values():
            initial = control.value
            for value in other_values(control):
                try:
                    control.value = value
                except Exception:  # a value the control does not accept (e.g. an int slider with a step)
                    continue
            control.value = initial
        times = explorer.update_times or [float("nan")]
        cpu = explorer.update_cpu_times or [float("nan")]
        median, worst = statistics.median(times), max(times)
        floor = empty_render(tuple(explorer.figure.get_size_inches()))
        flag = "" if worst <= UPDATE_BUDGET_SECONDS else "  over budget"
        print(f"{name:34s} {median * 1e3:6.0f}ms {worst * 1e3:6.0f}ms {statistics.median(cpu) * 1e3:6.0f}ms "
              f"{max(cpu) * 1e3:6.0f}ms {len(times):8d} {median / floor:8.1f}{flag}", flush=True)
    print(f"({load()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-lectures", action="store_true")
    parser.add_argument("--skip-widgets", action="store_true")
    args = parser.parse_args()
    if not args.skip_lectures:
        bench_lectures()
    if not args.skip_widgets:
        bench_widgets()


if __name__ == "__main__":
    main()
