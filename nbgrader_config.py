"""nbgrader settings shared by every course directory that graders/course.py lays out.

An instructor's own course directory can `load_subconfig` this file or copy it.
"""

c = get_config()  # noqa: F821 -- provided by nbgrader when it loads this file

# Student versions get the stub every notebook's instructions refer to.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.enforce_metadata = True

# nbgrader's default of 30 s per cell is a guess; `python -m graders class` passes each notebook's own
# limit from graders/sandbox.py (CELL_TIMEOUT_SECONDS, measured by `make bench`). This is the fallback
# for a plain `nbgrader autograde`: every solution cell takes seconds, so 120 s leaves room for a slow
# machine while a student's infinite loop still ends, interrupted rather than killing the kernel.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
# A student who deletes a graded cell gets it back, and scores what the restored cell gives.
c.OverwriteCells.add_missing_cells = True
# Megabytes of printing must not bloat the gradebook or the feedback: nbgrader limits lines,
# graders.preprocessors.LimitOutputSize characters (one print can be a single huge line).
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100
c.LimitOutputSize.max_chars = 100_000
# nbgrader scores a test cell that writes anything to stderr 0, so a library's warning would zero a
# correct answer. Our test cells report failure through the points they return, so StderrAsStdout
# shows stderr in graded cells as ordinary output (nbgrader's IgnorePattern would need a regex for
# every library's wording). The rest is nbgrader's own list, in its order.
c.Autograde.autograde_preprocessors = [
    "nbgrader.preprocessors.Execute",
    "graders.preprocessors.StderrAsStdout",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "graders.preprocessors.LimitOutputSize",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
