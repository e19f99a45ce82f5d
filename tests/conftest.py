"""Shared by the whole suite: this folder on sys.path, so every test module, in any subfolder, can import
the torch reference helpers kept here (``torch_paths``, ``torch_mlp``).

In CI (``.ci/run`` sets ``DLCOURSE_CI=1`` after installing every component) a skipped test is reported as a
failure: the tests of real components (Chromium, bubblewrap, JupyterHub, Slurm) skip where one is missing on a
developer's machine, and must never pass CI by not running.
"""
import os

import pytest

IN_CI = os.environ.get("DLCOURSE_CI") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI (DLCOURSE_CI=1), where every test must run: {reason}"
