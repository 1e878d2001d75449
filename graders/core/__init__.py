"""The kernel-safe core: load an answer file safely, compare it with kinds and tolerances, score it,
the notebooks' specs and problems, and the student API. It imports nothing from classroom or publishing."""
