"""A practice course directory with generated submissions, for trying ``dlcourse grade`` and for benchmarks.

``make_course(path, repo, assignments)`` copies the instructor notebooks
and ``nbgrader_config.py`` from a checkout of this repository and runs
``nbgrader generate_assignment`` for each assignment (which creates the
gradebook entries).  ``generated_submissions`` makes a reproducible class
from the solution and release notebooks: correct ones, blank ones (the
release as handed out) and partially wrong ones (some answer cells put back
to the release's blank version), and ``submit`` files them as nbgrader's
``collect`` would.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from dlcourse.class_grading.notebooks import nbgrader_metadata


def run_nbgrader(args: list[str], course: Path, timeout: float = 1800) -> subprocess.CompletedProcess:
    """``nbgrader ARGS`` in ``course`` with this environment's bin/ first on PATH (nbgrader calls alembic by name)."""
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True,
                            text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result


def make_course(path: Path, repo: Path, assignments: list[str]) -> Path:
    """A fresh course directory at ``path`` with ``assignments`` generated (gradebook included)."""
    path, repo = Path(path), Path(repo)
    (path / "solutions").mkdir(parents=True, exist_ok=True)
    shutil.copy(repo / "nbgrader_config.py", path)
    for assignment in assignments:
        shutil.copytree(repo / "solutions" / assignment, path / "solutions" / assignment, dirs_exist_ok=True)
        run_nbgrader(["generate_assignment", assignment, "--force"], path)
    return path


def blank_cells(solution: dict, release: dict, grade_ids: list[str]) -> dict:
    """The solution notebook with the answer cells ``grade_ids`` replaced by the release's blank version."""
    blanks = {nbgrader_metadata(cell).get("grade_id"): cell for cell in release["cells"]}
    notebook = copy.deepcopy(solution)
    for index, cell in enumerate(notebook["cells"]):
        grade_id = nbgrader_metadata(cell).get("grade_id")
        if grade_id in grade_ids and grade_id in blanks:
            notebook["cells"][index] = copy.deepcopy(blanks[grade_id])
    return notebook


def generated_submissions(course: Path, assignment: str, count: int, seed: int = 0) -> dict[str, dict[str, bytes]]:
    """``count`` students' notebooks (name -> bytes): a third correct, a third blank, a third partly wrong."""
    rng = np.random.default_rng(seed)
    solutions = sorted((Path(course) / "solutions" / assignment).glob("*.ipynb"))
    release_dir = Path(course) / "release" / assignment
    if not release_dir.is_dir():
        release_dir = Path(course) / "exercises" / assignment
    students: dict[str, dict[str, bytes]] = {}
    for number in range(count):
        kind = ("correct", "blank", "partial")[number % 3]
        files = {}
        for path in solutions:
            solution = json.loads(path.read_text())
            release = json.loads((release_dir / path.name).read_text())
            answer_ids = [nbgrader_metadata(cell)["grade_id"] for cell in solution["cells"]
                          if nbgrader_metadata(cell).get("solution")]
            if kind == "correct":
                notebook = solution
            elif kind == "blank":
                notebook = release
            else:
                chosen = rng.choice(len(answer_ids), size=max(1, len(answer_ids) // 2), replace=False)
                notebook = blank_cells(solution, release, [answer_ids[i] for i in chosen])
            files[path.stem] = json.dumps(notebook, indent=1).encode()
        students[f"s{number:03d}_{kind}"] = files
    return students


def gradebook_grades(course: Path, assignment: str, course_id: str = "dlcourse") -> dict[tuple[str, str, str], dict]:
    """Every graded cell of ``assignment`` in the course's gradebook, by (student, notebook, grade id).

    Each value: ``auto`` and ``manual`` scores, ``score`` (nbgrader's: the
    manual one when set) and ``needs_review`` (nbgrader's needs_manual_grade).
    """
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{Path(course) / 'gradebook.db'}", course_id) as gradebook:
        return {(submission.student.id, notebook.name, grade.name):
                {"auto": grade.auto_score, "manual": grade.manual_score, "score": grade.score,
                 "needs_review": grade.needs_manual_grade}
                for submission in gradebook.assignment_submissions(assignment)
                for notebook in submission.notebooks for grade in notebook.grades}


def submit(course: Path, assignment: str, student: str, files: dict[str, bytes],
           timestamp: str = "2026-11-20 12:00:00.000000 UTC") -> Path:
    """File ``files`` under ``submitted/<student>/<assignment>/`` as ``nbgrader collect`` would."""
    folder = Path(course) / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / f"{name}.ipynb").write_bytes(data)
    (folder / "timestamp.txt").write_text(timestamp)
    return folder


__all__ = ["blank_cells", "generated_submissions", "gradebook_grades", "make_course", "run_nbgrader", "submit"]
