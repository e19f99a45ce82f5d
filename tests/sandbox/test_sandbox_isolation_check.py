"""Grading refuses to fall back silently when bubblewrap is installed but cannot start."""

import shutil

import pytest

from dlcourse.sandbox import SandboxError, isolation, isolation_check


def test_a_bwrap_that_cannot_start_stops_grading_with_advice(tmp_path, monkeypatch):
    broken = tmp_path / "bwrap"
    broken.write_text("#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setattr(isolation.shutil, "which", lambda name: str(broken) if name == "bwrap" else shutil.which(name))
    with pytest.raises(SandboxError, match=r"dlcourse doctor.*--no-bwrap"):
        isolation_check()
    assert isolation_check(use_bwrap=False) == "subprocess"
