"""Problem builders: the numbers of each notebook's tasks for one instance (numpy only, no torch)."""
