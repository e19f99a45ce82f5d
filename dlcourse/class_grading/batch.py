"""Grading a whole class: a local process pool, shards for clusters, and the final merge into the gradebook.

``grade_assignment`` grades every submission that has no up-to-date result
(each result is written atomically as soon as it is ready, so an
interrupted run loses nothing and a re-run continues), then, unless it is
one shard of several, calls :func:`finalize`.  ``finalize`` (also
``dlcourse grade merge``) reads the stored results of every submission and
writes the gradebook scores, the autograded notebooks and ``grades.csv``.
The PNG figures of failed checks travel from :func:`grade_submission` under
the result's ``figures`` key, which ``on_result`` takes out before the JSON
is written (``results.write_result`` keeps them beside it for ``finalize``).

Each (student, assignment) is graded by :func:`grade_submission` in a pool
process of this (trusted) program; the student's code runs only in the
sandboxed workers that it starts.  Each grading process (this one, or each
pool process) owns a :class:`~dlcourse.class_grading.workers.SparePool`
that starts every kind of notebook's next sandbox ahead and is closed with
the process's share of the batch.  If a pool process dies anyway (a grader
bug, the machine's OOM killer), every submission it left unfinished is graded
again in a process of its own, and one that kills that too is reported as
``crashed``: no submission can stop the batch or cost another its grade.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import datetime
import functools
import multiprocessing
import time
import traceback
from collections import Counter
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from dlcourse.class_grading import gradebook, late, results, submissions
from dlcourse.class_grading.changes import ChangeList
from dlcourse.class_grading.environment import Limits
from dlcourse.class_grading.notebooks import SourceNotebook, source_notebooks
from dlcourse.class_grading.session import NotebookResult, grade_notebook
from dlcourse.class_grading.workers import SparePool
from dlcourse.sandbox import isolation_check
from dlcourse.sandbox.host import usable_cores

STATUS_ORDER = ("crashed", "timeout", "unreadable", "missing", "graded")


@dataclass
class Options:
    """What ``dlcourse grade`` was asked to do (see ``dlcourse grade --help``)."""

    course: Path
    assignment: str
    results: Path | None = None
    workers: int | None = None
    """grading processes; None: the cores this process may use (``sandbox.host.usable_cores``)"""
    shard: tuple[int, int] | None = None
    zip_path: Path | None = None
    force: bool = False
    limits: Limits = field(default_factory=Limits)
    use_bwrap: bool | None = None
    progress: bool = True
    db_url: str | None = None
    dry_run: bool = False
    """grade and compute the change list, but write no result, figure, CSV, autograded notebook or gradebook"""

    def __post_init__(self) -> None:
        self.course = Path(self.course).resolve()
        self.results = Path(self.results).resolve() if self.results else self.course / "dlcourse_grades"
        # the cores this process may use (affinity, cgroup quota, Slurm), not os.cpu_count(): in a container or a
        # Slurm job the machine's count would start more grading processes than there are cores
        self.workers = self.workers or usable_cores()


@functools.lru_cache(maxsize=8)
def _sources(course: str, source_dir: str, assignment: str) -> tuple[SourceNotebook, ...]:
    return tuple(source_notebooks(Path(course), assignment, source_dir))


def _overall_status(notebooks: list[dict[str, Any]]) -> str:
    statuses = [notebook["status"] for notebook in notebooks]
    if statuses and all(status == "missing" for status in statuses):
        return "missing"
    for status in STATUS_ORDER:
        if status != "missing" and status in statuses:
            return status
    return "graded"


def _crashed_notebook(source: SourceNotebook, why: str) -> dict[str, Any]:
    """A notebook result with status ``crashed``: every part 0 with ``why`` as its feedback."""
    return NotebookResult.not_graded(source, "crashed", why).as_dict()


def grade_submission(course: str, source_dir: str, assignment: str, submission: submissions.Submission,
                     limits: Limits, use_bwrap: bool | None, version: str,
                     spares: SparePool | None = None) -> dict[str, Any]:
    """The result of one student's submission of one assignment (never raises); ``spares``: the batch's pool.

    Its ``figures`` (PNG by notebook and grade id, for the autograded notebooks) is not for the results JSON:
    take it out before writing (``grade_assignment`` does).
    """
    started = time.monotonic()
    result: dict[str, Any] = {"student": submission.student, "assignment": assignment,
                              "content_hash": submission.content_hash(), "grader_version": version,
                              "timestamp": submission.timestamp, "origin": submission.origin,
                              "limits": asdict(limits)}
    sources = _sources(course, source_dir, assignment)
    notebooks, figures = [], {}
    for source in sources:
        try:
            graded = grade_notebook(source, submission.notebooks.get(source.name), limits, use_bwrap, spares=spares)
            notebooks.append(graded.as_dict())
            figures[source.name] = graded.figures()
        except Exception:  # a bug of the grader itself: report it, keep the batch going
            notebooks.append(_crashed_notebook(source, "not graded: the grader failed (see grader_error)")
                             | {"grader_error": traceback.format_exc()[-2000:]})
    result.update(notebooks=notebooks, status=_overall_status(notebooks),
                  score=float(sum(notebook["score"] for notebook in notebooks)),
                  max_score=float(sum(source.max_points for source in sources)),
                  graded_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                  seconds=round(time.monotonic() - started, 3), figures=figures)
    return result


def _crashed_result(submission: submissions.Submission, assignment: str, sources: tuple[SourceNotebook, ...],
                    version: str, why: str) -> dict[str, Any]:
    notebooks = [_crashed_notebook(source, why) for source in sources]
    return {"student": submission.student, "assignment": assignment, "content_hash": submission.content_hash(),
            "grader_version": version, "timestamp": submission.timestamp, "origin": submission.origin,
            "notebooks": notebooks, "status": "crashed", "score": 0.0,
            "max_score": float(sum(source.max_points for source in sources)), "seconds": 0.0,
            "graded_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}


def discover(options: Options, source_dir: str) -> tuple[list[submissions.Submission], list[str]]:
    names = [source.name for source in _sources(str(options.course), source_dir, options.assignment)]
    if options.zip_path:
        return submissions.from_zip(options.zip_path, options.assignment, names)
    return submissions.from_submitted(options.course, options.assignment, names)


@dataclass
class Summary:
    graded: list[dict[str, Any]]
    reused: int
    skipped_members: list[str]
    seconds: float
    finalized: bool
    missing_results: list[str] = field(default_factory=list)
    sandbox: str = ""
    changes: ChangeList | None = None
    changes_files: tuple[Path, ...] = ()

    def text(self) -> str:
        counts = Counter(result["status"] for result in self.graded)
        line = ", ".join(f"{count} {status}" for status, count in sorted(counts.items())) or "nothing new"
        flagged = sum(1 for result in self.graded if any(nb["flags"] for nb in result["notebooks"]))
        lines = [f"graded {len(self.graded)} submission(s) in {self.seconds:.1f} s ({line}); "
                 f"{self.reused} unchanged result(s) reused; {flagged} with integrity flags to review"]
        if self.sandbox == "subprocess":
            lines.append("WARNING: graded with the plain-subprocess sandbox (bubblewrap is not installed or "
                         "--no-bwrap): "
                         "student code could read course files and use the network; see docs/grading.md")
        if self.skipped_members:
            lines.append(f"left out (not a student's submission: unmatched zip members, links, odd folder names): "
                         f"{', '.join(self.skipped_members[:10])}")
        if self.missing_results:
            lines.append(f"no result yet for: {', '.join(self.missing_results[:20])}")
        if self.changes is not None and self.graded:
            lines.append(self.changes.summary())
            if self.changes_files:
                lines.append(f"change list in {self.changes_files[0]} and {self.changes_files[1]}")
        return "\n".join(lines)


# The spares of this pool process: a pool process grades many submissions in turn and owns one SparePool, opened
# by the pool's initializer and closed when the process exits.  (Unused in the batch's own process.)
_process_spares: SparePool | None = None


def _open_process_spares() -> None:
    """Initializer of every pool process: its own SparePool, closed at the process's exit."""
    global _process_spares
    _process_spares = SparePool()
    atexit.register(_process_spares.close)


