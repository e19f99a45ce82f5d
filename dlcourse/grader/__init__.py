"""Grading a class: integrity reports (and, with issue 6, sandboxed batch grading)."""
