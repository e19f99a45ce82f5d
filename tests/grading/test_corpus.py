"""The independent corpus of student implementations (tests/corpus): every correct entry passes the checks
(visible and hidden), every wrong entry is rejected, and a wrong entry that gets a name gets a right one
(one of the names its entry lists).  How many wrong entries are named at all is measured, per topic, by
benchmarks/bench_feedback.py."""

import pytest
from corpus import TOPIC_MODULES, Correct, Wrong, evaluate, load, named_correctly

WRONG = [entry for topic in TOPIC_MODULES for entry in load(topic)[0]]
CORRECT = [entry for topic in TOPIC_MODULES for entry in load(topic)[1]]


def _id(entry: Wrong | Correct) -> str:
    return f"{entry.target}:{'+'.join(fn.__name__ for fn in entry.functions)}"


@pytest.mark.parametrize("entry", CORRECT, ids=_id)
def test_correct_accepted(entry: Correct) -> None:
    outcome = evaluate(entry.functions, entry.target)
    assert not outcome.rejected, outcome.message


@pytest.mark.parametrize("entry", WRONG, ids=_id)
def test_wrong_rejected_and_never_misnamed(entry: Wrong) -> None:
    outcome = evaluate(entry.functions, entry.target)
    assert outcome.rejected, f"{entry.what}: accepted by the checks"
    assert outcome.diagnosis is None or named_correctly(entry, outcome), (
        f"{entry.what}: diagnosed {outcome.diagnosis!r}, not one of {sorted(entry.names)}\n{outcome.message}")


def test_the_corpus_has_the_size_issue_11_asks_for():
    assert len(WRONG) >= 80 and len(CORRECT) >= 40
