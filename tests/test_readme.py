"""The README's examples run and say what they claim, and CI runs the README's test command."""

import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
EXAMPLES = re.findall(r"```python\n(.*?)```", README, re.S)


def test_readme_has_the_two_examples():
    assert len(EXAMPLES) == 2


def test_adam_on_rosenbrock_example_reaches_the_minimum():
    namespace: dict = {}
    exec(EXAMPLES[0], namespace)
    np.testing.assert_allclose(namespace["theta"], [1.0, 1.0], atol=0.02)
    assert namespace["path"].shape == (2001, 2)
    np.testing.assert_allclose(namespace["path"][-1], namespace["theta"], rtol=1e-12)


def test_digits_example_reaches_the_accuracy_it_claims():
    namespace: dict = {}
    exec(EXAMPLES[1], namespace)
    assert namespace["accuracy"] >= 0.95


def test_ci_runs_the_readme_test_command():
    lines = README.splitlines()
    marker = lines.index("<!-- test-command -->")
    assert lines[marker + 1] == "```bash"
    command = lines[marker + 2]
    assert command.startswith("pip install") and "pytest" in command
    ci = (ROOT / ".ci" / "run").read_text()
    assert "<!-- test-command -->" in ci and 'eval "$test_command"' in ci


def test_instructor_section_leads_with_dlcourse_grade():
    section = README.split("## For instructors", 1)[1].split("\n## ", 1)[0]
    first_block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.splitlines() if line.strip()]
    grading = [command for command in commands if "autograde" in command or command.startswith("dlcourse grade")]
    assert grading and grading[0].startswith("dlcourse grade"), "the instructor's grading command is dlcourse grade"
    assert "nbgrader autograde" not in first_block


def test_cluster_job_files_use_shards_and_merge():
    section = README.split("### On a cluster", 1)[1].split("\n### ", 1)[0]
    job_file, submit = re.findall(r"```bash\n(.*?)```", section, re.S)[:2]  # tests/deployment/test_slurm.py runs them
    kubernetes = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    assert "#SBATCH --array=0-9" in job_file and "\nSHARDS=10\n" in job_file
    assert '--shard "${SLURM_ARRAY_TASK_ID}/${SHARDS}"' in job_file
    assert "dlcourse grade merge" in submit and "--dependency=afterok:" in submit
    assert "completionMode: Indexed" in kubernetes and "completions: 10" in kubernetes
    assert "--shard ${JOB_COMPLETION_INDEX}/10" in kubernetes and "dlcourse grade merge" in kubernetes
    from dlcourse.cli import _parser

    parsed = _parser().parse_args(["grade", "ps1_backprop", "--shard", "9/10", "--workers", "2"])
    assert parsed.shard == (9, 10)
