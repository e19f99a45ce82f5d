"""Grading a class: ``dlcourse grade`` and ``dlcourse check`` (the command is :mod:`dlcourse.cli`).

The top layer: it uses the checks (:mod:`dlcourse.grading`) and the sandbox (:mod:`dlcourse.sandbox`), and
neither of them imports it.

* :mod:`~dlcourse.class_grading.notebooks`: what the instructor's notebooks grade; the answer cells of a submission.
* :mod:`~dlcourse.class_grading.environment`: limits, the setup names the worker receives, torch or not.
* :mod:`~dlcourse.class_grading.workers`: where the answer cells run; the pool of sandboxes started ahead.
* :mod:`~dlcourse.class_grading.proxy`: the student's functions in the worker, callable by the checks.
* :mod:`~dlcourse.class_grading.session`: one notebook, as a pipeline of stages, to a ``NotebookResult``.
* :mod:`~dlcourse.class_grading.batch`: a class: process pool, shards, merge into the gradebook.
* :mod:`~dlcourse.class_grading.submissions`: ``submitted/`` folders and LMS zips.
* :mod:`~dlcourse.class_grading.results`: per-student JSON results (atomic, re-used when unchanged) and the CSV.
* :mod:`~dlcourse.class_grading.changes`: what a regrade changed (scores, parts, mistake ids): ``changes.json``.
* :mod:`~dlcourse.class_grading.gradebook`: nbgrader's gradebook and ``autograded/`` notebooks.
* :mod:`~dlcourse.class_grading.integrity`: red flags for review (never a score change).
* :mod:`~dlcourse.class_grading.student`: the student's per-part table.
* :mod:`~dlcourse.class_grading.demo`: a practice course with generated submissions (benchmarks, tests).
"""
