"""``dlcourse export canvas|moodle`` and the nbgrader exporter plugins, on a real nbgrader gradebook."""

from __future__ import annotations

import csv
import io
import os
import sys
import warnings
from pathlib import Path

import pytest

pytest.importorskip("nbgrader")

from dlcourse.class_grading.demo import run_nbgrader
from dlcourse.class_grading.export import fill_canvas, moodle_csv, open_gradebook, read_scores
from dlcourse.cli import main

# the gradebook's inputs; the expected scores below are sums of these, by hand
AUTO = {("alice", "ps1_backprop", "q1"): 4.0, ("alice", "ps1_backprop", "q2"): 5.0,
        ("bob", "ps1_backprop", "q1"): 5.0, ("bob", "ps1_backprop", "q2"): 5.0,
        ("carol", "ps1_backprop", "q1"): 2.0, ("carol", "ps1_backprop", "q2"): 0.0,
        ("erin", "ps1_backprop", "q1"): 5.0, ("erin", "ps1_backprop", "q2"): 1.0,
        ("alice", "ps2_optim", "r1"): 3.0, ("bob", "ps2_optim", "r1"): 1.0, ("carol", "ps2_optim", "r1"): 5.0}
MANUAL = {("alice", "ps1_backprop", "q2"): 3.5}  # the instructor's manual grade replaces the auto 5
PENALTY = {("bob", "ps1_backprop"): 2.0}  # what nbgrader's late plugin would have stored
EXPECTED = {("alice", "ps1_backprop"): "7.5", ("bob", "ps1_backprop"): "8", ("carol", "ps1_backprop"): "2",
            ("erin", "ps1_backprop"): "6", ("alice", "ps2_optim"): "3", ("bob", "ps2_optim"): "1",
            ("carol", "ps2_optim"): "5"}

HEADER = ("Student,ID,SIS User ID,SIS Login ID,Section,Email,ps1_backprop (101),ps2_optim (102),quiz (103),"
          "Current Score,Final Score\n")
POINTS = "    Points Possible,,,,,,10.00,5.00,3.00,(read only),(read only)\n"
ROWS = {"alice": '"Liddell, Alice",11,A1,alice,Section 1,alice@uni.edu,,,2.00,50.00,40.00\n',
        "bob": '"Builder, Bob",12,B2,bob,Section 1,bob@uni.edu,1.00,,3.00,60.00,50.00\n',
        "carol": '"Danvers, Carol",13,,,Section 2,Carol@Uni.EDU,,,1.00,70.00,60.00\n',
        "dave": '"Jones, Dave",14,D4,dave,Section 2,dave@uni.edu,,,,0.00,0.00\n',
        "erin": '"Hannabery, Erin",15,E5,erin,"Section 1 and Section 2",erin@uni.edu,,EX,3.00,80.00,70.00\n',
        "test": '"Student, Test",16,,,Section 1,,,,,0.00,0.00\n'}


