"""dlcourse report: the class report's numbers (summarize) and its self-contained page (render)."""

import re

import pytest

from dlcourse.class_grading.report import render, summarize, write_report
from dlcourse.class_grading.results import atomic_write, result_path


def part(grade_id, passed, mistake=None, feedback="", points=2.0):
    return {"grade_id": grade_id, "max_score": points, "score": points if passed else 0.0, "passed": passed,
            "feedback": feedback, "output": "", "mistake": mistake}


NO_BIAS = ("adam_step and adam_init: trial 1 of 4 (visible checks) failed: a vector of 7 parameters.\n"
           "Likely cause: Bias-correct both moments.")
RAISED = "adam_step raised TypeError: unsupported operand\n  where it happened: ..."


def result(student, parts, status="graded", flags=(), seconds=1.0):
    score = sum(p["score"] for p in parts)
    return {"student": student, "assignment": "ps3_optimizers", "status": status, "score": score,
            "max_score": 4.0, "seconds": seconds, "content_hash": "h", "grader_version": "v",
            "notebooks": [{"notebook": "ps3_optimizers", "status": status, "flags": list(flags), "parts": parts}]}


CLASS = [
    result("s1", [part("adam_tests", False, "adam_no_bias_correction", NO_BIAS), part("sgd_tests", True)]),
    result("s2", [part("adam_tests", False, "adam_no_bias_correction", NO_BIAS), part("sgd_tests", False,
                                                                                    feedback=RAISED)]),
    result("s3", [part("adam_tests", True), part("sgd_tests", True)],
           flags=[{"kind": "copied", "cell": "adam", "detail": "same as s1"}]),
    result("s4", [part("adam_tests", False, feedback="not graded"), part("sgd_tests", False)], status="timeout"),
]


def test_the_summary_ranks_named_mistakes_and_groups_the_rest():
    summary = summarize(CLASS)
    (named,) = summary.mistakes
    assert (named.id, named.students, named.fix) == ("adam_no_bias_correction", ["s1", "s2"],
                                                     "Bias-correct both moments.")
    shapes = dict(summary.unnamed)
    assert shapes["sgd_tests: adam_step raised TypeError: unsupported operand"] == ["s2"]
    assert summary.statuses == {"timeout": ["s4"]}
    assert [(row["grade_id"], row["passed"], row["graded"]) for row in summary.parts] == [
        ("adam_tests", 1, 4), ("sgd_tests", 2, 4)]
    assert summary.scores == {"s1": 2.0, "s2": 0.0, "s3": 4.0, "s4": 0.0}
    assert summary.flags[0][0] == "s3" and summary.seconds == 4.0


def test_the_page_is_self_contained_escaped_and_has_two_figures_with_text_alternatives():
    hostile = result("<script>x</script>", [part("adam_tests", False, "adam_no_bias_correction", NO_BIAS),
                                            part("sgd_tests", True)])
    page = render(summarize([*CLASS, hostile]))
    assert page.count("src='data:image/png;base64,") == 2
    assert len(re.findall(r"<img [^>]*alt='[^']{20,}'", page)) == 2
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "http://" not in page and "https://" not in page  # nothing fetched when opened from disk
    assert "<td>3</td><td><code>adam_no_bias_correction</code></td>" in page
    assert "hide student names" in page and "class='who'" in page


def test_write_report_reads_the_stored_results(tmp_path):
    for item in CLASS:
        atomic_write(result_path(tmp_path, "ps3_optimizers", item["student"]), __import__("json").dumps(item))
    path = write_report(tmp_path, "ps3_optimizers", figures=False)
    assert path == tmp_path / "ps3_optimizers" / "report.html"
    assert "adam_no_bias_correction" in path.read_text()
    with pytest.raises(ValueError, match="no stored results"):
        write_report(tmp_path, "ps9", figures=False)


def test_the_command_writes_one_report_per_assignment(tmp_path, capsys):
    from dlcourse.cli import main

    for item in CLASS:
        atomic_write(result_path(tmp_path / "dlcourse_grades", "ps3_optimizers", item["student"]),
                     __import__("json").dumps(item))
    assert main(["report", "--all", "--course", str(tmp_path)]) == 0
    assert (tmp_path / "dlcourse_grades" / "ps3_optimizers" / "report.html").exists()
    assert "wrote" in capsys.readouterr().out
    assert main(["report", "--course", str(tmp_path)]) == 2  # neither a name nor --all


@pytest.mark.slow
def test_a_graded_class_with_planted_mistakes_gets_them_named_and_counted(tmp_path):
    """ps3_optimizers graded by dlcourse grade, then dlcourse report: each planted mistake with its count."""
    import copy
    import json
    from pathlib import Path

    from assignments import load_planted, plant

    from dlcourse.class_grading.demo import generated_submissions, make_course, submit
    from dlcourse.cli import main

    root = Path(__file__).resolve().parents[2]
    course = make_course(tmp_path / "course", root, ["ps3_optimizers"])
    for student, files in generated_submissions(course, "ps3_optimizers", 3, seed=2).items():
        submit(course, "ps3_optimizers", student, files)
    solution = json.loads((course / "solutions" / "ps3_optimizers" / "ps3_optimizers.ipynb").read_text())
    planted = {entry["name"]: entry for entry in load_planted(["ps3_optimizers.ipynb"])}
    plan = {"adam_no_bias_correction": 3, "momentum_moving_average": 2}
    for name, count in plan.items():
        for copy_number in range(count):
            notebook = plant(copy.deepcopy(solution), planted[name])
            submit(course, "ps3_optimizers", f"{name}_{copy_number}",
                   {"ps3_optimizers": json.dumps(notebook).encode()})
    assert main(["grade", "ps3_optimizers", "--course", str(course), "--quiet"]) == 0
    assert main(["report", "ps3_optimizers", "--course", str(course)]) == 0
    page = (course / "dlcourse_grades" / "ps3_optimizers" / "report.html").read_text()
    assert page.count("src='data:image/png;base64,") >= 2
    for name, count in plan.items():
        assert f"<td>{count}</td><td><code>{name}</code></td>" in page, name


def test_late_penalties_from_grades_csv_are_shown_with_the_final_score(tmp_path):
    import json

    from dlcourse.class_grading.results import csv_text

    late = [dict(item, late_penalty=1.5) if item["student"] == "s3" else item for item in CLASS]
    for item in CLASS:
        atomic_write(result_path(tmp_path, "ps3_optimizers", item["student"]), json.dumps(item))
    atomic_write(tmp_path / "ps3_optimizers" / "grades.csv", csv_text(late, ["adam_tests", "sgd_tests"]))
    page = write_report(tmp_path, "ps3_optimizers", figures=False).read_text()
    assert "<td class='who'>s3</td><td>4</td><td>1.5</td><td>2.5</td>" in page
    assert "No late penalty" in render(summarize(CLASS), figures=False)
