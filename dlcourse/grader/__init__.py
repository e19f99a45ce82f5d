"""Instructor-side grading: ``dlcourse grade`` and ``dlcourse check`` (the command is :mod:`dlcourse.cli`).

* :mod:`~dlcourse.grader.notebooks`: what the instructor's notebooks grade; the answer cells of a submission.
* :mod:`~dlcourse.grader.session`: one notebook: answer cells in the sandbox, test cells here, against proxies.
* :mod:`~dlcourse.grader.batch`: a class: process pool, shards, merge into the gradebook.
* :mod:`~dlcourse.grader.submissions`: ``submitted/`` folders and LMS zips.
* :mod:`~dlcourse.grader.results`: per-student JSON results (atomic, re-used when unchanged) and the CSV.
* :mod:`~dlcourse.grader.gradebook`: nbgrader's gradebook and ``autograded/`` notebooks.
* :mod:`~dlcourse.grader.integrity`: red flags for review (never a score change).
* :mod:`~dlcourse.grader.student`: the student's per-part table.
* :mod:`~dlcourse.grader.demo`: a practice course with generated submissions (benchmarks, tests).
"""
