"""Grades out to the LMS: a filled Canvas gradebook CSV and a Moodle grade-import CSV.

The scores are nbgrader's final scores, computed as ``nbgrader export``'s
CSV does: ``max(0, submission.score - submission.late_submission_penalty)``
per student and assignment, where ``submission.score`` sums every cell's
``Grade.score`` (so manual grades and extra credit count).

Canvas (``fill_canvas``): the instructor downloads the gradebook CSV from
Canvas and this fills the columns of the nbgrader assignments in it.  A
column belongs to an assignment when its header is ``<name> (<canvas id>)``
with ``<name>`` the nbgrader assignment name.  A row is matched to an
nbgrader student by ``SIS Login ID`` (= the student id), then by an optional
column (compared with the student's id, email and lms_user_id, ignoring
case).  Only the score cells of matched students change; every other row
(the Points Possible row, Test Student, unmatched students) is written back
byte for byte, with the template's delimiter and BOM.  Unmatched rows are
listed, never zeroed; a matched student with no submission keeps the
template's cell and is listed too.

Moodle (``moodle_csv``): an identifier column, First name, Last name and one
column per assignment, UTF-8 without BOM, comma separated; a student without
the chosen identifier is left out (Moodle aborts the whole import on a row
it cannot map) and listed.  No submission gives an empty cell (no grade).

``CanvasExportPlugin`` and ``MoodleExportPlugin`` make the same exports
available as ``nbgrader export --exporter=...`` plugins.
"""

from __future__ import annotations

import csv
import io
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.plugins import ExportPlugin
from traitlets import Enum, Unicode

_TITLE_AND_ID = re.compile(r"\A(.*)\s\((\d+)\)\Z", re.DOTALL)  # Canvas's Assignment.title_and_id
_TEST_STUDENT = "Student, Test"
MOODLE_ID_COLUMNS = {"email": "Email address", "username": "Username", "idnumber": "ID number"}


@dataclass
class StudentInfo:
    """An nbgrader student's identifiers, as the LMS exports use them."""

    id: str
    email: str = ""
    lms_user_id: str = ""
    first_name: str = ""
    last_name: str = ""


@dataclass
class Scores:
    """Final scores by assignment and student id (None: the student has no submission)."""

    assignments: list[str]
    students: dict[str, StudentInfo]
    final: dict[str, dict[str, float | None]]
    max_scores: dict[str, float] = field(default_factory=dict)


@dataclass
class ExportReport:
    """What an export could not do: rows and students it left as they were."""

    unmatched_rows: list[str] = field(default_factory=list)
    missing_from_template: list[str] = field(default_factory=list)
    no_submission: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    points_differ: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        parts = [("not matched to any nbgrader student (left unchanged)", self.unmatched_rows),
                 ("nbgrader students with no row in the template", self.missing_from_template),
                 ("no submission in the gradebook (cell left unchanged)", self.no_submission),
                 ("left out (no identifier)", self.left_out),
                 ("Points Possible differs from nbgrader's max score", self.points_differ)]
        return [f"{title}: {', '.join(names)}" for title, names in parts if names]


def read_scores(gradebook, assignments: list[str] | None = None, students: list[str] | None = None) -> Scores:
    """Final scores (``max(0, score - late penalty)``, as nbgrader's CSV export) from an open ``Gradebook``."""
    from nbgrader.api import MissingEntry

    known = [assignment.name for assignment in gradebook.assignments]
    if assignments:
        unknown = [name for name in assignments if name not in known]
        if unknown:
            raise ValueError(f"assignments: the gradebook has no assignment {', '.join(map(repr, unknown))} "
                             f"(it has {', '.join(known) or 'none'})")
        known = list(assignments)
    infos = {student.id: StudentInfo(student.id, student.email or "", student.lms_user_id or "",
                                     student.first_name or "", student.last_name or "")
             for student in gradebook.students if not students or student.id in students}
    final: dict[str, dict[str, float | None]] = {}
    for name in known:
        final[name] = {}
        for student_id in infos:
            try:
                submission = gradebook.find_submission(name, student_id)
            except MissingEntry:
                final[name][student_id] = None
                continue
            penalty = submission.late_submission_penalty or 0.0
            final[name][student_id] = max(0.0, submission.score - penalty)
    max_scores = {name: float(gradebook.find_assignment(name).max_score or 0.0) for name in known}
    return Scores(known, infos, final, max_scores)


