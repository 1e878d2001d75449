"""nbgrader settings shared by every course directory that graders/course.py lays out.

An instructor's own course directory can `load_subconfig` this file or copy it.
"""

c = get_config()  # noqa: F821 -- provided by nbgrader when it loads this file

# Student versions get the stub every notebook's instructions refer to.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.enforce_metadata = True

# Every notebook runs top to bottom in under 20 s here; 120 s per cell leaves room for a slow
# machine while a student's infinite loop still ends.
c.ExecutePreprocessor.timeout = 120
c.ExecutePreprocessor.interrupt_on_timeout = True
# A student who deletes a graded cell gets it back, and scores what the restored cell gives.
c.OverwriteCells.add_missing_cells = True
# Megabytes of printing must not bloat the gradebook or the feedback.
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100
