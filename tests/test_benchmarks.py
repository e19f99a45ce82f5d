"""The benchmark script stays runnable: every workload builds and runs once (nothing is timed here)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_reference.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_reference", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "workload",
    ["mlp_epoch_workloads", "adam_workloads:float32", "batchnorm_workloads:float64"],
)
def test_workload_runs(bench, workload):
    name, _, dtype = workload.partition(":")
    build = getattr(bench, name)
    numpy_fn, torch_fn = build(getattr(np, dtype)) if dtype else build()
    numpy_fn()
    torch_fn()


def test_grading_benchmark_runs():
    import subprocess
    import sys

    script = SCRIPT.parent / "bench_grading.py"
    result = subprocess.run(
        [sys.executable, str(script), "--prefix", "activations.relu_grad", "--repeats", "1"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "activations.relu_grad" in result.stdout and "1 targets: visible checks take" in result.stdout


def test_feedback_figure_benchmark_runs():
    import subprocess
    import sys

    script = SCRIPT.parent / "bench_feedback_figure.py"
    result = subprocess.run([sys.executable, str(script), "--runs", "1"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "matplotlib import" in result.stdout and "optim.adam" in result.stdout and "init.he_normal" in result.stdout


def test_feedback_benchmark_runs():
    import subprocess
    import sys

    script = SCRIPT.parent / "bench_feedback.py"
    result = subprocess.run([sys.executable, str(script), "--list"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "named share" in result.stdout and "\ntotal " in result.stdout
    assert "FALSE REJECTION" not in result.stdout and "NAMED WRONGLY" not in result.stdout