def format_score(score: float) -> str:
    """At most 2 decimals with a decimal point: 8.5, 10, 7.33."""
    return f"{score:.2f}".rstrip("0").rstrip(".")


def _records(text: str) -> list[str]:
    """The text's CSV records, each with its line ending, exactly as in the text (quoted newlines kept)."""
    records, current = [], ""
    for line in re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z", text):
        current += line
        if current.count('"') % 2 == 0:
            records.append(current)
            current = ""
    if current:
        records.append(current)
    return records


def _cells(record: str, delimiter: str) -> list[str]:
    rows = list(csv.reader(io.StringIO(record), delimiter=delimiter))
    return rows[0] if rows else []


def _ending(record: str) -> str:
    stripped = record.rstrip("\r\n")
    return record[len(stripped):]


def _raw_fields(record: str, delimiter: str) -> list[str]:
    """The record's fields as written (quotes included), without the line ending: joined, they give it back."""
    fields, current, quoted = [], "", False
    for char in record[:len(record) - len(_ending(record))]:
        if char == '"':
            quoted = not quoted
        if char == delimiter and not quoted:
            fields.append(current)
            current = ""
        else:
            current += char
    fields.append(current)
    return fields


def _find(header: list[str], name: str) -> int | None:
    matches = [index for index, cell in enumerate(header) if cell.strip() == name]
    return matches[0] if matches else None


