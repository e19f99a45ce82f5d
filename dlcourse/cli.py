"""The ``dlcourse`` command: ``grade`` and ``export`` for instructors, ``check`` for students."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

GRADE_HELP = """\
Grade every submission of ASSIGNMENT with the student's code sandboxed.

Run it in the course directory (the one with nbgrader_config.py).  Each
submission under submitted/<student>/<assignment>/ (or in --zip) is graded
like this: only the cells with the assignment's solution grade ids are
taken from the student's notebook and run in a sandboxed worker (bubblewrap
when installed: no course files, no network, no dlcourse or torch; limits on
time, CPU, memory, processes and output); the instructor's own test cells,
hidden tests included, run in this trusted process and call the student's
functions through a proxy.  Nothing in a submission can change how it is
judged, read other submissions, or reach the gradebook.

Writes:
  dlcourse_grades/<assignment>/results/<student>.json
                   score, status, every part's feedback, integrity flags
  dlcourse_grades/<assignment>/grades.csv
                   one row per student
  dlcourse_grades/<assignment>/integrity.txt
                   integrity flags to review (they never change a score)
  dlcourse_grades/<assignment>/changes.json, changes.txt
                   what this run changed: each student whose score moved,
                   old -> new, per part with its mistake id
  gradebook.db     auto scores under nbgrader's grade ids (manual scores kept)
  autograded/<student>/<assignment>/*.ipynb
                   for the formgrader and `nbgrader generate_feedback`
Nothing else in the course directory is touched.  Every submission ends
graded or with an explicit status: missing, unreadable, timeout, crashed.
A re-run grades only submissions whose files or grader changed.
--dry-run grades and prints the change list, and writes nothing at all.

The gradebook must know the assignment: run `nbgrader generate_assignment
ASSIGNMENT` once before grading (you do it anyway to release it).

Clusters: run `dlcourse grade ASSIGNMENT --shard $i/$N` for i = 0..N-1 (a
Slurm array or a Kubernetes Indexed Job; the README has both job files),
then `dlcourse grade merge ASSIGNMENT` once.
"""

MERGE_HELP = """\
Combine the results of `dlcourse grade --shard` runs into the gradebook,
the autograded notebooks and grades.csv.  Students whose submission has no
up-to-date result are listed, and the exit status is 1.
"""

CHECK_HELP = """\
Check your notebook before you submit it: your answer cells run the way the
grader runs them (sandboxed, only the answer cells, nothing you added in
other cells), then the notebook's visible test cells run and a table shows
each part.  Hidden tests are not run (only the instructor has them).
"""


EXPORT_HELP = """\
Grades out to the LMS, read from the course's nbgrader gradebook: the final
score per student and assignment, as `nbgrader export` computes it (manual
grades count, the late penalty is subtracted, never below 0).

  dlcourse export canvas --template CANVAS_EXPORT.csv --out IMPORT.csv
      fills the columns `<assignment> (<id>)` of a gradebook CSV downloaded
      from Canvas; students are matched by SIS Login ID (= nbgrader student
      id), then by --match-column; unmatched rows stay as they were.
  dlcourse export moodle --out FILE.csv [--id-field email|username|idnumber]
      Moodle's grade-import CSV; students without the identifier are left out.

Students not exported are listed on stderr and the exit status is 1.
"""


def _shard(text: str) -> tuple[int, int]:
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard expects i/N such as 0/4; got {text!r}") from None
    if count < 1 or not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"--shard expects i/N with 0 <= i < N; got {text!r}")
    return index, count


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dlcourse", description="dlcourse command-line tools.")
    commands = parser.add_subparsers(dest="command", required=True)

    grade = commands.add_parser("grade", help="grade submissions (instructors)", description=GRADE_HELP,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    grade.add_argument("assignment", help="assignment name, e.g. ps1_backprop; or `merge` followed by the name")
    grade.add_argument("merge_assignment", nargs="?", help=argparse.SUPPRESS)
    grade.add_argument("--course", type=Path, default=Path("."), help="course directory (default: the current one)")
    grade.add_argument("--zip", type=Path, dest="zip_path",
                       help="grade the notebooks in this zip (an LMS download) instead of submitted/")
    grade.add_argument("--workers", type=_positive,
                       help="grading processes (default: the CPUs this process may use: in a Slurm job, its "
                            "allocation, not the node's cores)")
    grade.add_argument("--shard", type=_shard, help="grade only slice i of N (0-based), e.g. 3/10; no merge")
    grade.add_argument("--results", type=Path, help="results directory (default: COURSE/dlcourse_grades)")
    grade.add_argument("--db", dest="db_url", help="gradebook URL (default: from nbgrader_config.py)")
    grade.add_argument("--force", action="store_true", help="grade again even if nothing changed")
    grade.add_argument("--dry-run", action="store_true",
                       help="grade and print what would change, writing nothing (no results, CSV or gradebook)")
    grade.add_argument("--timeout", type=float, default=300.0,
                       help="wall-clock seconds per notebook (default: %(default)s)")
    grade.add_argument("--cell-timeout", type=float, default=60.0,
                       help="seconds each answer cell may run (default: %(default)s)")
    grade.add_argument("--memory", type=int, default=2048, help="MB of memory per sandbox (default: %(default)s)")
    grade.add_argument("--no-bwrap", action="store_true",
                       help="use the weaker plain-subprocess sandbox even if bubblewrap is installed (development)")
    grade.add_argument("--quiet", action="store_true", help="no progress bar")

    check = commands.add_parser("check", help="check a notebook before submitting (students)", description=CHECK_HELP,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("notebook", type=Path, help="your notebook, e.g. ps1_backprop.ipynb")
    check.add_argument("--timeout", type=float, default=300.0, help="wall-clock seconds in all (default: %(default)s)")

    report = commands.add_parser("report", help="the class report of graded assignments, as HTML (instructors)",
                                 description="Write dlcourse_grades/ASSIGNMENT/report.html from the stored results "
                                             "of `dlcourse grade`: scores, parts, named mistakes ranked, unnamed "
                                             "failures grouped, statuses, flags, grading time.")
    report.add_argument("assignment", nargs="?", help="assignment name, e.g. ps3_optimizers")
    report.add_argument("--all", action="store_true", help="every assignment with stored results")
    report.add_argument("--course", type=Path, default=Path("."), help="course directory (default: the current one)")
    report.add_argument("--results", type=Path, help="results directory (default: COURSE/dlcourse_grades)")

    export = commands.add_parser("export", help="grades out to the LMS: Canvas or Moodle CSV (instructors)",
                                 description=EXPORT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    lms = export.add_subparsers(dest="lms", required=True)
    canvas = lms.add_parser("canvas", help="fill a gradebook CSV exported from Canvas")
    canvas.add_argument("--template", type=Path, required=True, help="the gradebook CSV downloaded from Canvas")
    canvas.add_argument("--match-column", help="template column to match students by after SIS Login ID "
                                               "(compared with the student's id, email and lms_user_id)")
    moodle = lms.add_parser("moodle", help="write Moodle's grade-import CSV")
    moodle.add_argument("--id-field", choices=["email", "username", "idnumber"], default="email",
                        help="Moodle user field identifying students (default: %(default)s)")
    for command in (canvas, moodle):
        command.add_argument("--out", type=Path, required=True, help="the CSV file to write")
        command.add_argument("--course", type=Path, default=Path("."),
                             help="course directory (default: the current one)")
        command.add_argument("--assignment", action="append", default=None,
                             help="export only this assignment (repeatable; default: all in the gradebook)")
    return parser


def _export(args: argparse.Namespace) -> int:
    import importlib.util

    if importlib.util.find_spec("nbgrader") is None:
        print("dlcourse export: nbgrader is not installed; install the instructor tools with "
              "pip install \"dlcourse[instructor]\"", file=sys.stderr)
        return 2
    from dlcourse.class_grading.export import fill_canvas, moodle_csv, open_gradebook, read_scores

    try:
        with open_gradebook(args.course) as gradebook:
            scores = read_scores(gradebook, args.assignment)
        if args.lms == "canvas":
            data, report = fill_canvas(args.template.read_bytes(), scores, args.match_column)
        else:
            data, report = moodle_csv(scores, args.id_field)
    except (FileNotFoundError, ValueError) as error:
        print(f"dlcourse export: {error}", file=sys.stderr)
        return 2
    args.out.write_bytes(data)
    print(f"wrote {args.out} ({', '.join(scores.assignments)})")
    for line in report.lines():
        print(line, file=sys.stderr)
    if report.unmatched_rows or report.left_out:
        count = len(report.unmatched_rows) + len(report.left_out)
        names = "; ".join(report.unmatched_rows + report.left_out)
        print(f"dlcourse export: {count} student(s) not exported: {names}", file=sys.stderr)
        return 1
    return 0


def _grade(args: argparse.Namespace) -> int:
    import importlib.util

    if importlib.util.find_spec("nbgrader") is None:
        print("dlcourse grade: nbgrader is not installed; install the instructor tools with "
              "pip install \"dlcourse[instructor]\"", file=sys.stderr)
        return 2
    from dlcourse.class_grading.batch import Options, finalize, grade_assignment
    from dlcourse.class_grading.environment import Limits
    from dlcourse.class_grading.gradebook import GradebookError
    from dlcourse.sandbox import SandboxError

    merging = args.assignment == "merge"
    assignment = args.merge_assignment if merging else args.assignment
    if not assignment or (args.merge_assignment and not merging):
        print("usage: dlcourse grade ASSIGNMENT | dlcourse grade merge ASSIGNMENT", file=sys.stderr)
        return 2
    if merging and args.dry_run:
        print("dlcourse grade merge: --dry-run is for grading (merge grades nothing)", file=sys.stderr)
        return 2
    limits = Limits(cell_s=args.cell_timeout, notebook_s=args.timeout, memory_mb=args.memory)
    options = Options(args.course, assignment, results=args.results, workers=args.workers, shard=args.shard,
                      zip_path=args.zip_path, force=args.force, limits=limits,
                      use_bwrap=False if args.no_bwrap else None, progress=not args.quiet, db_url=args.db_url,
                      dry_run=args.dry_run)
    try:
        if merging:
            missing = finalize(options)
            print(f"merged the results of {assignment} into the gradebook and "
                  f"{options.results / assignment / 'grades.csv'}")
            if missing:
                print(f"no up-to-date result for {len(missing)} submission(s): {', '.join(missing[:20])}")
                return 1
            return 0
        summary = grade_assignment(options)
    except (FileNotFoundError, GradebookError, SandboxError, ValueError) as error:
        print(f"dlcourse grade: {error}", file=sys.stderr)
        return 2
    print(summary.text())
    if args.dry_run:
        if summary.changes is not None and summary.changes.changed:
            print(summary.changes.text(), end="")
        return 0
    if summary.finalized:
        print(f"scores in the gradebook; table in {options.results / assignment / 'grades.csv'}; flags to review in "
              f"{options.results / assignment / 'integrity.txt'}")
    return 1 if summary.missing_results else 0


def _check(args: argparse.Namespace) -> int:
    from dlcourse.class_grading.student import check_notebook

    try:
        table, ok = check_notebook(args.notebook, timeout_s=args.timeout)
    except (FileNotFoundError, ValueError) as error:
        print(f"dlcourse check: {error}", file=sys.stderr)
        return 2
    print(table)
    return 0 if ok else 1


def _report(args: argparse.Namespace) -> int:
    from dlcourse.class_grading.report import write_report

    root = args.results or args.course / "dlcourse_grades"
    if args.all == bool(args.assignment):
        print("usage: dlcourse report ASSIGNMENT | dlcourse report --all", file=sys.stderr)
        return 2
    assignments = sorted(p.parent.name for p in root.glob("*/results")) if args.all else [args.assignment]
    try:
        for assignment in assignments:
            print(f"wrote {write_report(root, assignment)}")
    except ValueError as error:
        print(f"dlcourse report: {error}", file=sys.stderr)
        return 2
    return 0 if assignments else 1


COMMANDS = {"grade": _grade, "check": _check, "report": _report, "export": _export}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
