"""A class graded on a real (one-node) Slurm with the README's job file, submission and recovery, run as written.

The README's three Slurm blocks (the job file, the submission of each
assignment's array and its merge, the resubmission of one failed shard) are
taken from README.md by their markers, with only the paths changed: the
venv to this one and the course to the test's.  One array task is cancelled
while it runs; its merge must never run, and after the README's recovery
the gradebook, grades.csv and the results must be those of one unsharded
``dlcourse grade`` of an identical copy of the course.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from class_grading.helpers import graded_class

from deployment.slurm_cluster import SlurmCluster, missing_requirements, slurm_cluster, wait_for
from dlcourse.class_grading.demo import generated_submissions, make_course, submit

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
ASSIGNMENTS = ("ps1_backprop", "ps4_normalization")  # the README's submission loop grades these two
STUDENTS = 12  # more than the job file's 10 shards: every task grades someone, and two tasks grade two
KILLED_ASSIGNMENT, KILLED_SHARD = "ps1_backprop", 3  # the README's recovery example resubmits this shard
JOBS_TIMEOUT_S = 300
DLCOURSE = str(Path(sys.executable).parent / "dlcourse")


def readme_block(marker: str, course: Path) -> str:
    """The bash block after ``<!-- marker -->`` in README.md, with /shared/venv and /shared/course made real."""
    lines = README.splitlines()
    start = lines.index(f"<!-- {marker} -->")
    assert lines[start + 1] == "```bash", f"README: no bash block right after <!-- {marker} -->"
    block = "\n".join(lines[start + 2:lines.index("```", start + 2)]) + "\n"
    return block.replace("/shared/venv", sys.prefix).replace("/shared/course", str(course))


def job_outputs(course: Path) -> str:
    """Every job's output file (grade-JOBID_TASK.out, merge-JOBID.out), for failure messages."""
    return "\n".join(f"--- {path.name} ---\n{path.read_text(errors='replace')[-3000:]}"
                     for path in sorted(course.glob("*.out")))


def wait_for_jobs(cluster: SlurmCluster, course: Path, condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition``; on timeout, fail with what squeue still shows, the job outputs and the daemons' logs."""
    try:
        wait_for(condition, JOBS_TIMEOUT_S, what, cluster)
    except RuntimeError as error:
        raise AssertionError(f"{error}\nsqueue: {cluster.queue()}\n{job_outputs(course)}") from None


def job_state(cluster: SlurmCluster, job: str) -> str:
    """JobState in ``scontrol show job`` (Slurm keeps a finished job for MinJobAge, 300 s by default)."""
    shown = cluster.run("scontrol", "show", "job", job).stdout
    return re.search(r"JobState=(\S+)", shown).group(1)


@pytest.fixture
def cluster(tmp_path):
    if why := missing_requirements():
        pytest.skip(why)
    with slurm_cluster(tmp_path / "slurm") as running:
        yield running


@pytest.fixture
def course(tmp_path):
    """A course with both assignments generated and a class of STUDENTS submissions to each, not yet graded."""
    course = make_course(tmp_path / "course", ROOT, list(ASSIGNMENTS))
    for assignment in ASSIGNMENTS:
        for student, files in generated_submissions(course, assignment, STUDENTS, seed=2).items():
            submit(course, assignment, student, files)
    return course


def test_slurm_array_grades_the_class_and_recovers_a_cancelled_shard(cluster, course, tmp_path):
    unsharded = Path(shutil.copytree(course, tmp_path / "unsharded", symlinks=True))
    for assignment in ASSIGNMENTS:
        graded = subprocess.run([DLCOURSE, "grade", assignment, "--workers", "2", "--quiet"], cwd=unsharded,
                                capture_output=True, text=True)
        assert graded.returncode == 0, graded.stdout + graded.stderr
    expected = {assignment: graded_class(unsharded, assignment) for assignment in ASSIGNMENTS}

    (course / "grade.sh").write_text(readme_block("slurm-job-file", course))
    submitted = cluster.run("bash", "-e", "-c", readme_block("slurm-submit", course), cwd=course).stdout
    arrays = dict(re.findall(r"^(\w+): array job (\d+)$", submitted, re.M))
    merges = dict(zip(ASSIGNMENTS, re.findall(r"^Submitted batch job (\d+)$", submitted, re.M), strict=True))
    assert set(arrays) == set(ASSIGNMENTS), submitted

    # cancel one task while it runs, as a lost node or an operator would
    killed = f"{arrays[KILLED_ASSIGNMENT]}_{KILLED_SHARD}"
    wait_for_jobs(cluster, course, lambda: (killed, "RUNNING") in {(job, state) for job, state, _ in cluster.queue()},
                  f"array task {killed} to run")
    cluster.run("scancel", killed)
    wait_for_jobs(cluster, course, lambda: not cluster.queue(), "every job to end")
    outputs = job_outputs(course)
    assert job_state(cluster, killed) == "CANCELLED", outputs
    assert "CANCELLED" in (course / f"grade-{killed}.out").read_text(), outputs  # as the README says
    assert job_state(cluster, merges[KILLED_ASSIGNMENT]) == "CANCELLED", outputs
    assert not (course / f"merge-{merges[KILLED_ASSIGNMENT]}.out").exists(), "the merge ran after a failed shard"
    assert graded_class(course, KILLED_ASSIGNMENT)["gradebook"] == {}, outputs
    other = next(assignment for assignment in ASSIGNMENTS if assignment != KILLED_ASSIGNMENT)
    assert graded_class(course, other) == expected[other], outputs

    # the merge names exactly the cancelled shard's students, as the README says
    shards = int(re.search(r"^SHARDS=(\d+)$", (course / "grade.sh").read_text(), re.M).group(1))
    lost = sorted(path.name for path in (course / "submitted").iterdir())[KILLED_SHARD::shards]
    merged = subprocess.run([DLCOURSE, "grade", "merge", KILLED_ASSIGNMENT], cwd=course, capture_output=True,
                            text=True)
    assert merged.returncode == 1, merged.stdout + merged.stderr
    assert f"no up-to-date result for {len(lost)} submission(s): {', '.join(lost)}" in merged.stdout

    cluster.run("bash", "-e", "-c", readme_block("slurm-recover", course), cwd=course)
    wait_for_jobs(cluster, course, lambda: not cluster.queue(), "every job to end")
    assert graded_class(course, KILLED_ASSIGNMENT) == expected[KILLED_ASSIGNMENT], job_outputs(course)
