"""Finding submissions: nbgrader's ``submitted/<student>/<assignment>/`` folders or a learning-management-system zip.

A zip is read in memory (nothing is extracted, so no member can write
anywhere).  Members are matched to students in one of two layouts:

* folders: ``<student>/<notebook>.ipynb``, optionally under
  ``submitted/`` and/or with an ``<assignment>/`` folder in between;
* flat file names as Canvas-style systems write them:
  ``<student>_<number>_<number>_<notebook>.ipynb`` (``<student>_late_...``
  too); the notebook part may carry a suffix the system added
  (``ps1_backprop-1.ipynb``) and is matched to the longest notebook name it
  starts with.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from dlcourse.class_grading.notebooks import MAX_NOTEBOOK_BYTES

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")
# nbgrader writes 128 hex digits (secrets.token_hex(64)); anything longer is not its secret
SECRET_CHARS = 1024
_FLAT_NAME = re.compile(r"^(?P<student>[^_/]+)_(?:late_)?\d+_\d+_(?P<file>.+)$", re.IGNORECASE)


@dataclass
class Submission:
    """One student's files for one assignment: notebook name -> bytes (absent: not submitted)."""

    student: str
    notebooks: dict[str, bytes] = field(default_factory=dict)
    timestamp: str | None = None
    # nbgrader's submit writes submission_secret.txt; release_feedback names the released feedback by it
    secret: str | None = None
    origin: str = ""
    oversized: list[str] = field(default_factory=list)

    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.notebooks):
            digest.update(name.encode() + b"\0" + hashlib.sha256(self.notebooks[name]).digest())
        for name in sorted(self.oversized):
            digest.update(b"oversized\0" + name.encode())
        return digest.hexdigest()


def _read_capped(path: Path) -> bytes | None:
    """The file's bytes, or None if it is larger than a notebook may be (it is then graded as unreadable)."""
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        return None
    return path.read_bytes()


def from_submitted(course: Path, assignment: str, notebook_names: list[str]) -> tuple[list[Submission], list[str]]:
    """Every ``submitted/<student>/<assignment>/`` folder, sorted by student id, and the folders left out.

    Left out (and reported): symbolic links, and folder names that are not a
    plausible student id (letters, digits and ``._@+-``).
    """
    root = Path(course) / "submitted"
    found: list[Submission] = []
    skipped: list[str] = []
    if not root.is_dir():
        return found, skipped
    for student_dir in sorted(root.iterdir()):
        folder = student_dir / assignment
        if not folder.exists() and not folder.is_symlink():
            continue
        linked = student_dir.is_symlink() or folder.is_symlink()
        if not folder.is_dir() or linked or not STUDENT_ID.match(student_dir.name):
            skipped.append(str(folder.relative_to(course)))
            continue
        submission = Submission(student_dir.name, origin=str(folder))
        for name in notebook_names:
            path = folder / f"{name}.ipynb"
            if path.is_file() and not path.is_symlink():
                data = _read_capped(path)
                if data is None:
                    submission.oversized.append(name)
                    submission.notebooks[name] = b""
                else:
                    submission.notebooks[name] = data
        stamp = folder / "timestamp.txt"
        if stamp.is_file():
            submission.timestamp = stamp.read_text(errors="replace").strip()[:64] or None
        secret = folder / "submission_secret.txt"
        if secret.is_file() and not secret.is_symlink():
            submission.secret = secret.read_text(errors="replace")[:SECRET_CHARS] or None
        found.append(submission)
    return found, skipped


def _match_notebook(file_name: str, notebook_names: list[str]) -> str | None:
    stem = PurePosixPath(file_name).stem
    if stem in notebook_names:
        return stem
    candidates = [name for name in notebook_names if stem.startswith(name)]
    return max(candidates, key=len) if candidates else None


def from_zip(path: Path, assignment: str, notebook_names: list[str]) -> tuple[list[Submission], list[str]]:
    """Submissions in a zip, and the members that could not be matched to a student and notebook."""
    by_student: dict[str, Submission] = {}
    skipped = []
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            name = PurePosixPath(member.filename)
            if member.is_dir() or name.suffix != ".ipynb" or "__MACOSX" in name.parts or "/." in f"/{member.filename}":
                continue
            parts = [part for part in name.parts if part not in ("submitted", assignment)]
            if len(parts) >= 2:
                student, notebook = parts[-2], _match_notebook(parts[-1], notebook_names)
            else:
                flat = _FLAT_NAME.match(name.name)
                student = flat["student"] if flat else ""
                notebook = _match_notebook(flat["file"], notebook_names) if flat else None
            if not notebook or not STUDENT_ID.match(student):
                skipped.append(member.filename)
                continue
            submission = by_student.setdefault(student, Submission(student, origin=f"{path}"))
            if member.file_size > MAX_NOTEBOOK_BYTES:
                submission.oversized.append(notebook)
                submission.notebooks[notebook] = b""
                continue
            with archive.open(member) as stream:
                data = stream.read(MAX_NOTEBOOK_BYTES + 1)  # the size in the header may lie
            if len(data) > MAX_NOTEBOOK_BYTES:
                submission.oversized.append(notebook)
                data = b""
            if notebook in submission.notebooks:  # two uploads of one notebook: keep the later member
                submission.origin += f" (later copy of {notebook} kept)"
            submission.notebooks[notebook] = data
    return [by_student[student] for student in sorted(by_student)], skipped


def shard(submissions: list[Submission], index: int, count: int) -> list[Submission]:
    """Slice ``index`` (0-based) of ``count`` over the submissions sorted by student id."""
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"shard must be i/N with 0 <= i < N; got {index}/{count}")
    ordered = sorted(submissions, key=lambda submission: submission.student)
    return ordered[index::count]


__all__ = ["STUDENT_ID", "Submission", "from_submitted", "from_zip", "shard"]
