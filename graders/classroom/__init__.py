"""The classroom: everything that drives nbgrader to grade a class (course layout, collection, the sandbox,
autograde, gradebook, preprocessors and plugins, audit, reports, scale-out)."""
