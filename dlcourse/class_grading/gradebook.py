"""Writing ``dlcourse grade`` results into nbgrader's gradebook and its ``autograded/`` folder.

Scores go to the same places ``nbgrader autograde`` puts them: one
``Grade.auto_score`` per test cell (nbgrader's grade id) of each
notebook, so ``nbgrader export``, the formgrader and
``nbgrader generate_feedback`` work unchanged.  A manual score an
instructor already entered is never overwritten (the cell is marked as
needing review, as nbgrader does).  For the formgrader and feedback, the
autograded notebook is the student's notebook with the instructor's test
cells put back (hidden tests included, as nbgrader does) and their output
set to what the trusted checks printed or the error they raised, followed
by the failed check's figure when it has one.  Late submissions get the
submission timestamp and the notebooks' ``late_submission_penalty`` that
``nbgrader autograde`` gives them (``late.py``: nbgrader's own plugin and rules).

Only the trusted grading process calls this module; student code never
runs while the gradebook is open.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from dlcourse.class_grading.notebooks import SourceNotebook, Unreadable, nbgrader_metadata, read_submission
from dlcourse.class_grading.results import atomic_write
from dlcourse.grading._display import wrap


class GradebookError(Exception):
    """The gradebook lacks what grading needs (e.g. the assignment was never generated)."""


def course_settings(course: Path) -> dict[str, str]:
    """db_url, course_id and the source/autograded folder names from the course's nbgrader_config.py."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    course = Path(course).resolve()
    config = Config()
    if (course / "nbgrader_config.py").is_file():
        config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    directory = CourseDirectory(config=config)
    directory.root = str(course)
    return {"db_url": directory.db_url, "course_id": directory.course_id,
            "source": directory.source_directory, "autograded": directory.autograded_directory}


def write_scores(db_url: str, course_id: str, results: list[dict[str, Any]],
                 assigner: Any = None) -> dict[str, float]:
    """Put every result's part scores into the gradebook (students and submissions created as needed).

    As ``nbgrader autograde``: the submission's timestamp is set from the
    result's ``timestamp`` (``timestamp.txt``) on every run, and left as it
    was when there is none; then, with ``assigner`` (``late.penalty_assigner``),
    every present notebook's ``late_submission_penalty`` is reset and, for a
    submission past the gradebook's due date, set by the configured plugin.
    A notebook the student did not hand in keeps its old penalty, as in
    nbgrader (which never converts it).  Returns each student's total penalty.
    An invalid timestamp (nbgrader aborts on it) leaves the stored one as it
    was and is reported with a warning naming the student.
    """
    from nbgrader.api import Gradebook, MissingEntry

    from dlcourse.class_grading import late

    if not results:
        return {}
    if db_url.startswith("sqlite:///") and not Path(db_url[len("sqlite:///"):]).exists():
        raise GradebookError(f"there is no gradebook at {db_url[len('sqlite:///'):]}; run "
                             f"`nbgrader generate_assignment "
                             f"{results[0]['assignment']}` in the course directory first (it creates the gradebook)")
    # nbgrader runs `alembic` by name when it opens a gradebook: the environment's bin/ must be on PATH
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    with Gradebook(db_url, course_id) as gradebook:
        assignments = {result["assignment"] for result in results}
        for assignment in assignments:
            try:
                gradebook.find_assignment(assignment)
            except MissingEntry:
                raise GradebookError(
                    f"the gradebook has no assignment {assignment!r}; run `nbgrader generate_assignment {assignment}` "
                    f"once (it records the notebooks, grade ids and points) and grade again") from None
        for result in results:
            student, assignment = result["student"], result["assignment"]
            gradebook.update_or_create_student(student)
            try:
                extra = {"timestamp": late.submission_time(result.get("timestamp"))}
            except ValueError as error:
                warnings.warn(f"{student}: {error}; the gradebook keeps its timestamp", stacklevel=2)
                extra = {"timestamp": None}
            if extra["timestamp"] is None:
                del extra["timestamp"]  # as nbgrader: no timestamp leaves the stored one unchanged
            with warnings.catch_warnings():  # nbgrader's own add_submission trips SQLAlchemy's autoflush warning
                warnings.simplefilter("ignore")
                submission = gradebook.update_or_create_submission(assignment, student, **extra)
            for notebook in result["notebooks"]:
                for part in notebook["parts"]:
                    try:
                        grade = gradebook.find_grade(part["grade_id"], notebook["notebook"], assignment, student)
                    except MissingEntry:
                        raise GradebookError(
                            f"the gradebook's {assignment!r} has no test cell {part['grade_id']!r} in "
                            f"{notebook['notebook']!r}; the source changed since `nbgrader generate_assignment`: "
                            f"run it again") from None
                    grade.auto_score = float(part["score"])
                    grade.needs_manual_grade = grade.manual_score is not None
            del submission
        gradebook.db.commit()  # nbgrader's SaveAutoGrades commits before AssignLatePenalties reads the scores
        penalties: dict[str, float] = {}
        for result in results:
            student, assignment = result["student"], result["assignment"]
            submission = gradebook.find_submission(assignment, student)
            for notebook in result["notebooks"]:
                if assigner is None or notebook.get("status") == "missing":
                    continue
                stored = gradebook.find_submission_notebook(notebook["notebook"], assignment, student)
                gradebook.db.expire(stored)  # its score is a cached column: read the committed one
                late.assign_penalty(assigner, submission, stored, student)
            # as nbgrader export: the submission's penalty is the sum of its notebooks' (None counts 0)
            penalties[student] = float(sum(stored.late_submission_penalty or 0.0 for stored in submission.notebooks))
        gradebook.db.commit()
    return penalties


