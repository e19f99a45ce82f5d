"""What the grader tests share: a fingerprint of a folder's files, and what two gradings of a class must agree on."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from dlcourse.class_grading.demo import gradebook_grades

VARYING = ("graded_at", "seconds", "origin")  # differ between two runs of the same grading


def fingerprint(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """sha256 of every file below ``folder``, by relative path, leaving out top-level entries named in ``skip``."""
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(Path(folder).rglob("*"))
            if path.is_file() and path.relative_to(folder).parts[0] not in skip}


def stable(result: dict) -> dict:
    """A stored result without what differs between two gradings of the same submission (times, paths, output)."""
    return {key: value for key, value in result.items() if key not in VARYING} | {
        "notebooks": [{key: value for key, value in notebook.items() if key != "seconds"}
                      | {"parts": [{**part, "output": ""} for part in notebook["parts"]]}
                      for notebook in result["notebooks"]]}


def graded_class(course: Path, assignment: str) -> dict[str, Any]:
    """What any complete grading of ``assignment`` in ``course`` must produce: gradebook, grades.csv, results."""
    folder = Path(course) / "dlcourse_grades" / assignment
    return {"gradebook": gradebook_grades(course, assignment),
            "grades.csv": (folder / "grades.csv").read_text() if (folder / "grades.csv").exists() else None,
            "results": {path.stem: stable(json.loads(path.read_text()))
                        for path in sorted((folder / "results").glob("*.json"))}}
