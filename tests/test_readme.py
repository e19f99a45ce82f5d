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