def _grade_with_process_spares(grade: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """``grade(*args, spares)`` with this pool process's SparePool."""
    return grade(*args, _process_spares)


def run_pool(options: Options, todo: list[submissions.Submission], settings: dict[str, str], version: str,
             on_result: Callable[[dict[str, Any]], None], grade: Callable[..., dict[str, Any]] | None = None) -> None:
    """Grade ``todo`` with ``options.workers`` processes, calling ``on_result`` as each result arrives.

    ``grade`` (default :func:`grade_submission`; tests pass others) must be a
    module-level function, since spawned processes import it by name; it
    receives :func:`grade_submission`'s arguments, the spares last.
    """
    grade = grade or grade_submission
    args = (str(options.course), settings["source"], options.assignment)
    if options.workers <= 1 or len(todo) <= 1:
        with SparePool() as spares:
            for submission in todo:
                on_result(grade(*args, submission, options.limits, options.use_bwrap, version, spares))
        return
    context = multiprocessing.get_context("spawn")
    broken = []
    with concurrent.futures.ProcessPoolExecutor(min(options.workers, len(todo)), mp_context=context,
                                                initializer=_open_process_spares) as pool:
        futures = {pool.submit(_grade_with_process_spares, grade, *args, submission, options.limits,
                               options.use_bwrap, version): submission
                   for submission in todo}
        for future in concurrent.futures.as_completed(futures):
            try:
                on_result(future.result())
            except BrokenProcessPool:  # a pool process died: every unfinished submission lands here
                broken.append(futures[future])
    # each again in a process of its own, so that a second death names its submission and no other
    for submission in broken:
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as solo:
            try:
                on_result(solo.submit(grade, *args, submission, options.limits, options.use_bwrap, version).result())
            except BrokenProcessPool:
                on_result(_crashed_result(submission, options.assignment, _sources(*args), version,
                                          "not graded: the grading process died twice on this submission"))


def grade_assignment(options: Options) -> Summary:
    """Grade what needs grading; finalize unless this is one shard of several."""
    started = time.monotonic()
    settings = gradebook.course_settings(options.course)
    if options.db_url:
        settings["db_url"] = options.db_url
    sources = _sources(str(options.course), settings["source"], options.assignment)
    version = results.grader_version(source.path for source in sources)
    found, skipped = discover(options, settings["source"])
    mine = submissions.shard(found, *options.shard) if options.shard else found
    mode = isolation_check(options.use_bwrap) if mine else ""
    stored = results.stored_results(options.results, options.assignment)
    todo, reused = [], 0
    for submission in mine:
        old = stored.get(submission.student)
        if (not options.force and old is not None and old["content_hash"] == submission.content_hash()
                and old["grader_version"] == version
                # a timeout or crash is graded again when the limits changed (a larger --timeout, say)
                and (old["status"] not in ("timeout", "crashed") or old.get("limits") == asdict(options.limits))):
            reused += 1
        else:
            todo.append(submission)
    graded: list[dict[str, Any]] = []
    changes = ChangeList(options.assignment, dry_run=options.dry_run)
    bar = tqdm(total=len(todo), desc=f"grading {options.assignment}", unit="submission", disable=not options.progress)

    def on_result(result: dict[str, Any]) -> None:
        figures = result.pop("figures", None)
        changes.add(stored.get(result["student"]), result)  # before the stored result is overwritten
        if not options.dry_run:
            results.write_result(options.results, result, figures=figures)
        graded.append(result)
        bar.update(1)

    try:
        run_pool(options, todo, settings, version, on_result)
    finally:
        bar.close()
    summary = Summary(graded, reused, skipped, time.monotonic() - started, finalized=False, sandbox=mode,
                      changes=changes)
    if options.dry_run:
        return summary
    if graded:
        stem = "changes" if options.shard is None else f"changes.shard-{options.shard[0]}-of-{options.shard[1]}"
        summary.changes_files = changes.write(options.results / options.assignment, stem)
    if options.shard is None or options.shard[1] == 1:
        summary.missing_results = finalize(options, found, settings, version)
        summary.finalized = True
    return summary


def finalize(options: Options, found: list[submissions.Submission] | None = None,
             settings: dict[str, str] | None = None, version: str | None = None) -> list[str]:
    """Gradebook scores, autograded notebooks and grades.csv from the stored results; returns students lacking one.

    A result counts only if it matches the submission's current content and
    the current grader; students without such a result are listed and left
    out of the gradebook until they are graded.
    """
    settings = settings or gradebook.course_settings(options.course)
    if options.db_url:
        settings["db_url"] = options.db_url
    sources = _sources(str(options.course), settings["source"], options.assignment)
    version = version or results.grader_version(source.path for source in sources)
    if found is None:
        found, _ = discover(options, settings["source"])
    stored = results.stored_results(options.results, options.assignment)
    current, missing = [], []
    for submission in found:
        result = stored.get(submission.student)
        if result is None or result["content_hash"] != submission.content_hash() or result["grader_version"] != version:
            missing.append(submission.student)
            continue
        # the timestamp as it is now: a new timestamp.txt alone does not regrade, but it moves the lateness
        result = {**result, "timestamp": submission.timestamp}
        current.append(result)
        by_name = {notebook["notebook"]: notebook for notebook in result["notebooks"]}
        figures = results.read_figures(options.results, result)
        files = {source.name: (source, submission.notebooks.get(source.name), by_name[source.name],
                               figures.get(source.name, {}))
                 for source in sources if source.name in by_name}
        gradebook.write_autograded(options.course, settings["autograded"], submission.student, options.assignment,
                                   files, submission.timestamp, submission.secret)
    penalties = gradebook.write_scores(settings["db_url"], settings["course_id"], current,
                                       late.penalty_assigner(options.course))
    for result in current:  # for grades.csv only: the stored result JSON stays as grading wrote it
        result["late_penalty"] = penalties.get(result["student"], 0.0)
    part_ids = [test.grade_id for source in sources for test in source.tests]
    results.atomic_write(options.results / options.assignment / "grades.csv", results.csv_text(current, part_ids))
    results.atomic_write(options.results / options.assignment / "integrity.txt", results.integrity_text(current))
    return missing


__all__ = ["Options", "Summary", "discover", "finalize", "grade_assignment", "grade_submission", "run_pool"]
