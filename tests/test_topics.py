"""The project's topic map: every exercise concept is graded by test cells that exist in solutions/."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOPICS = (ROOT / "docs" / "topics.md").read_text()


def exercise_lines() -> list[tuple[str, list[str]]]:
    lines = []
    for line in TOPICS.splitlines():
        if line.startswith("- ") and "[ex]" in line:
            concept, _, refs = line.partition(" -> ")
            lines.append((concept, [ref.strip() for ref in refs.split(",") if ref.strip()]))
    return lines


def graded_test_cells() -> set[str]:
    found = set()
    for path in (ROOT / "solutions").glob("*/*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            meta = cell["metadata"].get("nbgrader", {})
            if meta.get("grade") and cell["cell_type"] == "code":
                found.add(f"{path.parent.name}:{meta['grade_id']}")
    return found


def test_the_map_has_exercise_lines():
    assert len(exercise_lines()) >= 20


def test_every_exercise_concept_is_graded_by_existing_test_cells():
    existing = graded_test_cells()
    for concept, refs in exercise_lines():
        assert refs, f"{concept!r} names no test cell"
        missing = [ref for ref in refs if ref not in existing]
        assert not missing, f"{concept!r}: no test cell {missing} in solutions/"


def test_every_test_cell_is_on_the_map():
    mapped = {ref for _, refs in exercise_lines() for ref in refs}
    unmapped = graded_test_cells() - mapped
    assert not unmapped, f"test cells not in docs/topics.md: {sorted(unmapped)}"


def test_map_lines_are_well_formed():
    for line in TOPICS.splitlines():
        if line.startswith("- "):
            assert re.match(r"- (\[ex\] |\[w\] )*[A-Z0-9a-z]", line), line
