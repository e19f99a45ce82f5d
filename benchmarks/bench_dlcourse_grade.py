"""``dlcourse grade`` against ``nbgrader autograde`` on the same generated class, side by side in one run.

For each assignment, in a temporary course directory: COUNT generated
submissions (a third correct, a third blank, a third with half the answer
cells blank; ``dlcourse.class_grading.demo``), graded by ``nbgrader autograde``
(the baseline), then by ``dlcourse grade --force`` with 1 and with 2
workers.  Prints seconds per (student, assignment) for each and the
speed-up over nbgrader, and checks that both graders gave every test cell
the same score::

    python benchmarks/bench_dlcourse_grade.py [--count 40] [ps1_backprop ...]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
import time
from pathlib import Path

from dlcourse.class_grading.demo import generated_submissions, gradebook_grades, make_course, run_nbgrader, submit

ROOT = Path(__file__).resolve().parents[1]


def gradebook_scores(course: Path, assignment: str) -> dict[tuple[str, str, str], float]:
    return {key: grade["auto"] for key, grade in gradebook_grades(course, assignment).items()}


def dlcourse_grade(course: Path, assignment: str, workers: int) -> float:
    from dlcourse.cli import main

    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        status = main(["grade", assignment, "--course", str(course), "--workers", str(workers), "--force", "--quiet"])
    elapsed = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"dlcourse grade {assignment} exited with {status}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--count", type=int, default=40, help="submissions per assignment (default 40)")
    args = parser.parse_args()
    wanted = args.assignments or sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
    print(f"{os.cpu_count()} cores; {args.count} submissions per assignment; seconds per (student, assignment)")
    print(f"{'assignment':22s} {'nbgrader':>9s} {'dl 1 wk':>8s} {'dl 2 wk':>8s} {'speed-up 1':>11s} {'speed-up 2':>11s}"
          f"  scores equal")
    totals = [0.0, 0.0, 0.0]
    for assignment in wanted:
        with tempfile.TemporaryDirectory() as tmp:
            course = make_course(Path(tmp), ROOT, [assignment])
            for student, files in generated_submissions(course, assignment, args.count).items():
                submit(course, assignment, student, files)
            start = time.perf_counter()
            run_nbgrader(["autograde", assignment, "--force"], course)
            baseline = time.perf_counter() - start
            nbgrader_scores = gradebook_scores(course, assignment)
            one = dlcourse_grade(course, assignment, 1)
            dlcourse_scores = gradebook_scores(course, assignment)
            two = dlcourse_grade(course, assignment, 2)
        equal = nbgrader_scores == dlcourse_scores
        differing = [key for key in nbgrader_scores if nbgrader_scores[key] != dlcourse_scores.get(key)]
        per = [value / args.count for value in (baseline, one, two)]
        totals = [total + value for total, value in zip(totals, per)]
        print(f"{assignment:22s} {per[0]:9.2f} {per[1]:8.2f} {per[2]:8.2f} {per[0] / per[1]:10.1f}x "
              f"{per[0] / per[2]:10.1f}x  {'yes' if equal else f'NO: {differing[:5]}'}")
    print(f"{'all':22s} {totals[0]:9.2f} {totals[1]:8.2f} {totals[2]:8.2f} {totals[0] / totals[1]:10.1f}x "
          f"{totals[0] / totals[2]:10.1f}x")


if __name__ == "__main__":
    main()
