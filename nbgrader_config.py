"""nbgrader settings shared by every course directory that graders/classroom/course.py lays out.

An instructor's own course directory can `load_subconfig` this file or copy it.
"""

from graders.core.specs import DEFAULT_CELL_TIMEOUT_SECONDS

c = get_config()  # noqa: F821 -- provided by nbgrader when it loads this file

# The course every gradebook row belongs to: nbgrader's apps default to "" and create no course row, which
# sqlite lets pass but Postgres refuses (a foreign key); graders' own Gradebook calls use "default_course".
c.CourseDirectory.course_id = "default_course"

# Student versions get the stub every notebook's instructions refer to.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.enforce_metadata = True

# nbgrader's default of 30 s per cell is a guess; `python -m graders class` passes each notebook's own
# limit from its spec module (graders/core/specs, CELL_TIMEOUT_SECONDS, measured by `make bench`). A plain
# `nbgrader autograde` gets the specs' default, so a student's infinite loop ends, interrupted rather than
# killing the kernel.
c.Execute.timeout = DEFAULT_CELL_TIMEOUT_SECONDS
c.Execute.interrupt_on_timeout = True
# A student who deletes a graded cell gets it back, and scores what the restored cell gives.
c.OverwriteCells.add_missing_cells = True
# Megabytes of printing must not bloat the gradebook or the feedback: nbgrader limits lines,
# graders.classroom.preprocessors.LimitOutputSize characters (one print can be a single huge line; its
# max_chars trait holds the course's cap, set c.LimitOutputSize.max_chars here only to change it).
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100
# The student's kernel never scores itself: after Execute has shut it down, ScoreOutsideKernel grades
# the answer file it left (safe loader, specs, reference answers the kernel never saw) and writes each
# graded cell's points into that cell. ExecuteRecordingFailure is nbgrader's Execute that also records
# the error that stopped a notebook, so the report says why from the error, not from log wording.
# The rest is nbgrader's own list, in its order.
c.Autograde.autograde_preprocessors = [
    "graders.classroom.preprocessors.ExecuteRecordingFailure",
    "graders.classroom.preprocessors.ScoreOutsideKernel",
    # A kernel may nest folders deeper than nbgrader's own walks can recurse: those go, named on the row.
    "graders.classroom.preprocessors.PruneKernelFolder",
    # formgrader and generate_feedback render this notebook on the server's origin: only inert outputs.
    "graders.classroom.inert_outputs.InertOutputs",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "graders.classroom.preprocessors.LimitOutputSize",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# A cell claiming a grade id the assignment lacks (altered, or an extra grade cell) would fail the whole
# notebook: ForgetUnknownCells makes it an ordinary cell, so the real cells are restored and graded.
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "graders.classroom.preprocessors.ForgetUnknownCells",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# `python -m graders class` (graders.classroom.settings.ClassGrader; `--help` shows each default): its
# traits' defaults hold unless a course sets them here, e.g. `c.ClassGrader.jobs = 8` on a bigger machine,
# which `python -m graders.publishing.build` also uses for the notebooks it runs at once; the command-line
# flag of the same name overrides it for one run.
