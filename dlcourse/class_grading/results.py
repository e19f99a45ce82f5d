"""Where ``dlcourse grade`` keeps its results, and how it writes them (atomically, idempotently).

Layout, under the results directory (default ``<course>/dlcourse_grades``)::

    <assignment>/results/<student>.json   one per (student, assignment)
    <assignment>/figures/<student>.json   the failed checks' figures, when there are any
    <assignment>/grades.csv               one row per student, written by grade / merge

A result JSON holds ``content_hash`` (of the submitted files) and
``grader_version`` (of the grading code and the instructor's notebooks): a
later run reuses a result whose two hashes match and grades the rest.  It is
text only; the PNG figures of failed checks (drawn at grading time, for the
autograded notebooks behind nbgrader's feedback) are kept beside it, stamped
with the result they belong to, so a reused result keeps its figures and a
stale figure is never shown.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import dlcourse

_CODE_PACKAGES = ("grading", "sandbox", "class_grading")


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write ``path`` so that a reader sees the old file or the whole new one, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(raw)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with _suppress_missing():
            os.unlink(temporary)
        raise


class _suppress_missing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, value: Any, trace: Any) -> bool:
        return kind is not None and issubclass(kind, FileNotFoundError)


def grader_version(source_paths: Iterable[Path]) -> str:
    """A hash of dlcourse's version, its grading code and the instructor's notebooks of the assignment."""
    digest = hashlib.sha256(dlcourse.__version__.encode())
    package = Path(dlcourse.__file__).resolve().parent
    for sub in _CODE_PACKAGES:
        for path in sorted((package / sub).rglob("*.py")):
            digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    for path in sorted(Path(p) for p in source_paths):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def result_dir(results: Path, assignment: str) -> Path:
    return Path(results) / assignment / "results"


def result_path(results: Path, assignment: str, student: str) -> Path:
    return result_dir(results, assignment) / f"{student}.json"


def figures_path(results: Path, assignment: str, student: str) -> Path:
    return Path(results) / assignment / "figures" / f"{student}.json"


def _stamp(result: dict[str, Any]) -> dict[str, Any]:
    """What ties a figures file to its result: the same hashes and the same grading time."""
    return {key: result.get(key) for key in ("content_hash", "grader_version", "graded_at")}


def write_result(results: Path, result: dict[str, Any],
                 figures: dict[str, dict[str, bytes]] | None = None) -> Path:
    """Write ``result`` (JSON, text only) and its ``figures`` (PNG by notebook and grade id) beside it.

    A result without figures removes the student's older figures file.
    """
    path = result_path(results, result["assignment"], result["student"])
    figures_file = figures_path(results, result["assignment"], result["student"])
    figures = {notebook: pngs for notebook, pngs in (figures or {}).items() if pngs}
    if figures:
        encoded = {notebook: {grade_id: base64.b64encode(data).decode("ascii") for grade_id, data in pngs.items()}
                   for notebook, pngs in figures.items()}
        atomic_write(figures_file, json.dumps(_stamp(result) | {"figures": encoded}))
    else:
        with _suppress_missing():
            os.unlink(figures_file)
    atomic_write(path, json.dumps(result, indent=1, sort_keys=True))
    return path


def read_figures(results: Path, result: dict[str, Any]) -> dict[str, dict[str, bytes]]:
    """The PNG figures written with ``result``, by notebook and grade id; {} if none, damaged or of another grading."""
    try:
        stored = json.loads(figures_path(results, result["assignment"], result["student"]).read_text())
        if not isinstance(stored, dict) or {key: stored.get(key) for key in _stamp(result)} != _stamp(result):
            return {}
        return {notebook: {grade_id: base64.b64decode(text, validate=True) for grade_id, text in pngs.items()}
                for notebook, pngs in stored["figures"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def read_result(path: Path) -> dict[str, Any] | None:
    """A stored result, or None if it is missing or damaged (it is then graded again)."""
    try:
        result = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    needed = {"student", "assignment", "status", "score", "max_score", "notebooks", "content_hash", "grader_version"}
    return result if isinstance(result, dict) and needed <= result.keys() else None


def stored_results(results: Path, assignment: str) -> dict[str, dict[str, Any]]:
    folder = result_dir(results, assignment)
    found = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        result = read_result(path)
        if result is not None and result["assignment"] == assignment:
            found[result["student"]] = result
    return found


CSV_FIELDS = ["student", "assignment", "status", "score", "max_score", "flags", "timestamp"]


def csv_text(results: Iterable[dict[str, Any]], part_ids: list[str]) -> str:
    """One row per student: totals, status, number of integrity flags, the score of every part, the late penalty.

    ``score`` is the raw score; ``late_penalty`` (last, so that older readers
    of the first columns are unaffected) is the gradebook's late-submission
    penalty that ``finalize`` puts in each result (0 when none), and the final
    score is, as in ``nbgrader export``, ``max(0, score - late_penalty)``.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS + part_ids + ["late_penalty"])
    for result in sorted(results, key=lambda item: item["student"]):
        scores = {part["grade_id"]: part["score"] for notebook in result["notebooks"] for part in notebook["parts"]}
        flags = sum(len(notebook["flags"]) for notebook in result["notebooks"])
        writer.writerow([result["student"], result["assignment"], result["status"], f"{result['score']:g}",
                         f"{result['max_score']:g}", flags, result.get("timestamp") or ""]
                        + [f"{scores.get(grade_id, 0.0):g}" for grade_id in part_ids]
                        + [f"{result.get('late_penalty', 0.0):g}"])
    return out.getvalue()


def integrity_text(results: Iterable[dict[str, Any]]) -> str:
    """The instructor's review list: every integrity flag, by student and notebook (flags never change a score)."""
    lines = ["Integrity flags ask for a review; they never change a score.", ""]
    flagged = 0
    for result in sorted(results, key=lambda item: item["student"]):
        entries = [(notebook["notebook"], flag) for notebook in result["notebooks"] for flag in notebook["flags"]]
        if not entries:
            continue
        flagged += 1
        lines.append(f"{result['student']} (score {result['score']:g}/{result['max_score']:g}, {result['status']})")
        lines += [f"  {notebook}: [{flag['kind']}] {flag['cell'] or '(notebook)'}: {flag['detail']}"
                  for notebook, flag in entries]
    lines.insert(1, f"{flagged} submission(s) flagged.")
    return "\n".join(lines) + "\n"


__all__ = [
    "CSV_FIELDS",
    "atomic_write",
    "csv_text",
    "figures_path",
    "grader_version",
    "integrity_text",
    "read_figures",
    "read_result",
    "result_dir",
    "result_path",
    "stored_results",
    "write_result",
]
