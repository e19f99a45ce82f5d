"""Late submissions, as ``nbgrader autograde`` handles them: the timestamp, then the configured penalty.

nbgrader keeps the due date in the gradebook (``nbgrader db assignment add
ps1 --duedate ...``) and the penalty rule in ``nbgrader_config.py``
(``c.AssignLatePenalties.plugin_class``, default ``LateSubmissionPlugin``,
whose ``penalty_method`` is ``'none'`` unless configured).  This module
reuses nbgrader's own pieces rather than copying their rules:

- ``submission_time`` parses ``timestamp.txt`` text with ``nbgrader.utils.parse_utc``
  (what ``CourseDirectory.get_existing_timestamp`` calls);
- ``penalty_assigner`` builds nbgrader's ``AssignLatePenalties`` preprocessor
  from the course's config, so the plugin is the one ``nbgrader autograde``
  would use, and its ``_check_late_penalty`` clamps the penalty to
  ``[0, notebook score]``;
- ``assign_penalty`` is the body of ``AssignLatePenalties.preprocess`` for one
  submitted notebook.

The plugin is the instructor's own code (as in nbgrader), imported in the
trusted grading process; student code never runs here.
"""

from __future__ import annotations

import datetime
import sys
from pathlib import Path
from typing import Any


def submission_time(text: str | None) -> datetime.datetime | None:
    """``timestamp.txt`` text as nbgrader reads it (naive UTC); None for none; ValueError for an invalid one."""
    from nbgrader.utils import parse_utc

    if text is not None and not isinstance(text, str):
        raise TypeError(f"text must be a str or None, not {type(text).__name__}")
    if not text or not text.strip():
        return None  # nbgrader: an empty timestamp.txt is no timestamp
    try:
        return parse_utc(text.strip())
    except (ValueError, OverflowError) as error:
        raise ValueError(f"text: invalid timestamp string {text.strip()!r} ({error})") from None


def penalty_assigner(course: Path) -> Any:
    """nbgrader's ``AssignLatePenalties`` configured by ``<course>/nbgrader_config.py``, plugin instantiated.

    As nbgrader puts its working directory (the course) on ``sys.path`` before
    loading the config, the course directory is on ``sys.path`` while the
    configured plugin class is imported, so ``c.AssignLatePenalties.plugin_class
    = 'late.SubMarks'`` finds the course's ``late.py``.
    """
    from nbgrader.preprocessors import AssignLatePenalties
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    if not isinstance(course, (str, Path)):
        raise TypeError(f"course must be a path, not {type(course).__name__}")
    course = Path(course).resolve()
    config = Config()
    if (course / "nbgrader_config.py").is_file():
        config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    added = str(course) not in sys.path
    if added:
        sys.path.insert(0, str(course))
    try:
        assigner = AssignLatePenalties(config=config)
        assigner.init_plugin()  # imports plugin_class and gives the plugin the config
    finally:
        if added:
            sys.path.remove(str(course))
    return assigner


def assign_penalty(assigner: Any, submission: Any, notebook: Any, student: str) -> float | None:
    """Set ``notebook.late_submission_penalty`` as ``AssignLatePenalties.preprocess`` does; returns it.

    ``submission`` is the gradebook's SubmittedAssignment and ``notebook`` its
    SubmittedNotebook, both read after the scores were committed (the score is
    a cached column).  The penalty is reset every run; a late submission gets
    the plugin's penalty for the notebook's score, clamped to ``[0, score]``.
    """
    notebook.late_submission_penalty = None
    if submission.total_seconds_late > 0:
        penalty = assigner.plugin_inst.late_submission_penalty(student, notebook.score,
                                                               submission.total_seconds_late)
        if penalty is not None:
            notebook.late_submission_penalty = assigner._check_late_penalty(notebook, penalty)
    return notebook.late_submission_penalty


__all__ = ["assign_penalty", "penalty_assigner", "submission_time"]
