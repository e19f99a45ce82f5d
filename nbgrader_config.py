"""nbgrader configuration: this repository is the course directory.

solutions/  instructor sources (nbgrader's "source" step)
exercises/  student release, made by `nbgrader generate_assignment` and committed
submitted/, autograded/, feedback/, gradebook.db: created at grading time, ignored by git
"""

c = get_config()  # noqa: F821 -- provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "dlcourse"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"

# A student loop that never ends must not hang the batch: each cell gets this
# many seconds (the longest solution cell, ps5's training loop, needs ~20 s on
# a 2-core laptop), then the cell fails and grading moves on.
c.Execute.timeout = 180

# A student who deletes a test cell must not escape its points: nbgrader puts
# the missing grade cells back from the gradebook before autograding.
c.OverwriteCells.add_missing_cells = True

# nbgrader zeroes a test cell with any output on stderr.  Warnings (an overflow
# in exp) and progress bars (tqdm) print there, so drop stderr text before
# scoring; real failures are exceptions ("error" outputs) and still score 0.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"[\s\S]*"
