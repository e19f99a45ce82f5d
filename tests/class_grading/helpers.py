"""What the grader tests share: a fingerprint of a folder's files."""

from __future__ import annotations

import hashlib
from pathlib import Path


def fingerprint(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """sha256 of every file below ``folder``, by relative path, leaving out top-level entries named in ``skip``."""
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(Path(folder).rglob("*"))
            if path.is_file() and path.relative_to(folder).parts[0] not in skip}
