"""Load an untrusted answer file: plain JSON plus numeric ndarrays in json_tricks' format, nothing else.

json_tricks' own `load` imports modules, calls numpy functions named by the file and inflates
compressed payloads, so it never sees a student's file. This module parses with the standard
library and rebuilds arrays itself, refusing anything outside a small allow-list.
"""

import base64
import binascii
import json
import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from graders.core import answer_limits

TORCH_TENSOR_MESSAGE = (
    "you stored a torch tensor; use .detach().numpy() (graders.save_answers does this for you)"
)
NDARRAY_FIELDS = frozenset({"__ndarray__", "dtype", "shape", "Corder", "endian"})
ENDIANNESS = {"little": "<", "big": ">", "native": "="}


class AnswerFileError(ValueError):
    """The file as a whole cannot be read; the message names the problem."""


@dataclass(frozen=True)
class Rejected:
    """A value the loader refused; grading reports `reason` for its key instead of crashing."""

    reason: str


class _RejectValue(Exception):
    """Raised inside the decoder for one value; caught per top-level key."""


def load_answers(path: str | Path) -> dict[str, Any]:
    """Read and decode an answer file; refused values come back as `Rejected`."""
    return loads_answers(_read_capped(Path(path)))


def loads_answers(raw: bytes | str) -> dict[str, Any]:
    """Decode answer-file bytes; raise AnswerFileError when the file as a whole is unusable."""
    document = _parse_json(_decode_text(raw))
    if not isinstance(document, dict):
        raise AnswerFileError(f"the file must hold a JSON object of answers, not a {_json_type(document)}")
    budget = _ElementBudget()
    return {key: _decode_top_level(key, value, budget) for key, value in document.items()}


def _read_capped(path: Path) -> bytes:
    # The file is untrusted: a symlink could point at the reference answers, a FIFO would block.
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise AnswerFileError(f"no answer file at {path}: did the cell that saves answers run?") from None
    except OSError as error:
        raise AnswerFileError(f"{path} cannot be opened as a regular file ({error.strerror})") from None
    with os.fdopen(descriptor, "rb") as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            raise AnswerFileError(f"{path} is not a regular file")
        raw = stream.read(answer_limits.MAX_FILE_BYTES + 1)
    if len(raw) > answer_limits.MAX_FILE_BYTES:
        raise AnswerFileError(f"the file is larger than {answer_limits.MAX_FILE_BYTES // 2**20} MiB")
    return raw


def _decode_text(raw: bytes | str) -> str:
    if isinstance(raw, str):
        text = raw
    else:
        if len(raw) > answer_limits.MAX_FILE_BYTES:
            raise AnswerFileError(f"the file is larger than {answer_limits.MAX_FILE_BYTES // 2**20} MiB")
        if raw.startswith(b"\x1f\x8b"):
            raise AnswerFileError("the file is gzip-compressed; only plain JSON answer files are accepted")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise AnswerFileError(f"the file is not UTF-8 text (bad byte at offset {error.start})") from None
    if not text.strip():
        raise AnswerFileError("the file is empty: did the cell that saves answers run to the end?")
    return text


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_object_without_duplicates)
    except AnswerFileError:
        raise
    except json.JSONDecodeError as error:
        hint = " (the file looks truncated)" if error.pos >= len(text.rstrip()) else ""
        raise AnswerFileError(
            f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}{hint}"
        ) from None
    except RecursionError:
        raise AnswerFileError(
            f"the JSON is nested deeper than {answer_limits.MAX_NESTING_DEPTH} levels"
        ) from None
    except ValueError as error:  # e.g. an integer literal with thousands of digits
        raise AnswerFileError(f"not valid JSON: {error}") from None


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise AnswerFileError(f"key {_show(key)} appears twice in one object")
        result[key] = value
    return result


class _ElementBudget:
    """Caps the array elements of a whole file, so many small arrays cannot add up to a huge one."""

    def __init__(self) -> None:
        self.remaining = answer_limits.MAX_TOTAL_ELEMENTS

    def take(self, count: int, where: str) -> None:
        if count > self.remaining:
            raise _RejectValue(
                f"{where}: the file holds more than {answer_limits.MAX_TOTAL_ELEMENTS:,} array elements"
            )
        self.remaining -= count


def _decode_top_level(key: str, value: Any, budget: _ElementBudget) -> Any:
    try:
        return _decode_value(value, _show(key), 1, budget)
    except _RejectValue as rejection:
        return Rejected(str(rejection))


def _decode_value(value: Any, where: str, depth: int, budget: _ElementBudget) -> Any:
    if depth > answer_limits.MAX_NESTING_DEPTH:
        raise _RejectValue(f"{where}: nested deeper than {answer_limits.MAX_NESTING_DEPTH} levels")
    if isinstance(value, list):
        return [
            _decode_value(item, f"{where}[{index}]", depth + 1, budget) for index, item in enumerate(value)
        ]
    if isinstance(value, dict):
        markers = [name for name in value if name.startswith("__") and name.endswith("__")]
        if "__ndarray__" in markers:
            return _decode_ndarray(value, where, budget)
        if markers:
            raise _RejectValue(_describe_marker(value, markers[0], where))
        return {
            name: _decode_value(item, f"{where}.{name}", depth + 1, budget) for name, item in value.items()
        }
    return value


