"""Size and shape limits of an answer file, which graders.core.loader refuses to read beyond."""

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ARRAY_ELEMENTS = 2_000_000
MAX_TOTAL_ELEMENTS = 10_000_000
MAX_ARRAY_DIMENSIONS = 8
MAX_NESTING_DEPTH = 32

# Only plain numeric dtypes: "object" and friends make json_tricks allocate or call into numpy by name.
ALLOWED_DTYPES = frozenset(
    {
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
    }
)
