"""Instructor-side grading: ``dlcourse grade`` and ``dlcourse check`` (the command is :mod:`dlcourse.cli`).

* :mod:`~dlcourse.class_grading.notebooks`: what the instructor's notebooks grade; the answer cells of a submission.
* :mod:`~dlcourse.class_grading.session`: one notebook: answer cells in the sandbox, test cells here, against proxies.
* :mod:`~dlcourse.class_grading.batch`: a class: process pool, shards, merge into the gradebook.
* :mod:`~dlcourse.class_grading.submissions`: ``submitted/`` folders and LMS zips.
* :mod:`~dlcourse.class_grading.results`: per-student JSON results (atomic, re-used when unchanged) and the CSV.
* :mod:`~dlcourse.class_grading.gradebook`: nbgrader's gradebook and ``autograded/`` notebooks.
* :mod:`~dlcourse.class_grading.integrity`: red flags for review (never a score change).
* :mod:`~dlcourse.class_grading.student`: the student's per-part table.
* :mod:`~dlcourse.class_grading.demo`: a practice course with generated submissions (benchmarks, tests).
"""
