"""Files of this repository as they were at an earlier git revision, for benchmarks that compare with it."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def extract_revision(revision: str, folder: Path, paths: tuple[str, ...] = ("dlcourse",)) -> Path:
    """``paths`` (``dlcourse/`` by default) as they were at ``revision``, extracted under ``folder``.

    ``folder`` then goes on PYTHONPATH of a subprocess, which imports the old package from it.
    """
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, *paths], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder
