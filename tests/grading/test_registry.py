"""The check targets' tables: every ``against=`` name and every mistake id is written out once, where it is defined.

A student or instructor who greps a name from a failing test cell (``"layers.relu_backward"``) or an id from
feedback (``"adam_no_bias_correction"``) lands on its definition.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import dlcourse.grading.topics
from dlcourse.grading import get_target, targets
from dlcourse.grading.registry import TOPIC_MODULES

DEFINING_MODULE = {target.name: module_name for module_name in TOPIC_MODULES
                   for target in importlib.import_module(module_name).TARGETS}
TOPICS_FOLDER = Path(dlcourse.grading.topics.__file__).parent
TOPICS_SOURCE = "\n".join(path.read_text() for path in sorted(TOPICS_FOLDER.glob("*.py")))
# id -> how many targets catalogue a mistake of that id (two targets may name different slips alike)
MISTAKE_IDS: dict[str, int] = {}
for _name in targets():
    for _mistake in get_target(_name).mistakes:
        MISTAKE_IDS[_mistake.name] = MISTAKE_IDS.get(_mistake.name, 0) + 1


def test_every_topic_module_with_targets_is_listed():
    found = {f"dlcourse.grading.topics.{info.name}" for info in pkgutil.iter_modules(dlcourse.grading.topics.__path__)}
    with_targets = {name for name in found if hasattr(importlib.import_module(name), "TARGETS")}
    assert with_targets == set(TOPIC_MODULES)


@pytest.mark.parametrize("name", targets())
def test_target_name_is_written_where_it_is_defined(name):
    source = inspect.getsource(importlib.import_module(DEFINING_MODULE[name]))
    assert f'"{name}"' in source, f"{name!r} is not written literally in {DEFINING_MODULE[name]}"
    assert get_target(name).name == name


@pytest.mark.parametrize("mistake_id", sorted(MISTAKE_IDS))
def test_each_mistake_id_is_written_once_per_target(mistake_id):
    assert TOPICS_SOURCE.count(f'"{mistake_id}"') == MISTAKE_IDS[mistake_id]


def test_names_are_unique_across_modules():
    assert len(DEFINING_MODULE) == len(targets()) == sum(
        len(importlib.import_module(module_name).TARGETS) for module_name in TOPIC_MODULES)
