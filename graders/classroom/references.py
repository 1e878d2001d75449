"""Reference answers of hidden instances: made by running the solution notebook on the instance, outside
any sandbox and with no reference present, and cached in the course folder, which no kernel sees.

The cache key is (the solution notebook's digest, the instance): a changed solution gets new references.
Instance 0 is the public one, whose reference is the course's committed answers/ (`make answers`).
"""

import hashlib
import os
import tempfile
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from tqdm import tqdm

from graders.classroom.notebook_runs import execute
from graders.core.instances import PUBLIC_INSTANCE
from graders.core.paths import SOLUTIONS_DIR, answers_dir

REFERENCES = "references"


class ReferenceFailure(ValueError):
    """The solution notebook could not make an instance's reference; the message names both."""


def solution_digest(notebook: str) -> str:
    """A short digest of the solution notebook, which an instance's reference depends on."""
    return hashlib.sha256((SOLUTIONS_DIR / f"{notebook}.ipynb").read_bytes()).hexdigest()[:16]


def reference_path(grading: Path, notebook: str, instance: int) -> Path:
    """Where the reference of `notebook` on `instance` is (the public answers for instance 0)."""
    if instance == PUBLIC_INSTANCE:
        return answers_dir() / f"{notebook}.json"
    return grading / REFERENCES / notebook / f"{solution_digest(notebook)}-{instance}.json"


def make_references(
    grading: Path, pairs: Iterable[tuple[str, int]], jobs: int
) -> dict[tuple[str, int], Path]:
    """The reference of every (notebook, instance) pair, running the solution for those not cached yet,
    `jobs` at a time. Raise ReferenceFailure when a solution fails on an instance."""
    paths = {pair: reference_path(grading, *pair) for pair in sorted(set(pairs))}
    missing = [pair for pair, path in paths.items() if not path.is_file()]
    if missing:
        with ProcessPoolExecutor(max_workers=max(1, min(jobs, len(missing)))) as pool:
            futures = {pair: pool.submit(_run_solution, *pair) for pair in missing}
            for pair, future in tqdm(futures.items(), desc="references", unit="instance"):
                _keep(paths[pair], _answers_of(pair, future))
    return paths


def _run_solution(notebook: str, instance: int) -> bytes | None:
    """The answer file the solution writes on `instance` with no reference present (checks stand aside)."""
    with tempfile.TemporaryDirectory(prefix="no-reference-") as empty:
        return execute(SOLUTIONS_DIR / f"{notebook}.ipynb", Path(empty), instance=instance).answer_json


def _answers_of(pair: tuple[str, int], future: Future) -> bytes:
    notebook, instance = pair
    try:
        answers = future.result()
    except Exception as error:
        raise ReferenceFailure(
            f"solutions/{notebook}.ipynb failed on instance {instance}, so its reference cannot be made:"
            f" {type(error).__name__}: {str(error)[-1000:]}"
        ) from None
    if answers is None:
        raise ReferenceFailure(f"solutions/{notebook}.ipynb wrote no answer file on instance {instance}")
    return answers


def _keep(path: Path, answers: bytes) -> None:
    """Write the reference whole or not at all, readable by the grader's user only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(answers)
    os.replace(draft, path)
