"""Time nbgrader autograde per assignment, against plain execution of the same notebooks.

For each assignment in solutions/, in a temporary course directory: the
baseline executes the solution notebooks with nbclient (no nbgrader); then
`nbgrader autograde` grades one submission of the solution and one of the
blank release. Prints seconds per submission and the ratio to the baseline::

    python benchmarks/bench_autograde.py [ps3_optimizers ...]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def run_nbgrader(args: list[str], cwd: Path) -> float:
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    wanted = sys.argv[1:] or sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
    print(f"{'assignment':24s} {'execute':>8s} {'solution':>9s} {'blank':>8s} {'ratio':>6s}")
    for assignment in wanted:
        with tempfile.TemporaryDirectory() as tmp:
            course = Path(tmp)
            shutil.copy(ROOT / "nbgrader_config.py", course)
            shutil.copytree(ROOT / "solutions" / assignment, course / "solutions" / assignment)
            run_nbgrader(["generate_assignment", assignment, "--force"], course)

            start = time.perf_counter()
            for path in sorted((course / "solutions" / assignment).glob("*.ipynb")):
                notebook = nbformat.read(path, as_version=4)
                NotebookClient(notebook, timeout=600, resources={"metadata": {"path": str(path.parent)}}).execute()
            execute = time.perf_counter() - start

            times = {}
            for student, source in [("solution", course / "solutions"), ("blank", course / "exercises")]:
                shutil.copytree(source / assignment, course / "submitted" / student / assignment)
                times[student] = run_nbgrader(["autograde", assignment, "--student", student, "--force"], course)
        print(
            f"{assignment:24s} {execute:7.1f}s {times['solution']:8.1f}s {times['blank']:7.1f}s "
            f"{times['solution'] / execute:6.2f}"
        )


if __name__ == "__main__":
    main()