def template_bytes(rows: dict[str, str] = ROWS) -> bytes:
    return "\ufeff".encode() + (HEADER + POINTS + "".join(rows.values())).encode()


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A course directory whose gradebook holds two assignments, five students, a manual grade and a penalty."""
    from nbgrader.api import Gradebook, MissingEntry

    bin_dir = str(Path(sys.executable).parent)
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    (tmp_path / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.course_id = "dlcourse"\n')
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}", "dlcourse") as gradebook:
        for assignment, cells in (("ps1_backprop", ("q1", "q2")), ("ps2_optim", ("r1",))):
            gradebook.add_assignment(assignment)
            gradebook.add_notebook("main", assignment)
            for cell in cells:
                gradebook.add_grade_cell(cell, "main", assignment, max_score=5, cell_type="code")
        for student in ("alice", "bob", "carol", "erin"):
            gradebook.add_student(student, email=f"{student}@uni.edu", first_name=student.title(), last_name="X")
        gradebook.update_or_create_student("carol", email="carol@uni.edu", lms_user_id="")
        gradebook.update_or_create_student("erin", email="")
        for (student, assignment, cell), score in AUTO.items():
            try:
                gradebook.find_submission(assignment, student)
            except MissingEntry:
                with warnings.catch_warnings():  # nbgrader's add_submission trips SQLAlchemy's autoflush warning
                    warnings.simplefilter("ignore")
                    gradebook.add_submission(assignment, student)
            grade = gradebook.find_grade(cell, "main", assignment, student)
            grade.auto_score = score
            grade.manual_score = MANUAL.get((student, assignment, cell))
        for (student, assignment), penalty in PENALTY.items():
            gradebook.find_submission_notebook("main", assignment, student).late_submission_penalty = penalty
        gradebook.db.commit()
    return tmp_path


def rows_of(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_final_scores_count_manual_grades_and_subtract_the_late_penalty(course):
    with open_gradebook(course) as gradebook:
        scores = read_scores(gradebook)
    assert scores.assignments == ["ps1_backprop", "ps2_optim"]
    for (student, assignment), text in EXPECTED.items():
        assert scores.final[assignment][student] == float(text)
    assert scores.final["ps2_optim"]["erin"] is None


def test_canvas_fills_matched_cells_and_leaves_every_other_byte(course):
    with open_gradebook(course) as gradebook:
        scores = read_scores(gradebook)
    template = template_bytes()
    filled, report = fill_canvas(template, scores, match_column="Email")
    assert filled.startswith("\ufeff".encode())
    before, after = rows_of(template), rows_of(filled)
    header = before[0]
    columns = {"ps1_backprop": header.index("ps1_backprop (101)"), "ps2_optim": header.index("ps2_optim (102)")}
    by_login = {"Liddell, Alice": "alice", "Builder, Bob": "bob", "Danvers, Carol": "carol",
                "Hannabery, Erin": "erin"}
    for old, new in zip(before, after, strict=True):
        student = by_login.get(old[0])
        expected = list(old)
        for assignment, index in columns.items():
            if student and (student, assignment) in EXPECTED:
                expected[index] = EXPECTED[student, assignment]
        assert new == expected
    # rows that were not filled are the template's bytes
    lines = filled.decode("utf-8-sig").splitlines(keepends=True)
    for key in ("dave", "test"):
        assert ROWS[key] in lines
    assert lines[:2] == [HEADER, POINTS]
    # a filled row is the template's row with only its score cells changed (quoting of the other cells kept)
    assert '"Liddell, Alice",11,A1,alice,Section 1,alice@uni.edu,7.5,3,2.00,50.00,40.00\n' in lines
    assert '"Hannabery, Erin",15,E5,erin,"Section 1 and Section 2",erin@uni.edu,6,EX,3.00,80.00,70.00\n' in lines
    assert report.points_differ == []
    assert report.unmatched_rows == ["Jones, Dave"]
    assert report.no_submission == ["erin (ps2_optim)"]  # erin's EX stays
    assert after[-2][columns["ps2_optim"]] == "EX"
    assert report.missing_from_template == []


def test_canvas_without_the_match_column_leaves_carol_unmatched(course):
    with open_gradebook(course) as gradebook:
        scores = read_scores(gradebook, ["ps1_backprop"])
    filled, report = fill_canvas(template_bytes(), scores)
    assert report.unmatched_rows == ["Danvers, Carol", "Jones, Dave"]
    assert report.missing_from_template == ["carol"]
    assert ROWS["carol"] in filled.decode("utf-8-sig")


def test_canvas_keeps_semicolons_crlf_and_no_bom(course):
    with open_gradebook(course) as gradebook:
        scores = read_scores(gradebook, ["ps1_backprop"])
    text = "Student;ID;SIS Login ID;Section;ps1_backprop (101);Current Score\r\n" \
           "    Points Possible;;;;10,00;(read only)\r\n" \
           "Liddell, Alice;11;alice;S1;;50,00\r\nJones, Dave;14;dave;S1;;1,00\r\n"
    filled, report = fill_canvas(text.encode(), scores)
    assert filled.decode() == text.replace("Liddell, Alice;11;alice;S1;;50,00", "Liddell, Alice;11;alice;S1;7.5;50,00")
    assert report.unmatched_rows == ["Jones, Dave"]


def test_canvas_reports_points_possible_that_differ_from_nbgrader(course):
    with open_gradebook(course) as gradebook:
        scores = read_scores(gradebook)
    points = POINTS.replace("10.00,5.00", "12.00,5.00")
    filled, report = fill_canvas(template_bytes().replace(POINTS.encode(), points.encode()), scores)
    assert report.points_differ == ["ps1_backprop (Canvas 12.00, nbgrader 10)"]
    assert points in filled.decode("utf-8-sig")


@pytest.mark.parametrize("template, problem", [
    ("Name,Login\nA,a\n", "not a Canvas gradebook export"),
    ("Student,ID,SIS Login ID,Section,other (5)\n", "no column named like"),
    ("Student,ID,SIS Login ID,Section,ps1_backprop (1),ps1_backprop (2)\n", "several columns"),
])
def test_canvas_refuses_templates_it_cannot_fill(course, template, problem):
    with open_gradebook(course) as gradebook:
        scores = read_scores(gradebook, ["ps1_backprop"])
    with pytest.raises(ValueError, match=problem):
        fill_canvas(template.encode(), scores)
    with pytest.raises(ValueError, match="not UTF-8"):
        fill_canvas("Student,ID\nJos\u00e9,1\n".encode("latin-1"), scores)
    with pytest.raises(ValueError, match="match_column"):
        fill_canvas(template_bytes(), scores, match_column="E-mail")


def test_moodle_csv_has_one_row_per_identified_student(course):
    with open_gradebook(course) as gradebook:
        scores = read_scores(gradebook)
    data, report = moodle_csv(scores, "email")
    assert not data.startswith("\ufeff".encode())
    rows = rows_of(data)
    assert rows[0] == ["Email address", "First name", "Last name", "ps1_backprop", "ps2_optim"]
    assert rows[1:] == [[f"{student}@uni.edu", student.title(), "X", EXPECTED[student, "ps1_backprop"],
                         EXPECTED[student, "ps2_optim"]] for student in ("alice", "bob", "carol")]
    assert report.left_out == ["erin"]  # no email: Moodle would abort the whole import on her row
    by_username = rows_of(moodle_csv(scores, "username")[0])
    assert [row[0] for row in by_username[1:]] == ["alice", "bob", "carol", "erin"]
    assert by_username[-1][3:] == [EXPECTED["erin", "ps1_backprop"], ""]  # no submission: no grade
    with pytest.raises(ValueError, match="id_field"):
        moodle_csv(scores, "userid")


def test_cli_lists_the_unmatched_and_exits_1(course, capsys):
    (course / "canvas.csv").write_bytes(template_bytes())
    status = main(["export", "canvas", "--course", str(course), "--template", str(course / "canvas.csv"),
                   "--out", str(course / "import.csv"), "--match-column", "Email"])
    err = capsys.readouterr().err
    assert status == 1
    assert "Jones, Dave" in err
    assert rows_of((course / "import.csv").read_bytes())[2][6] == EXPECTED["alice", "ps1_backprop"]
    status = main(["export", "moodle", "--course", str(course), "--out", str(course / "moodle.csv"),
                   "--id-field", "username", "--assignment", "ps2_optim"])
    assert status == 0
    assert rows_of((course / "moodle.csv").read_bytes())[0] == ["Username", "First name", "Last name", "ps2_optim"]
    assert main(["export", "moodle", "--course", str(course), "--out", str(course / "m.csv"),
                 "--assignment", "ps9"]) == 2


def test_nbgrader_export_with_the_canvas_plugin_agrees_with_nbgraders_csv(course):
    (course / "canvas.csv").write_bytes(template_bytes())
    run_nbgrader(["export", "--exporter=dlcourse.class_grading.export.CanvasExportPlugin", "--to", "import.csv",
                  "--CanvasExportPlugin.template=canvas.csv", "--CanvasExportPlugin.match_column=Email"], course)
    run_nbgrader(["export", "--to", "nbgrader.csv"], course)
    theirs = {(row["student_id"], row["assignment"]): float(row["score"])
              for row in csv.DictReader(io.StringIO((course / "nbgrader.csv").read_text()))}
    filled = rows_of((course / "import.csv").read_bytes())
    header = filled[0]
    names = {"Liddell, Alice": "alice", "Builder, Bob": "bob", "Danvers, Carol": "carol", "Hannabery, Erin": "erin"}
    checked = 0
    for row in filled[2:]:
        student = names.get(row[0])
        for assignment in ("ps1_backprop", "ps2_optim"):
            cell = row[header.index(f"{assignment} ({101 if assignment == 'ps1_backprop' else 102})")]
            if student and (student, assignment) in EXPECTED:
                assert float(cell) == theirs[student, assignment]
                checked += 1
    assert checked == len(EXPECTED)
    run_nbgrader(["export", "--exporter=dlcourse.class_grading.export.MoodleExportPlugin", "--to", "moodle.csv",
                  "--MoodleExportPlugin.id_field=username", "--assignment=ps2_optim"], course)
    moodle = rows_of((course / "moodle.csv").read_bytes())
    assert moodle[0] == ["Username", "First name", "Last name", "ps2_optim"]
    assert {row[0]: float(row[3]) for row in moodle[1:] if row[3]} == {
        student: score for (student, assignment), score in theirs.items() if assignment == "ps2_optim" and score}