def _describe_marker(value: dict[str, Any], marker: str, where: str) -> str:
    if marker == "__instance_type__":
        instance_type = value[marker]
        module = instance_type[0] if isinstance(instance_type, list) and instance_type else ""
        if isinstance(module, str) and module.split(".")[0] == "torch":
            return f"{where}: {TORCH_TENSOR_MESSAGE}"
        stored = _show(instance_type)
        return f"{where}: a stored Python object ({stored}) is not accepted; store numbers or arrays"
    return (
        f"{where}: json_tricks entry {_show(marker)} is not accepted; store numbers, lists or numeric arrays"
    )


def _decode_ndarray(value: dict[str, Any], where: str, budget: _ElementBudget) -> np.ndarray:
    unknown = sorted(set(value) - NDARRAY_FIELDS)
    if unknown:
        raise _RejectValue(f"{where}: unexpected field {_show(unknown[0])} in a stored array")
    dtype = _allowed_dtype(value.get("dtype"), where)
    shape = _checked_shape(value.get("shape"), where)
    size = math.prod(shape)
    budget.take(size, where)
    data = value["__ndarray__"]
    if isinstance(data, str):
        return _array_from_base64(data, dtype, shape, value.get("endian", "native"), where)
    _require_numeric_nesting(data, len(shape), where)
    try:
        array = np.asarray(data, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as error:
        raise _RejectValue(f"{where}: array data does not fit dtype {dtype}: {error}") from None
    if array.shape != shape:
        raise _RejectValue(
            f"{where}: array declares shape {list(shape)} but its data has shape {list(array.shape)}"
        )
    return array


def _allowed_dtype(dtype: Any, where: str) -> np.dtype:
    if not isinstance(dtype, str) or dtype not in answer_limits.ALLOWED_DTYPES:
        raise _RejectValue(
            f"{where}: array dtype {_show(dtype)} is not allowed; only plain numeric dtypes are"
        )
    return np.dtype(dtype)


def _checked_shape(shape: Any, where: str) -> tuple[int, ...]:
    valid = isinstance(shape, list) and all(
        isinstance(size, int) and not isinstance(size, bool) and size >= 0 for size in shape
    )
    if not valid:
        raise _RejectValue(f"{where}: array shape {_show(shape)} is not a list of non-negative integers")
    if len(shape) > answer_limits.MAX_ARRAY_DIMENSIONS:
        raise _RejectValue(
            f"{where}: array has {len(shape)} dimensions, more than {answer_limits.MAX_ARRAY_DIMENSIONS}"
        )
    if math.prod(shape) > answer_limits.MAX_ARRAY_ELEMENTS:
        raise _RejectValue(
            f"{where}: array shape {shape} exceeds {answer_limits.MAX_ARRAY_ELEMENTS:,} elements"
        )
    return tuple(shape)


def _require_numeric_nesting(data: Any, dimensions: int, where: str) -> None:
    """Accept only lists nested exactly `dimensions` deep with numbers at the leaves."""
    if dimensions == 0:
        if not isinstance(data, int | float | bool):
            raise _RejectValue(f"{where}: array element {_show(data)} is not a number")
        return
    if not isinstance(data, list):
        raise _RejectValue(f"{where}: array data is not nested {dimensions} lists deep")
    for item in data:
        _require_numeric_nesting(item, dimensions - 1, where)


def _array_from_base64(
    data: str, dtype: np.dtype, shape: tuple[int, ...], endian: Any, where: str
) -> np.ndarray:
    if data.startswith("b64.gz:"):
        raise _RejectValue(f"{where}: compressed arrays (b64.gz) are not accepted")
    if not data.startswith("b64:"):
        raise _RejectValue(f"{where}: array data string must start with 'b64:'")
    if endian not in ENDIANNESS:
        raise _RejectValue(f"{where}: unknown endianness {_show(endian)}")
    expected_bytes = math.prod(shape) * dtype.itemsize
    if len(data) - 4 > 4 * math.ceil(expected_bytes / 3) + 4:
        raise _RejectValue(f"{where}: array data is longer than its shape {list(shape)} allows")
    try:
        payload = base64.b64decode(data[4:], validate=True)
    except binascii.Error:
        raise _RejectValue(f"{where}: array data is not valid base64") from None
    if len(payload) != expected_bytes:
        raise _RejectValue(
            f"{where}: array data has {len(payload)} bytes, shape {list(shape)} needs {expected_bytes}"
        )
    typed = dtype.newbyteorder(ENDIANNESS[endian])
    return np.frombuffer(payload, dtype=typed).astype(dtype).reshape(shape)


def _json_type(value: Any) -> str:
    return {list: "list", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


def _show(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."
