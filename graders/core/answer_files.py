"""Write a notebook's answers in json_tricks' format, converting tensors so nothing is silently lost."""

import sys
from collections.abc import Iterable, Mapping
from numbers import Number
from pathlib import Path
from typing import Any

import json_tricks
import numpy as np

ANSWER_FILE = ".answer.json"


def answer_file(notebook: str) -> str:
    """The answer file a notebook dumps: one per notebook, so running 06 never overwrites 01's answers."""
    return f"{notebook}.answer.json"


def answer_file_names(notebook: str) -> tuple[str, str]:
    """Names a submission's answer file may have, preferred first (older courses collect `.answer.json`)."""
    return answer_file(notebook), ANSWER_FILE


def find_answer_file(folder: Path, notebook: str) -> Path:
    """The answer file to grade in `folder`: the notebook's own if present, else `.answer.json`."""
    own, legacy = (folder / name for name in answer_file_names(notebook))
    return own if own.exists() or own.is_symlink() or not legacy.exists() else legacy


def to_plain(value: Any, where: str = "answer") -> Any:
    """Convert tensors, numpy scalars and nested containers to what json_tricks stores faithfully."""
    if _is_torch_tensor(value):
        return value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bool | Number | str) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(key): to_plain(item, f"{where}[{key!r}]") for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(item, f"{where}[{index}]") for index, item in enumerate(value)]
    raise TypeError(
        f"{where} is a {type(value).__name__}, which cannot be graded; store numbers, arrays or tensors"
    )


def save_answers(answers: Mapping[str, Any], path: str | Path = ANSWER_FILE) -> Path:
    """Write `answers` as json_tricks JSON (readable by plain json_tricks.load) and return the path.

    NaN and infinity are written (as JSON's NaN/Infinity) so a diverged run is graded as diverged on
    the keys it affects instead of losing the whole file.
    """
    plain = {key: to_plain(value, key) for key, value in answers.items()}
    text = json_tricks.dumps(plain, properties={"ndarray_compact": False}, indent=1, allow_nan=True)
    target = Path(path)
    target.write_text(text, encoding="utf-8")
    return target


def collect_answers(namespace: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """Pick the answer variables that exist; a skipped task is simply missing from the file."""
    return {key: namespace[key] for key in keys if key in namespace}


def _is_torch_tensor(value: Any) -> bool:
    # Only a program that already imported torch can hold a tensor; the grading side never imports it.
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)
