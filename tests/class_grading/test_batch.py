"""``dlcourse grade`` on a course directory: gradebook, results, re-runs, shards, zips, the CLI, ``dlcourse check``."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from assignments import load_planted, plant

from class_grading.helpers import fingerprint, stable
from dlcourse.class_grading.batch import Options
from dlcourse.class_grading.demo import generated_submissions, gradebook_grades, make_course, run_nbgrader, submit
from dlcourse.cli import main as dlcourse_main
from dlcourse.sandbox.host import Host

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = "ps1_backprop"
NOTEBOOK = "ps1_backprop"
OUTPUTS = ("dlcourse_grades", "autograded", "gradebook.db", "feedback", "grades.csv")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A course with ps1 generated and a class of submissions, not yet graded (copied by each test)."""
    course = make_course(tmp_path_factory.mktemp("template") / "course", ROOT, [ASSIGNMENT])
    solution = json.loads((course / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").read_text())
    for student, files in generated_submissions(course, ASSIGNMENT, 6, seed=1).items():
        submit(course, ASSIGNMENT, student, files)
    planted = load_planted([f"{NOTEBOOK}.ipynb"])[1]
    submit(course, ASSIGNMENT, "planted", {NOTEBOOK: json.dumps(plant(copy.deepcopy(solution), planted)).encode()})
    submit(course, ASSIGNMENT, "corrupt", {NOTEBOOK: b"{ not a notebook"})
    return course


@pytest.fixture
def course(template, tmp_path):
    return Path(shutil.copytree(template, tmp_path / "course", symlinks=True))


def grade(course: Path, *extra: str) -> int:
    return dlcourse_main(["grade", *extra[:1], ASSIGNMENT, "--course", str(course), "--quiet", *extra[1:]]
                         if extra and extra[0] == "merge" else
                         ["grade", ASSIGNMENT, "--course", str(course), "--quiet", *extra])


def results(course: Path, folder: str = "dlcourse_grades") -> dict[str, dict]:
    folder = course / folder / ASSIGNMENT / "results"
    return {path.stem: json.loads(path.read_text()) for path in folder.glob("*.json")}


def gradebook(course: Path) -> dict[tuple[str, str], tuple]:
    return {(student, grade_id): (grade["auto"], grade["manual"], grade["needs_review"])
            for (student, _, grade_id), grade in gradebook_grades(course, ASSIGNMENT).items()}


def course_files(course: Path) -> dict[str, str]:
    return fingerprint(course, skip=OUTPUTS)


def test_grade_fills_gradebook_results_csv_and_feedback(course, capsys):
    before = course_files(course)
    assert grade(course, "--workers", "2") == 0
    assert "graded 8 submission(s)" in capsys.readouterr().out
    assert course_files(course) == before, "grading changed files of the course besides its outputs"
    found = results(course)
    assert set(found) == {path.name for path in (course / "submitted").iterdir()}
    book = gradebook(course)
    for student, result in found.items():
        for part in result["notebooks"][0]["parts"]:
            assert book[(student, part["grade_id"])] == (part["score"], None, False)
    assert found["corrupt"]["status"] == "unreadable"
    assert {result["score"] for student, result in found.items() if student.endswith("_correct")} == {18.0}
    assert {result["score"] for student, result in found.items() if student.endswith("_blank")} == {0.0}
    partial = [result["score"] for student, result in found.items() if student.endswith("_partial")]
    assert all(0 < score < 18 for score in partial)

    lines = (course / "dlcourse_grades" / ASSIGNMENT / "grades.csv").read_text().splitlines()
    assert lines[0].startswith("student,assignment,status,score,max_score,flags,timestamp,gates_tests")
    assert len(lines) == 1 + len(found)
    assert any(line.startswith("corrupt,ps1_backprop,unreadable,0,18,1,") for line in lines)
    review = (course / "dlcourse_grades" / ASSIGNMENT / "integrity.txt").read_text()
    assert "corrupt (score 0/18, unreadable)" in review and "notebook cannot be read" in review
    assert "planted" not in review

    # nbgrader's own tools read what dlcourse grade wrote
    run_nbgrader(["export"], course)
    exported = {line.split(",")[3]: line.split(",") for line in (course / "grades.csv").read_text().splitlines()[1:]}
    for student, result in found.items():
        assert float(exported[student][9]) == result["score"]
    run_nbgrader(["generate_feedback", ASSIGNMENT], course)
    failing = next(part for part in found["planted"]["notebooks"][0]["parts"] if not part["passed"])
    html = (course / "feedback" / "planted" / ASSIGNMENT / f"{NOTEBOOK}.html").read_text()
    assert failing["feedback"].splitlines()[0].split(":")[0] in html
    assert "Likely cause" in html


def test_rerun_grades_only_what_changed_and_keeps_manual_scores(course, capsys):
    assert grade(course) == 0
    folder = course / "dlcourse_grades" / ASSIGNMENT / "results"
    stamps = {path.name: path.stat().st_mtime_ns for path in folder.glob("*.json")}
    capsys.readouterr()
    assert grade(course) == 0
    assert "graded 0 submission(s)" in capsys.readouterr().out
    assert {path.name: path.stat().st_mtime_ns for path in folder.glob("*.json")} == stamps

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "dlcourse") as book:
        book.find_grade("gates_tests", NOTEBOOK, ASSIGNMENT, "planted").manual_score = 2.5
        book.db.commit()
    changed = next(student for student in stamps if student.endswith("_blank.json"))[:-5]
    solution = (course / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").read_bytes()
    (course / "submitted" / changed / ASSIGNMENT / f"{NOTEBOOK}.ipynb").write_bytes(solution)
    assert grade(course) == 0
    assert "graded 1 submission(s)" in capsys.readouterr().out
    assert results(course)[changed]["score"] == 18.0
    assert gradebook(course)[("planted", "gates_tests")] == (3.0, 2.5, True)
    assert grade(course, "--force", "--workers", "2") == 0
    assert "graded 8 submission(s)" in capsys.readouterr().out
    assert gradebook(course)[("planted", "gates_tests")] == (3.0, 2.5, True)


def test_sharded_then_merged_equals_unsharded(course, tmp_path):
    other = Path(shutil.copytree(course, tmp_path / "sharded", symlinks=True))
    assert grade(course, "--workers", "2") == 0
    for index in range(3):
        assert grade(other, "--shard", f"{index}/3", "--workers", "1") == 0
        assert gradebook(other) == {}, "a shard must not write the gradebook"
    assert grade(other, "merge") == 0
    assert gradebook(other) == gradebook(course)
    csv_path = Path("dlcourse_grades") / ASSIGNMENT / "grades.csv"
    assert (other / csv_path).read_text() == (course / csv_path).read_text()
    unsharded, merged = results(course), results(other)
    assert {student: stable(result) for student, result in merged.items()} == \
           {student: stable(result) for student, result in unsharded.items()}


def test_workers_default_to_the_cpus_this_process_may_use(monkeypatch, tmp_path):
    # a 2-CPU Slurm task (task/affinity or task/cgroup) on a 64-core node
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {4, 5}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(Host, "cgroup_cores", lambda self: None)  # whatever the test machine's own cgroup says
    monkeypatch.delenv("SLURM_CPUS_PER_TASK", raising=False)
    monkeypatch.delenv("SLURM_CPUS_ON_NODE", raising=False)
    assert Options(tmp_path, ASSIGNMENT).workers == 2
    assert Options(tmp_path, ASSIGNMENT, workers=3).workers == 3


def test_merge_lists_students_without_a_result(course, capsys):
    assert grade(course, "--shard", "0/2") == 0
    capsys.readouterr()
    assert grade(course, "merge") == 1
    out = capsys.readouterr().out
    missing = sorted(path.name for path in (course / "submitted").iterdir())[1::2]
    assert f"no up-to-date result for {len(missing)} submission(s)" in out
    assert all(student in out for student in missing)


def test_zip_from_a_learning_management_system(course, tmp_path):
    solution = (course / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").read_bytes()
    release = (course / "exercises" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").read_bytes()
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(f"zoe_1234_56789_{NOTEBOOK}.ipynb", solution)  # Canvas-style flat names
        zipped.writestr(f"yann_late_1235_56790_{NOTEBOOK}-1.ipynb", release)
        zipped.writestr(f"xia/{NOTEBOOK}.ipynb", solution)  # one folder per student
        zipped.writestr("../../escape/evil.ipynb", solution)  # not matched, never extracted
        zipped.writestr("readme.txt", "not a notebook")
    shutil.rmtree(course / "submitted")
    assert grade(course, "--zip", str(archive)) == 0
    scores = {student: result["score"] for student, result in results(course).items()}
    assert scores == {"zoe": 18.0, "yann": 0.0, "xia": 18.0}
    assert not (tmp_path / "escape").exists() and not (course.parent / "escape").exists()


def test_errors_are_explained(course, capsys, tmp_path):
    with pytest.raises(SystemExit):
        dlcourse_main(["grade", ASSIGNMENT, "--shard", "3/2"])
    assert "0 <= i < N" in capsys.readouterr().err
    assert dlcourse_main(["grade", "ps9_missing", "--course", str(course), "--quiet"]) == 2
    assert "no source assignment 'ps9_missing'" in capsys.readouterr().err
    bare = tmp_path / "bare"
    (bare / "solutions").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", bare)
    shutil.copytree(ROOT / "solutions" / ASSIGNMENT, bare / "solutions" / ASSIGNMENT)
    submit(bare, ASSIGNMENT, "someone", {NOTEBOOK: b"{}"})
    assert dlcourse_main(["grade", ASSIGNMENT, "--course", str(bare), "--quiet", "--db",
                          f"sqlite:///{tmp_path / 'empty.db'}"]) == 2
    assert "nbgrader generate_assignment ps1_backprop" in capsys.readouterr().err


def test_console_script_help():
    script = Path(sys.executable).parent / "dlcourse"
    assert script.exists(), "pip install -e . installs the dlcourse command"
    text = subprocess.run([str(script), "grade", "--help"], capture_output=True, text=True, check=True).stdout
    for words in ("--workers", "--shard", "dlcourse grade merge", "--zip", "--force", "--timeout", "gradebook",
                  "bubblewrap", "Slurm", "timeout, crashed", "nbgrader generate_assignment"):
        assert words in text, words
    text = subprocess.run([str(script), "check", "--help"], capture_output=True, text=True, check=True).stdout
    assert "visible test cells" in text


def test_dlcourse_check_prints_a_table_per_part(tmp_path, capsys):
    release = ROOT / "exercises" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    solved = json.loads((ROOT / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").read_text())
    # the student's copy: the release's test cells (no hidden tests) with the answers filled in
    blank = json.loads(release.read_text())
    answers = {cell["metadata"]["nbgrader"]["grade_id"]: cell["source"] for cell in solved["cells"]
               if cell["metadata"].get("nbgrader", {}).get("solution")}
    for cell in blank["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
    mine = tmp_path / "mine.ipynb"
    mine.write_text(json.dumps(blank))
    assert dlcourse_main(["check", str(mine)]) == 0
    table = capsys.readouterr().out
    assert "gates_tests" in table and "passed" in table and "FAILED" not in table
    assert "total 18/18" in table
    assert dlcourse_main(["check", str(release)]) == 1
    table = capsys.readouterr().out
    assert table.count("FAILED") == 8 and "total 0/18" in table
    assert "NotImplementedError" in table
    assert dlcourse_main(["check", str(tmp_path / "nope.ipynb")]) == 2


def test_a_dying_grading_process_costs_only_its_submission(course):
    from class_grading.pool_faults import dies_on_doomed
    from dlcourse.class_grading import batch
    from dlcourse.class_grading.demo import submit as file_submission

    solution = (course / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").read_bytes()
    file_submission(course, ASSIGNMENT, "doomed", {NOTEBOOK: solution})
    options = batch.Options(course, ASSIGNMENT, workers=2, progress=False)
    settings = batch.gradebook.course_settings(course)
    found, _ = batch.discover(options, settings["source"])
    collected: dict[str, dict] = {}
    batch.run_pool(options, found, settings, "v", lambda result: collected.setdefault(result["student"], result),
                   grade=dies_on_doomed)
    assert set(collected) == {submission.student for submission in found}
    assert collected["doomed"]["status"] == "crashed" and collected["doomed"]["score"] == 0.0
    assert "died twice" in collected["doomed"]["notebooks"][0]["parts"][0]["feedback"]
    assert all(result["status"] != "crashed" for student, result in collected.items() if student != "doomed")
    correct = [result["score"] for student, result in collected.items() if student.endswith("_correct")]
    assert correct and set(correct) == {18.0}


def test_links_and_odd_folder_names_are_left_out_and_reported(course, capsys, tmp_path):
    elsewhere = tmp_path / "elsewhere" / ASSIGNMENT
    elsewhere.mkdir(parents=True)
    (elsewhere / f"{NOTEBOOK}.ipynb").write_bytes(b"{}")
    (course / "submitted" / "linked").mkdir()
    (course / "submitted" / "linked" / ASSIGNMENT).symlink_to(elsewhere)
    odd = course / "submitted" / "rm -rf ~" / ASSIGNMENT
    odd.mkdir(parents=True)
    (odd / f"{NOTEBOOK}.ipynb").write_bytes(b"{}")
    assert grade(course) == 0
    out = capsys.readouterr().out
    assert "left out" in out and "linked" in out and "rm -rf ~" in out
    assert "linked" not in results(course) and not any(" " in student for student in results(course))


def test_dlcourse_check_without_a_sandbox_runs_in_process():
    from dlcourse.class_grading.student import check_notebook

    solved = ROOT / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    table, ok = check_notebook(solved, sandboxed=False)
    assert ok and "total 18/18" in table and "no sandbox on this system" in table
    table, ok = check_notebook(ROOT / "exercises" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", sandboxed=False)
    assert not ok and table.count("FAILED") == 8


def test_timeouts_are_graded_again_only_when_the_limits_change(course, capsys):
    release = json.loads((course / "exercises" / ASSIGNMENT / f"{NOTEBOOK}.ipynb").read_text())
    for cell in release["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "gates":
            cell["source"] = ("import signal\nsignal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})\n"
                              "while True:\n    pass\n")
    shutil.rmtree(course / "submitted")
    submit(course, ASSIGNMENT, "spinner", {NOTEBOOK: json.dumps(release).encode()})
    assert grade(course, "--timeout", "3") == 0
    assert results(course)["spinner"]["status"] == "timeout"
    capsys.readouterr()
    assert grade(course, "--timeout", "3") == 0
    assert "graded 0 submission(s)" in capsys.readouterr().out
    assert grade(course, "--timeout", "4") == 0
    assert "graded 1 submission(s)" in capsys.readouterr().out


def test_grading_without_nbgrader_says_what_to_install(monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nbgrader" else real(name, *a))
    assert dlcourse_main(["grade", ASSIGNMENT]) == 2
    assert 'pip install "dlcourse[instructor]"' in capsys.readouterr().err
