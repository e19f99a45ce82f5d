"""What a regrade changed: each student whose score moved, with the parts that moved and their mistake ids.

``dlcourse grade`` grades a submission again when its files, the grader
(checks, notebooks) or the limits changed, or with ``--force``.  Before the
new result replaces the stored one, :func:`compare` computes what changed;
the run's :class:`ChangeList` is printed at the end (:meth:`ChangeList.summary`)
and written as ``<assignment>/changes.json`` and ``changes.txt``.  A student
graded for the first time is no change: only counted (``first_time``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dlcourse.class_grading.results import atomic_write

SUMMARY_STUDENTS = 10


@dataclass(frozen=True)
class PartChange:
    """One part whose score or mistake id differs between the stored and the new result."""

    notebook: str
    grade_id: str
    old_score: float
    new_score: float
    old_mistake: str | None
    new_mistake: str | None

    def text(self) -> str:
        """E.g. ``adam_tests: adam_no_bias_correction -> passed`` (or the scores when no mistake is named)."""
        old = "passed" if self.old_mistake is None and self.old_score > 0 else self.old_mistake
        new = "passed" if self.new_mistake is None and self.new_score > 0 else self.new_mistake
        old, new = old or f"{self.old_score:g}", new or f"{self.new_score:g}"
        if old == new:
            old, new = f"{self.old_score:g}", f"{self.new_score:g}"
        return f"{self.grade_id}: {old} -> {new}"


@dataclass(frozen=True)
class StudentChange:
    """A student whose total score changed, with every part that changed."""

    student: str
    old_score: float
    new_score: float
    parts: list[PartChange]

    def text(self) -> str:
        details = "; ".join(part.text() for part in self.parts)
        return f"{self.student} {self.old_score:g} -> {self.new_score:g}" + (f" ({details})" if details else "")


def _parts(result: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(notebook["notebook"], part["grade_id"]): part
            for notebook in result["notebooks"] for part in notebook["parts"]}


def compare(old: dict[str, Any], new: dict[str, Any]) -> StudentChange | None:
    """The change from the stored result ``old`` to ``new`` of the same student, or None if the score is the same.

    Lists every part whose score or mistake id differs (a part that exists
    in only one of them counts as 0 points and no mistake in the other).
    """
    for name, result in (("old", old), ("new", new)):
        if not isinstance(result, dict) or "score" not in result or "notebooks" not in result:
            raise TypeError(f"{name} must be a result dict with 'score' and 'notebooks', got {type(result).__name__}")
    if old["student"] != new["student"]:
        raise ValueError(f"old and new are results of different students: {old['student']!r}, {new['student']!r}")
    if float(old["score"]) == float(new["score"]):
        return None
    before, after = _parts(old), _parts(new)
    changed = []
    for key in list(before) + [key for key in after if key not in before]:
        was, now = before.get(key, {}), after.get(key, {})
        scores = (float(was.get("score", 0.0)), float(now.get("score", 0.0)))
        mistakes = (was.get("mistake"), now.get("mistake"))
        if scores[0] != scores[1] or mistakes[0] != mistakes[1]:
            changed.append(PartChange(key[0], key[1], *scores, *mistakes))
    return StudentChange(new["student"], float(old["score"]), float(new["score"]), changed)


@dataclass
class ChangeList:
    """The changes of one ``dlcourse grade`` run: changed students, and how many were graded the first time."""

    assignment: str
    changed: list[StudentChange] = field(default_factory=list)
    unchanged: int = 0
    """students graded again whose total score stayed the same"""
    first_time: int = 0
    """students without a stored result before this run (not changes)"""
    dry_run: bool = False

    def add(self, old: dict[str, Any] | None, new: dict[str, Any]) -> None:
        """Record ``new`` (just graded) against ``old`` (the stored result, None if there was none)."""
        if old is None:
            self.first_time += 1
            return
        change = compare(old, new)
        if change is None:
            self.unchanged += 1
        else:
            self.changed.append(change)

    def summary(self) -> str:
        """One line: how many scores changed and the first few students' changes, e.g. ``s001 4 -> 6 (...)``."""
        ordered = sorted(self.changed, key=lambda change: change.student)
        head = f"{len(ordered)} score(s) changed" + (" (dry run: nothing written)" if self.dry_run else "")
        shown = ", ".join(change.text() for change in ordered[:SUMMARY_STUDENTS])
        more = f", and {len(ordered) - SUMMARY_STUDENTS} more" if len(ordered) > SUMMARY_STUDENTS else ""
        tail = f"; {self.unchanged} regraded with the same score; {self.first_time} graded for the first time"
        return head + (f": {shown}{more}" if shown else "") + tail

    def as_dict(self) -> dict[str, Any]:
        return {"assignment": self.assignment, "dry_run": self.dry_run, "unchanged": self.unchanged,
                "first_time": self.first_time,
                "changed": [asdict(change) for change in sorted(self.changed, key=lambda change: change.student)]}

    def text(self) -> str:
        """The readable list: one block per changed student, one line per changed part."""
        lines = [f"{self.assignment}: {len(self.changed)} score(s) changed, {self.unchanged} regraded with the same "
                 f"score, {self.first_time} graded for the first time" + (" (dry run)" if self.dry_run else ""), ""]
        for change in sorted(self.changed, key=lambda item: item.student):
            lines.append(f"{change.student}: {change.old_score:g} -> {change.new_score:g}")
            lines += [f"  {part.notebook}/{part.grade_id}: score {part.old_score:g} -> {part.new_score:g}, "
                      f"mistake {part.old_mistake or '-'} -> {part.new_mistake or '-'}" for part in change.parts]
        return "\n".join(lines) + "\n"

    def write(self, folder: Path, stem: str = "changes") -> tuple[Path, Path]:
        """Write ``<folder>/<stem>.json`` and ``<stem>.txt``; returns their paths."""
        folder = Path(folder)
        json_path, text_path = folder / f"{stem}.json", folder / f"{stem}.txt"
        atomic_write(json_path, json.dumps(self.as_dict(), indent=1, sort_keys=True))
        atomic_write(text_path, self.text())
        return json_path, text_path


__all__ = ["ChangeList", "PartChange", "StudentChange", "compare"]