def _output_for(part: dict[str, Any], figure: bytes | None = None) -> list[dict[str, Any]]:
    """A test cell's outputs: what it printed, its error (the feedback) and, under it, the failure's figure."""
    outputs = []
    if part["output"]:
        outputs.append({"output_type": "stream", "name": "stdout", "text": part["output"]})
    if not part["passed"]:
        # the feedback page shows the traceback lines as they are: wrapped, no line runs off its edge
        lines = wrap(part["feedback"]) if part["feedback"].strip() else ["failed"]
        outputs.append({"output_type": "error", "ename": "GradingError", "evalue": lines[0], "traceback": lines})
        if figure:  # as a notebook shows it: the feedback first, then the figure (grading/_display.py)
            outputs.append({"output_type": "display_data", "metadata": {},
                            "data": {"image/png": base64.b64encode(figure).decode("ascii"),
                                     "text/plain": "<a figure of the failed check>"}})
    return outputs


def autograded_notebook(source: SourceNotebook, data: bytes | None, notebook_result: dict[str, Any],
                        figures: dict[str, bytes] | None = None) -> dict[str, Any]:
    """The student's notebook with the instructor's test cells (and their results) put back.

    An unreadable or missing notebook is replaced by the instructor's notebook
    with the solution cells emptied, so the formgrader can still show the scores.
    ``figures`` are the PNGs of failed parts' pictures by grade id, drawn at
    grading time (``NotebookResult.figures``); ``finalize`` reads them from beside
    the stored result (``results.read_figures``), since the results JSON is
    text only.  A part without one (no picture for its check, or a result
    whose figures file is missing, such as one written before figures
    existed) shows its feedback alone.
    """
    figures = figures or {}
    try:
        notebook = read_submission(data) if data is not None else None
    except Unreadable:
        notebook = None
    if notebook is None:
        notebook = copy.deepcopy(source.notebook)
        for cell in notebook["cells"]:
            if nbgrader_metadata(cell).get("solution"):
                cell["source"] = "# (no readable submission)"
    else:
        notebook = copy.deepcopy(notebook)
    tests = {cell_id: cell for cell_id, cell in
             ((nbgrader_metadata(cell).get("grade_id"), cell) for cell in source.notebook["cells"])
             if cell_id and nbgrader_metadata(cell).get("grade") and not nbgrader_metadata(cell).get("solution")}
    parts = {part["grade_id"]: part for part in notebook_result["parts"]}
    cells, seen = [], set()
    for cell in notebook["cells"]:
        grade_id = nbgrader_metadata(cell).get("grade_id") if isinstance(cell, dict) else None
        if grade_id in tests:
            if grade_id in seen:
                continue  # a duplicated test cell is graded once
            seen.add(grade_id)
            cell = copy.deepcopy(tests[grade_id])
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            cell["outputs"] = (_output_for(parts[grade_id], figures.get(grade_id)) if grade_id in parts
                               else cell.get("outputs", []))
            cell.setdefault("execution_count", None)
        cells.append(cell)
    for grade_id, cell in tests.items():  # deleted test cells come back at the end, as nbgrader's add_missing_cells
        if grade_id not in seen:
            restored = copy.deepcopy(cell)
            restored["outputs"] = _output_for(parts[grade_id], figures.get(grade_id)) if grade_id in parts else []
            cells.append(restored)
    notebook["cells"] = cells
    notebook.setdefault("nbformat", 4)
    notebook.setdefault("nbformat_minor", 5)
    notebook.setdefault("metadata", {})
    return notebook


def write_autograded(course: Path, autograded_dir: str, student: str, assignment: str,
                     files: dict[str, tuple[SourceNotebook, bytes | None, dict[str, Any], dict[str, bytes]]],
                     timestamp: str | None, secret: str | None = None) -> None:
    """Each notebook's autograded copy; ``files``: name -> (source, submitted bytes, result, figures by grade id).

    ``timestamp.txt`` and nbgrader's ``submission_secret.txt`` go beside them, as ``nbgrader autograde`` copies
    them: ``generate_feedback`` carries them to the feedback folder, where ``release_feedback`` needs the secret.
    """
    folder = Path(course) / autograded_dir / student / assignment
    for name, (source, data, notebook_result, figures) in files.items():
        notebook = autograded_notebook(source, data, notebook_result, figures)
        atomic_write(folder / f"{name}.ipynb", json.dumps(notebook, indent=1))
    if timestamp:
        atomic_write(folder / "timestamp.txt", timestamp)
    if secret:
        atomic_write(folder / "submission_secret.txt", secret)


__all__ = ["GradebookError", "autograded_notebook", "course_settings", "write_autograded", "write_scores"]
