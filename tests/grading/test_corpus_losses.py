"""tests/corpus/losses.py through the checks: no correct entry rejected, no wrong entry accepted."""

import pytest
from corpus import evaluate, load

WRONG, CORRECT = load("losses")


def _entry_id(entry):
    return f"{entry.target}:{'+'.join(function.__name__ for function in entry.functions)}"


@pytest.mark.parametrize("entry", CORRECT, ids=_entry_id)
def test_correct_accepted(entry):
    outcome = evaluate(entry.functions, entry.target)
    assert not outcome.rejected, outcome.message


@pytest.mark.parametrize("entry", WRONG, ids=_entry_id)
def test_wrong_rejected(entry):
    outcome = evaluate(entry.functions, entry.target)
    assert outcome.rejected, f"{entry.what}: accepted by the checks"
