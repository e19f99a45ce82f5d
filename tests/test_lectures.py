"""Every lecture executes top to bottom headless, is committed clean, and has the parts a lecture needs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted((ROOT / "lectures").glob("*.ipynb"))


def test_there_are_ten_lectures_in_order():
    assert [int(p.name[:2]) for p in LECTURES] == list(range(1, 11))


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.stem)
def test_lecture_is_committed_clean_and_complete(path):
    notebook = json.loads(path.read_text())
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert not [c.get("id") for c in code if c.get("outputs") or c.get("execution_count")], "outputs committed"
    markdown = "\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "markdown")
    assert re.search(r"learning goals", markdown, re.I), "no learning goals"
    assert "$" in markdown, "no math"
    assert "<details>" in markdown and "<summary>" in markdown, "no check-yourself answers in a collapsible block"
    links = re.findall(r"\]\((\.\./exercises/[^)#]+)", markdown)
    assert links, "no link to an exercise"
    for link in links:
        assert (path.parent / link).resolve().exists(), f"broken exercise link {link}"


@pytest.mark.slow
@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.stem)
def test_lecture_executes_headless(path):
    notebook = nbformat.read(path, as_version=4)
    # raises CellExecutionError, naming the cell, if any cell fails
    resources = {"metadata": {"path": str(path.parent)}}
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources=resources).execute()
