"""The independent corpus of student implementations for the optim topic (tests/corpus/optim.py): every correct
entry passes the checks (visible and hidden), every wrong entry is rejected.  Which diagnosis names a wrong entry
is measured by benchmarks/bench_feedback.py, not asserted here."""

import pytest
from corpus import Correct, Wrong, evaluate, load

WRONG, CORRECT = load("optim")


def _id(entry: Wrong | Correct) -> str:
    return f"{entry.target}:{entry.functions[0].__name__}"


@pytest.mark.parametrize("entry", CORRECT, ids=_id)
def test_correct_accepted(entry: Correct) -> None:
    outcome = evaluate(entry.functions, entry.target)
    assert not outcome.rejected, outcome.message


@pytest.mark.parametrize("entry", WRONG, ids=_id)
def test_wrong_rejected(entry: Wrong) -> None:
    outcome = evaluate(entry.functions, entry.target)
    assert outcome.rejected, f"{entry.what}: accepted by the checks"