def fill_canvas(template: bytes, scores: Scores, match_column: str | None = None) -> tuple[bytes, ExportReport]:
    """The Canvas gradebook CSV ``template`` with the scores of ``scores`` filled in, and what was not filled."""
    if not isinstance(template, bytes):
        raise TypeError(f"template: expected the CSV file's bytes, got {type(template).__name__}")
    try:
        text = template.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"template: not UTF-8 ({error}); export the gradebook from Canvas again "
                         f"(Canvas writes UTF-8)") from None
    bom = text.startswith("\ufeff")
    text = text[1:] if bom else text
    records = _records(text)
    if not records:
        raise ValueError("template: the Canvas export is empty")
    first_line = records[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    header = _cells(records[0], delimiter)
    if not header or "Student" not in header[0] or len(header) < 2 or "ID" not in header[1]:
        raise ValueError(f"template: not a Canvas gradebook export (the header starts {header[:2]}, expected "
                         f"Student, ID, ...)")
    login = _find(header, "SIS Login ID")
    extra = None
    if match_column is not None:
        extra = _find(header, match_column)
        if extra is None:
            raise ValueError(f"match_column: the template has no column {match_column!r} "
                             f"(its columns: {', '.join(header)})")
    if login is None and extra is None:
        raise ValueError("template: no SIS Login ID column; name a column to match students with (--match-column)")
    columns: dict[int, str] = {}
    for assignment in scores.assignments:
        found = [index for index, cell in enumerate(header)
                 if (match := _TITLE_AND_ID.match(cell)) and match.group(1) == assignment]
        if len(found) > 1:
            raise ValueError(f"template: several columns are assignment {assignment!r}: "
                             f"{', '.join(header[index] for index in found)}")
        if found:
            columns[found[0]] = assignment
    if not columns:
        raise ValueError(f"template: no column named like '<assignment> (<id>)' for the assignments "
                         f"{', '.join(scores.assignments) or '(none)'}")
    by_login = {student_id.casefold(): student_id for student_id in scores.students}
    by_other: dict[str, str] = {}
    for info in scores.students.values():
        for value in (info.id, info.email, info.lms_user_id):
            if value:
                by_other.setdefault(value.strip().casefold(), info.id)
    report, seen = ExportReport(), set()
    out = [records[0]]
    for record in records[1:]:
        cells = _cells(record, delimiter)
        first = cells[0].strip() if cells else ""
        if "Points Possible" in first:
            for index, assignment in columns.items():
                expected = scores.max_scores.get(assignment)
                points = cells[index].strip().replace(",", ".") if index < len(cells) else ""
                try:
                    differs = expected is not None and abs(float(points) - expected) > 0.005
                except ValueError:
                    differs = False
                if differs:
                    report.points_differ.append(f"{assignment} (Canvas {points}, nbgrader {format_score(expected)})")
        if (not cells or "Points Possible" in first or first == _TEST_STUDENT
                or all(cell.strip() in ("", "Muted") or cell.strip().startswith("Manual Posting") for cell in cells)):
            out.append(record)
            continue
        student = None
        if login is not None and login < len(cells) and cells[login].strip():
            student = by_login.get(cells[login].strip().casefold())
        if student is None and extra is not None and extra < len(cells) and cells[extra].strip():
            student = by_other.get(cells[extra].strip().casefold())
        if student is None:
            report.unmatched_rows.append(cells[0] or "(no name)")
            out.append(record)
            continue
        seen.add(student)
        fields = _raw_fields(record, delimiter)
        for index, assignment in columns.items():
            score = scores.final[assignment].get(student)
            if score is None:
                report.no_submission.append(f"{student} ({assignment})")
            elif index < len(fields):
                fields[index] = format_score(score)
        out.append(delimiter.join(fields) + _ending(record))
    report.missing_from_template = sorted(set(scores.students) - seen)
    return ("\ufeff" if bom else "").encode() + "".join(out).encode("utf-8"), report


def moodle_csv(scores: Scores, id_field: str = "email") -> tuple[bytes, ExportReport]:
    """Moodle's grade-import CSV (UTF-8, comma): identifier, First name, Last name, one column per assignment."""
    if id_field not in MOODLE_ID_COLUMNS:
        raise ValueError(f"id_field: expected one of {', '.join(MOODLE_ID_COLUMNS)}, got {id_field!r}")
    report = ExportReport()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([MOODLE_ID_COLUMNS[id_field], "First name", "Last name", *scores.assignments])
    for student_id in sorted(scores.students):
        info = scores.students[student_id]
        identifier = {"email": info.email, "username": info.id, "idnumber": info.lms_user_id}[id_field].strip()
        if not identifier:
            report.left_out.append(student_id)
            continue
        row = [identifier, info.first_name, info.last_name]
        for assignment in scores.assignments:
            score = scores.final[assignment].get(student_id)
            row.append("" if score is None else format_score(score))
        writer.writerow(row)
    return buffer.getvalue().encode("utf-8"), report


def open_gradebook(course: Path):
    """nbgrader's ``Gradebook`` of the course directory (from its nbgrader_config.py)."""
    from nbgrader.api import Gradebook

    from dlcourse.class_grading.gradebook import course_settings

    settings = course_settings(course)
    url = settings["db_url"]
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        raise FileNotFoundError(f"there is no gradebook at {url[len('sqlite:///'):]}")
    bin_dir = str(Path(sys.executable).parent)  # nbgrader runs `alembic` by name
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    return Gradebook(url, settings["course_id"])


def _write(path: str, data: bytes, what: str) -> Path:
    if not path:
        raise ValueError(f"to: give the {what} file to write (--to FILE.csv)")
    Path(path).write_bytes(data)
    return Path(path)


class CanvasExportPlugin(ExportPlugin):
    """``nbgrader export --exporter=dlcourse.class_grading.export.CanvasExportPlugin
    --CanvasExportPlugin.template=CANVAS_EXPORT.csv --to IMPORT.csv``"""

    template = Unicode("", help="the gradebook CSV exported from Canvas, to fill").tag(config=True)
    match_column = Unicode("", help="a template column to match students by after SIS Login ID "
                                    "(compared with the student's id, email and lms_user_id)").tag(config=True)

    def export(self, gradebook) -> None:
        if not self.template:
            raise ValueError("template: give the Canvas export to fill (--CanvasExportPlugin.template=FILE.csv)")
        scores = read_scores(gradebook, list(self.assignment), list(self.student))
        data, report = fill_canvas(Path(self.template).read_bytes(), scores, self.match_column or None)
        path = _write(self.to, data, "Canvas import")
        self.log.info("Wrote %s", path)
        for line in report.lines():
            self.log.warning(line)


class MoodleExportPlugin(ExportPlugin):
    """``nbgrader export --exporter=dlcourse.class_grading.export.MoodleExportPlugin --to FILE.csv``"""

    id_field = Enum(list(MOODLE_ID_COLUMNS), default_value="email",
                    help="the Moodle user field identifying students").tag(config=True)

    def export(self, gradebook) -> None:
        scores = read_scores(gradebook, list(self.assignment), list(self.student))
        data, report = moodle_csv(scores, self.id_field)
        path = _write(self.to, data, "Moodle grade import")
        self.log.info("Wrote %s", path)
        for line in report.lines():
            self.log.warning(line)


__all__ = ["CanvasExportPlugin", "ExportReport", "MoodleExportPlugin", "Scores", "StudentInfo", "fill_canvas",
           "format_score", "moodle_csv", "open_gradebook", "read_scores"]
