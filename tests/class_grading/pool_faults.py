"""Grade functions for the pool tests: module level, because spawned pool processes import them by name."""

import os

from dlcourse.class_grading.batch import grade_submission


def dies_on_doomed(course, source_dir, assignment, submission, limits, use_bwrap, version, spares=None):
    """Grades normally, except that the process grading a student named ``doomed*`` dies on the spot."""
    if submission.student.startswith("doomed"):
        os._exit(9)
    return grade_submission(course, source_dir, assignment, submission, limits, use_bwrap, version, spares)
