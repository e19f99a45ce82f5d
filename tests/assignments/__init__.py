"""Planted wrong submissions, one module per notebook (``planted_<notebook>.py``, a list ``PLANTED``).

Each entry: ``name``, ``notebook`` (file name), ``cell`` (the answer cell's grade id), ``source`` (its wrong
version), ``zero`` (test cells that must lose their points) and ``feedback`` (text the failing cell must show:
``likely_cause(target, mistake_id)``, the diagnosis line of that mistake, so an entry names its mistake by id).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from dlcourse.grading import get_target

HERE = Path(__file__).resolve().parent


def load_planted(notebooks: list[str]) -> list[dict]:
    """Every planted submission for these notebook file names (notebooks without a module have none)."""
    planted = []
    for notebook in notebooks:
        if (HERE / f"planted_{Path(notebook).stem}.py").exists():
            planted += importlib.import_module(f"assignments.planted_{Path(notebook).stem}").PLANTED
    return planted


def plant(notebook: dict, entry: dict) -> dict:
    """``notebook`` with the answer cell ``entry["cell"]`` replaced by the planted source (in place; returned)."""
    for cell in notebook["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == entry["cell"]:
            cell["source"] = entry["source"]
            return notebook
    raise KeyError(f"no cell {entry['cell']!r} in the notebook")


def likely_cause(target: str, mistake: str) -> str:
    """The feedback line that names ``mistake`` of ``target`` (a planted bug is asserted by its mistake id)."""
    (message,) = [m.message for m in get_target(target).mistakes if m.name == mistake]
    return f"Likely cause: {message}"
