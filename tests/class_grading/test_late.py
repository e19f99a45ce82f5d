"""Late submissions: ``dlcourse grade`` and ``nbgrader autograde`` leave the same penalties and timestamps."""

from __future__ import annotations

import datetime
import math
import shutil
import sys
from pathlib import Path

import pytest

from dlcourse.class_grading import late
from dlcourse.class_grading.demo import generated_submissions, make_course, run_nbgrader, submit
from dlcourse.cli import main as dlcourse_main

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = "ps1_backprop"
DUE = datetime.datetime(2026, 11, 20, 12, 0, 0)
# one point off per started hour late, in a module the course's nbgrader_config.py names (as in nbgrader's docs)
RULE = '''
import math
from nbgrader.plugins import BasePlugin


class PointPerHour(BasePlugin):
    def late_submission_penalty(self, student_id, score, total_seconds_late):
        return float(math.ceil(total_seconds_late / 3600))
'''
STAMPS = {"s000_correct": "2026-11-20 11:00:00.000000 UTC",   # on time
          "s002_partial": "2026-11-20 14:30:00.000000 UTC",   # 2.5 hours late
          "late_correct": "2026-11-21 18:00:00.000000 UTC",   # 30 hours late: more than the score
          "s001_blank": "2026-11-20 13:00:00.000000 UTC"}     # late with nothing to take


def stamp(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f UTC")


def penalty_rule(score: float, timestamp: str) -> float | None:
    """What the rule and nbgrader's clamp give, computed here from the timestamps (None when on time)."""
    seconds = (stamp(timestamp) - DUE).total_seconds()
    return min(max(float(math.ceil(seconds / 3600)), 0.0), score) if seconds > 0 else None


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("late") / "course", ROOT, [ASSIGNMENT])
    (course / "late_rule.py").write_text(RULE)
    with (course / "nbgrader_config.py").open("a") as config:
        config.write("\nc.AssignLatePenalties.plugin_class = 'late_rule.PointPerHour'\n")
    run_nbgrader(["db", "assignment", "add", ASSIGNMENT, "--duedate", DUE.isoformat(" ") + " UTC"], course)
    students = generated_submissions(course, ASSIGNMENT, 3, seed=2)
    students["late_correct"] = students["s000_correct"]
    for student, files in students.items():
        submit(course, ASSIGNMENT, student, files, timestamp=STAMPS[student])
    return course


def copies(template: Path, tmp_path: Path) -> tuple[Path, Path]:
    return (Path(shutil.copytree(template, tmp_path / "nbgrader")),
            Path(shutil.copytree(template, tmp_path / "dlcourse")))


def run_both(by_nbgrader: Path, by_dlcourse: Path) -> None:
    run_nbgrader(["autograde", ASSIGNMENT, "--force"], by_nbgrader)
    assert dlcourse_main(["grade", ASSIGNMENT, "--course", str(by_dlcourse), "--quiet", "--workers", "2"]) == 0


def stored(course: Path) -> dict[str, dict]:
    """Per student: timestamp, each notebook's (score, penalty), and nbgrader export's final score."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "dlcourse") as gradebook:
        return {submission.student.id:
                {"timestamp": submission.timestamp,
                 "notebooks": {notebook.name: (notebook.score, notebook.late_submission_penalty)
                               for notebook in submission.notebooks},
                 "final": max(0.0, submission.score - submission.late_submission_penalty)}
                for submission in gradebook.assignment_submissions(ASSIGNMENT)}


def test_penalties_match_nbgrader_autograde(template, tmp_path):
    by_nbgrader, by_dlcourse = copies(template, tmp_path)
    run_both(by_nbgrader, by_dlcourse)
    ours, theirs = stored(by_dlcourse), stored(by_nbgrader)
    assert ours == theirs
    for student, entry in ours.items():
        assert entry["timestamp"] == stamp(STAMPS[student])
        for score, penalty in entry["notebooks"].values():
            assert penalty == penalty_rule(score, STAMPS[student])
    assert ours["s000_correct"]["final"] > 0 and ours["late_correct"]["final"] == 0.0  # same notebook, 30 h late
    assert [penalty for _, penalty in ours["s002_partial"]["notebooks"].values()] == [3.0]
    rows = (by_dlcourse / "dlcourse_grades" / ASSIGNMENT / "grades.csv").read_text().splitlines()
    assert rows[0].endswith(",late_penalty")
    penalties = {row.split(",")[0]: float(row.split(",")[-1]) for row in rows[1:]}
    assert penalties == {student: sum(penalty or 0.0 for _, penalty in entry["notebooks"].values())
                         for student, entry in ours.items()}


def test_a_newer_timestamp_is_stored_and_moves_the_penalty(template, tmp_path):
    by_nbgrader, by_dlcourse = copies(template, tmp_path)
    run_both(by_nbgrader, by_dlcourse)
    newer = "2026-11-20 16:10:00.000000 UTC"  # s000_correct resubmits: now 4 h 10 min late
    for course in (by_nbgrader, by_dlcourse):
        (course / "submitted" / "s000_correct" / ASSIGNMENT / "timestamp.txt").write_text(newer)
    run_both(by_nbgrader, by_dlcourse)
    ours = stored(by_dlcourse)
    assert ours == stored(by_nbgrader)
    assert ours["s000_correct"]["timestamp"] == stamp(newer)
    score, penalty = ours["s000_correct"]["notebooks"][ASSIGNMENT]
    assert penalty == penalty_rule(score, newer) == 5.0

    # a timestamp nbgrader cannot parse (nbgrader autograde stops): kept as it was, the student named
    (by_dlcourse / "submitted" / "s002_partial" / ASSIGNMENT / "timestamp.txt").write_text("sometime on Friday")
    with pytest.warns(UserWarning, match="s002_partial: text: invalid timestamp"):
        assert dlcourse_main(["grade", ASSIGNMENT, "--course", str(by_dlcourse), "--quiet", "--workers", "1"]) == 0
    assert stored(by_dlcourse) == ours


def test_timestamps_are_read_by_nbgrader_s_parser():
    assert late.submission_time("2026-11-20 12:00:00 America/New_York") == datetime.datetime(2026, 11, 20, 17, 0)
    assert late.submission_time("  ") is None and late.submission_time(None) is None
    with pytest.raises(ValueError, match="text: invalid timestamp"):
        late.submission_time("yesterday-ish")
    with pytest.raises(TypeError, match="text"):
        late.submission_time(12)
    with pytest.raises(TypeError, match="course"):
        late.penalty_assigner(3)


def test_the_built_in_zero_rule_comes_from_the_course_config(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\nc.LateSubmissionPlugin.penalty_method = 'zero'\n")
    path_before = list(sys.path)
    assigner = late.penalty_assigner(tmp_path)
    assert sys.path == path_before, "penalty_assigner left the course directory on sys.path"
    assert type(assigner.plugin_inst).__name__ == "LateSubmissionPlugin"
    assert assigner.plugin_inst.late_submission_penalty("s", 7.5, 60.0) == 7.5  # 'zero': the whole score
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    assert late.penalty_assigner(tmp_path).plugin_inst.late_submission_penalty("s", 7.5, 60.0) is None  # 'none'
