"""In CI every skip is a failure: a test of a real component cannot pass CI by not running."""
import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _run(tmp_path, ci: bool) -> subprocess.CompletedProcess:
    (tmp_path / "conftest.py").write_text((TESTS / "conftest.py").read_text())
    (tmp_path / "test_component.py").write_text(
        "import pytest\n\n"
        "def test_runs():\n    pass\n\n"
        "@pytest.mark.skipif(True, reason='slurmctld is not installed')\n"
        "def test_needs_slurm():\n    pass\n\n"
        "def test_needs_hub():\n    pytest.skip('configurable-http-proxy is not installed')\n")
    env = {key: value for key, value in os.environ.items() if key != "DLCOURSE_CI"}
    if ci:
        env["DLCOURSE_CI"] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                           str(tmp_path)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)


def test_a_skip_is_a_skip_outside_ci(tmp_path):
    run = _run(tmp_path, ci=False)
    assert run.returncode == 0, run.stdout
    assert "1 passed, 2 skipped" in run.stdout


def test_a_skip_fails_in_ci_with_its_reason(tmp_path):
    run = _run(tmp_path, ci=True)
    assert run.returncode == 1, run.stdout
    # a skip in setup (skipif) is an error, a skip in the test's body a failure: neither is a pass nor a skip
    assert "1 failed, 1 passed, 1 error" in run.stdout and "skipped" not in run.stdout.splitlines()[-1]
    assert "slurmctld is not installed" in run.stdout and "configurable-http-proxy is not installed" in run.stdout
