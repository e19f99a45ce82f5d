"""Time nbgrader autograde per assignment, against plain execution of the same notebooks.

For each assignment in solutions/, in a temporary course directory: the
baseline executes the solution notebooks with nbclient (no nbgrader); then
`nbgrader autograde` grades one submission of the solution and one of the
blank release. Prints seconds per submission and the ratio to the baseline::

    python benchmarks/bench_autograde.py [ps3_optimizers ...]
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from dlcourse.class_grading.demo import run_nbgrader

ROOT = Path(__file__).resolve().parents[1]


def timed_nbgrader(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    run_nbgrader(args, cwd)
    return time.perf_counter() - start


def main() -> None:
    wanted = sys.argv[1:] or sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
    print(f"{'assignment':24s} {'execute':>8s} {'solution':>9s} {'blank':>8s} {'ratio':>6s}")
    for assignment in wanted:
        with tempfile.TemporaryDirectory() as tmp:
            course = Path(tmp)
            shutil.copy(ROOT / "nbgrader_config.py", course)
            shutil.copytree(ROOT / "solutions" / assignment, course / "solutions" / assignment)
            timed_nbgrader(["generate_assignment", assignment, "--force"], course)

            start = time.perf_counter()
            for path in sorted((course / "solutions" / assignment).glob("*.ipynb")):
                notebook = nbformat.read(path, as_version=4)
                NotebookClient(notebook, timeout=600, resources={"metadata": {"path": str(path.parent)}}).execute()
            execute = time.perf_counter() - start

            times = {}
            for student, source in [("solution", course / "solutions"), ("blank", course / "exercises")]:
                shutil.copytree(source / assignment, course / "submitted" / student / assignment)
                times[student] = timed_nbgrader(["autograde", assignment, "--student", student, "--force"], course)
        print(
            f"{assignment:24s} {execute:7.1f}s {times['solution']:8.1f}s {times['blank']:7.1f}s "
            f"{times['solution'] / execute:6.2f}"
        )


if __name__ == "__main__":
    main()
