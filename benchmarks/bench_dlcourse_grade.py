"""``dlcourse grade`` against ``nbgrader autograde``, and against an older ``dlcourse grade``, on the same class.

For each assignment, in a temporary course directory: COUNT generated
submissions (a third correct, a third blank, a third with half the answer
cells blank; ``dlcourse.class_grading.demo``), graded by ``nbgrader
autograde`` (unless ``--no-nbgrader``), then by ``dlcourse grade --force``
with each number of ``--workers``.  With ``--baseline-rev REV`` the package
as it was at git revision REV (``git archive REV dlcourse``, extracted to a
temporary directory; no network, no worktree) grades the same class right
before the current code, so the two are timed side by side.  Every
``dlcourse grade`` runs in a fresh interpreter (``PYTHONPATH`` selects the
package) and is timed from inside, imports of the grading code included.
Prints seconds per (student, assignment), the ratio new/old, the speed-up
over nbgrader, and whether every grader gave every test cell the same
score::

    python benchmarks/bench_dlcourse_grade.py [--count 40] [--workers 1,2] [--baseline-rev 40b3978]
                                              [--no-nbgrader] [ps1_backprop ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dlcourse.class_grading.demo import generated_submissions, gradebook_grades, make_course, run_nbgrader, submit

ROOT = Path(__file__).resolve().parents[1]
# Run in a fresh interpreter: times dlcourse grade itself and says which package did the grading.
TIMED_RUN = """\
import contextlib, io, json, sys, time
start = time.perf_counter()
from dlcourse.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    status = main(sys.argv[1:])
import dlcourse
print(json.dumps({"status": status, "seconds": time.perf_counter() - start, "package": dlcourse.__file__}))
"""


def gradebook_scores(course: Path, assignment: str) -> dict[tuple[str, str, str], float]:
    return {key: grade["auto"] for key, grade in gradebook_grades(course, assignment).items()}


def extract_package(revision: str, folder: Path) -> Path:
    """``dlcourse/`` as it was at ``revision``, extracted under ``folder`` (which goes on PYTHONPATH)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "dlcourse"], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def dlcourse_grade(package_root: Path, course: Path, assignment: str, workers: int) -> float:
    """Seconds ``dlcourse grade ASSIGNMENT --force`` took with the package under ``package_root``."""
    env = dict(os.environ, PYTHONPATH=str(package_root))
    command = [sys.executable, "-c", TIMED_RUN, "grade", assignment, "--course", str(course), "--workers",
               str(workers), "--force", "--quiet"]
    # run from the course directory: the current directory comes first on sys.path and must hold no dlcourse
    done = subprocess.run(command, cwd=course, env=env, capture_output=True, text=True, timeout=7200)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"dlcourse grade {assignment} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    report = json.loads(lines[-1])
    if report["status"] != 0 or not Path(report["package"]).resolve().is_relative_to(package_root.resolve()):
        raise RuntimeError(f"dlcourse grade {assignment} exited with {report['status']} using {report['package']}")
    return report["seconds"]


def columns(worker_counts: list[int], baseline: bool, nbgrader: bool) -> list[str]:
    """The table's columns after the assignment's name."""
    names = ["nbgrader"] if nbgrader else []
    for workers in worker_counts:
        names += [f"old {workers} wk", f"new {workers} wk", f"new/old {workers}"] if baseline else [f"new {workers} wk"]
        names += [f"speed-up {workers}"] if nbgrader else []
    return names


def cells(row: dict[str, float], worker_counts: list[int], baseline: bool, nbgrader: bool) -> list[str]:
    """One line of the table: seconds per submission, new/old ratios, speed-ups over nbgrader."""
    found = [f"{row['nbgrader']:.3f}"] if nbgrader else []
    for workers in worker_counts:
        new = row[f"new {workers} wk"]
        if baseline:
            old = row[f"old {workers} wk"]
            found += [f"{old:.3f}", f"{new:.3f}", f"{new / old:.2f}"]
        else:
            found.append(f"{new:.3f}")
        found += [f"{row['nbgrader'] / new:.1f}x"] if nbgrader else []
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--count", type=int, default=40, help="submissions per assignment (default 40)")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts (default 1,2)")
    parser.add_argument("--baseline-rev", help="also time the package at this git revision (e.g. 40b3978)")
    parser.add_argument("--no-nbgrader", action="store_true", help="skip nbgrader autograde (the slowest part)")
    args = parser.parse_args()
    wanted = args.assignments or sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
    worker_counts = [int(n) for n in args.workers.split(",")]
    nbgrader = not args.no_nbgrader
    with tempfile.TemporaryDirectory(prefix="dlcourse-baseline-") as baseline_dir:
        baseline = extract_package(args.baseline_rev, Path(baseline_dir)) if args.baseline_rev else None
        names = columns(worker_counts, baseline is not None, nbgrader)
        widths = [max(9, len(name)) for name in names]
        print(f"{os.cpu_count()} cores; {args.count} submissions per assignment; seconds per (student, assignment)"
              + (f"; old = {args.baseline_rev}, new = this checkout" if baseline else ""))
        print(f"{'assignment':22s} " + " ".join(f"{name:>{width}s}" for name, width in zip(names, widths, strict=True))
              + "  scores equal")
        totals: dict[str, float] = {}
        for assignment in wanted:
            row, equal = time_assignment(assignment, args.count, worker_counts, baseline, nbgrader)
            for name, value in row.items():
                totals[name] = totals.get(name, 0.0) + value
            line = cells(row, worker_counts, baseline is not None, nbgrader)
            print(f"{assignment:22s} " + " ".join(f"{cell:>{width}s}" for cell, width in zip(line, widths, strict=True))
                  + f"  {equal}", flush=True)
        line = cells(totals, worker_counts, baseline is not None, nbgrader)
        print(f"{'all':22s} " + " ".join(f"{cell:>{width}s}" for cell, width in zip(line, widths, strict=True)))


def time_assignment(assignment: str, count: int, worker_counts: list[int], baseline: Path | None,
                    with_nbgrader: bool) -> tuple[dict[str, float], str]:
    """Seconds per submission for each grader on one generated class, and whether all gave the same scores."""
    row: dict[str, float] = {}
    scores: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        course = make_course(Path(tmp), ROOT, [assignment])
        for student, files in generated_submissions(course, assignment, count).items():
            submit(course, assignment, student, files)
        if with_nbgrader:
            start = time.perf_counter()
            run_nbgrader(["autograde", assignment, "--force"], course)
            row["nbgrader"] = (time.perf_counter() - start) / count
            scores["nbgrader"] = gradebook_scores(course, assignment)
        for workers in worker_counts:
            if baseline is not None:  # the old code first, then the new one on the same class
                row[f"old {workers} wk"] = dlcourse_grade(baseline, course, assignment, workers) / count
                scores[f"old {workers} wk"] = gradebook_scores(course, assignment)
            row[f"new {workers} wk"] = dlcourse_grade(ROOT, course, assignment, workers) / count
            scores[f"new {workers} wk"] = gradebook_scores(course, assignment)
    reference = next(iter(scores.values()))
    differing = sorted({name for name, found in scores.items() if found != reference})
    return row, "yes" if not differing else f"NO: {', '.join(differing)} differ from {next(iter(scores))}"


if __name__ == "__main__":
    main()
