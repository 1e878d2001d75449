"""Size limits of what a class hands in beyond its answer files: folders, notebooks, nbgrader's memory."""

# A submission folder, or the folder a kernel leaves, is copied (graders.classroom.files) up to these caps: an
# honest
# one holds a notebook of a few MB, its answer file and perhaps a plot. Beyond them nothing more is copied
# and the row is flagged: 200,000 small files made nbgrader's feedback take 13 minutes.
FOLDER_MAX_FILES = 1_000
FOLDER_MAX_BYTES = 100 * 2**20
# One file: a notebook with its plots is a few MB; 50 MiB keeps a generous margin.
FOLDER_FILE_MAX_BYTES = 50 * 2**20
# Folder walks are iterative, and nbgrader's own (os.walk, copytree) recurse: deeper folders are left out.
FOLDER_MAX_DEPTH = 32
# A real notebook's JSON is about 10 levels deep; Python's parser and nbformat's validator recurse, so a
# deeper one is refused, unread, before anything parses it.
NOTEBOOK_MAX_DEPTH = 64
# nbgrader autograde holds the notebook and every output the kernel sends (each cell's output is cut to
# LimitOutputSize's budget as it arrives): an honest run maps well under 1 GiB, a flood of output would
# take it past several.
NBGRADER_MEMORY_BYTES = 2 * 2**30
