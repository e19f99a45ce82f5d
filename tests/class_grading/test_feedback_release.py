"""``nbgrader release_feedback`` after ``dlcourse grade``: the released feedback is named by the submission's secret.

nbgrader's submit writes ``submission_secret.txt`` into the submission; ``nbgrader autograde`` copies it to
``autograded/``, ``generate_feedback`` to ``feedback/``, and ``release_feedback`` names the released file
``<hash of secret and notebook>.html``, the name the student's ``fetch_feedback`` looks for. ``dlcourse grade``
must carry the secret the same way (without it ``release_feedback`` stopped with FileNotFoundError).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dlcourse.class_grading.demo import generated_submissions, make_course, run_nbgrader, submit
from dlcourse.cli import main as dlcourse_main

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = "ps1_backprop"
SECRET = "5e" * 64  # nbgrader's form: secrets.token_hex(64)


def test_feedback_released_after_dlcourse_grade_is_named_by_the_submission_secret(tmp_path):
    from nbgrader.utils import notebook_hash

    course = make_course(tmp_path / "course", ROOT, [ASSIGNMENT])
    files = generated_submissions(course, ASSIGNMENT, 1)["s000_correct"]
    folder = submit(course, ASSIGNMENT, "s000_correct", files)
    (folder / "submission_secret.txt").write_text(SECRET)
    assert dlcourse_main(["grade", ASSIGNMENT, "--course", str(course), "--quiet", "--workers", "1"]) == 0
    autograded = course / "autograded" / "s000_correct" / ASSIGNMENT / "submission_secret.txt"
    assert autograded.read_text() == SECRET

    exchange = tmp_path / "exchange"
    exchange.mkdir(mode=0o777)  # nbgrader's feedback step wants an exchange that exists
    run_nbgrader(["generate_feedback", ASSIGNMENT], course)
    run_nbgrader(["release_feedback", ASSIGNMENT, f"--Exchange.root={exchange}"], course)
    released = exchange / "dlcourse" / "feedback" / f"{notebook_hash(secret=SECRET, notebook_id=ASSIGNMENT)}.html"
    assert released.is_file(), sorted(path.name for path in released.parent.iterdir())
    assert "s000_correct" not in released.name
