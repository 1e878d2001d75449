"""Regenerate what derives from solutions/, or check that the committed copies are fresh.

python -m graders.publishing.build student    # notebooks/ via nbgrader generate_assignment
python -m graders.publishing.build answers    # answers/ by executing each solution in a fresh kernel
python -m graders.publishing.build executed   # build/executed/: solutions run with their outputs (for the
site)
python -m graders.publishing.build check      # exit 1 when notebooks/ or answers/ are stale

An answer file regenerates byte for byte on one machine. Another CPU may round differently (torch picks
AVX2 or AVX-512 kernels at run time), so a fresh file that differs only within the grading tolerances,
with the same keys, still counts as fresh: graded against the committed file, it earns full points.
"""

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

from graders.classroom.course import make_course_dir, solution_notebooks
from graders.classroom.gradebook import run_nbgrader
from graders.classroom.notebook_runs import Execution, run_many
from graders.classroom.settings import load_settings
from graders.core.answer_files import answer_file
from graders.core.grading import grade_answers
from graders.core.loader import loads_answers
from graders.core.paths import NOTEBOOKS_DIR, REPO_ROOT, answers_dir
from graders.core.specs import specs_for

EXECUTED_DIR = REPO_ROOT / "build" / "executed"


def generate_student(notebooks: list[Path], out_dir: Path) -> list[Path]:
    """Student versions through nbgrader generate_assignment, written to out_dir/NN_topic.ipynb.

    A notebook there that holds a student's work is kept, and a note says how to keep or discard it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix="course-") as root:
        course = make_course_dir(Path(root), notebooks)
        for notebook in notebooks:
            target = out_dir / notebook.name
            work = student_work(target)
            if work:
                print(
                    f"kept {target}, not regenerated: it holds {work}. To keep that work, move the file "
                    f"elsewhere; to discard it, `git checkout {target}`; then run this again."
                )
                continue
            arguments = ["generate_assignment", notebook.stem, "--no-db", "--force"]
            run_nbgrader(arguments, course, course / "logs" / f"generate_assignment-{notebook.stem}.log")
            shutil.copyfile(course / "release" / notebook.stem / notebook.name, target)
            written.append(target)
    return written


# What nbgrader leaves in a task cell of a student version (nbgrader_config.py's code stub, and its
# markdown one): a generated notebook has one in every task cell and no outputs.
UNTOUCHED_TASK_MARKERS = ("raise NotImplementedError()", "YOUR ANSWER HERE")


def student_work(notebook: Path) -> str:
    """What in an existing student notebook shows someone worked in it ('' for a generated one)."""
    if not notebook.exists():
        return ""
    try:
        cells = nbformat.read(notebook, as_version=4).cells
    except Exception:  # not a notebook we made: never overwrite what we cannot read
        return "content that is not a generated notebook"
    for cell in cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "a cell")
        if cell.get("outputs") or cell.get("execution_count"):
            return f"outputs of a run (cell {grade_id})"
        is_task = cell.get("metadata", {}).get("nbgrader", {}).get("solution")
        if is_task and not any(marker in cell.source for marker in UNTOUCHED_TASK_MARKERS):
            return f"a filled-in task (cell {grade_id})"
    return ""


def generate_answers(notebooks: list[Path], out_dir: Path, jobs: int) -> list[Path]:
    """Execute each solution with no reference present (self-checks stand aside) and keep its answer file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="no-reference-") as empty:
        runs = _run_all(notebooks, Path(empty), jobs)
    written = []
    for notebook, run in zip(notebooks, runs, strict=True):
        if run.answer_json is None:
            raise RuntimeError(f"{notebook.name} did not write {answer_file(notebook.stem)}")
        target = out_dir / f"{notebook.stem}.json"
        target.write_bytes(run.answer_json)
        written.append(target)
    return written


def generate_executed(notebooks: list[Path], out_dir: Path, jobs: int) -> list[Path]:
    """Execute each solution against the committed answers and save it with its outputs."""
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = _run_all(notebooks, answers_dir(), jobs)
    for notebook, run in zip(notebooks, runs, strict=True):
        nbformat.write(run.notebook, out_dir / notebook.name)
    return [out_dir / notebook.name for notebook in notebooks]


def stale_student_notebooks(notebooks: list[Path]) -> list[str]:
    """Problems: student notebooks that differ from what nbgrader makes of the solutions now."""
    with tempfile.TemporaryDirectory(prefix="student-") as fresh:
        generate_student(notebooks, Path(fresh))
        return [
            f"notebooks/{notebook.name} is stale: run `make student`"
            for notebook in notebooks
            if not _same_bytes(Path(fresh) / notebook.name, NOTEBOOKS_DIR / notebook.name)
        ]


def stale_answers(runs: dict[str, Execution | Exception]) -> list[str]:
    """Problems: solutions that fail, and answer files that differ from what the solutions dump now."""
    problems = []
    for name, run in runs.items():
        committed = answers_dir() / f"{name}.json"
        if isinstance(run, Exception):
            problems.append(f"solutions/{name}.ipynb fails against answers/{name}.json: {run}")
        elif run.answer_json is None:
            problems.append(f"solutions/{name}.ipynb wrote no {answer_file(name)}")
        elif not committed.exists() or not _same_answers(name, committed.read_bytes(), run.answer_json):
            problems.append(f"answers/{name}.json is stale: run `make answers`")
    return problems


def _same_answers(name: str, committed: bytes, fresh: bytes) -> bool:
    """Byte-identical, or the same keys with every value graded full points against the committed file."""
    if committed == fresh:
        return True
    answers, reference = loads_answers(fresh), loads_answers(committed)
    if answers.keys() != reference.keys():
        return False
    results = grade_answers(specs_for(name), reference, answers)
    return all(result.earned == result.points for result in results)


def _run_all(notebooks: list[Path], reference_dir: Path, jobs: int) -> list[Execution]:
    runs = run_many(notebooks, reference_dir, jobs)
    failures = {name: run for name, run in runs.items() if isinstance(run, Exception)}
    if failures:
        raise RuntimeError("\n\n".join(f"{name} failed: {error}" for name, error in failures.items()))
    return list(runs.values())


def _same_bytes(first: Path, second: Path) -> bool:
    return first.exists() and second.exists() and first.read_bytes() == second.read_bytes()


def _selected(names: list[str]) -> list[Path]:
    notebooks = solution_notebooks()
    if not names:
        return notebooks
    chosen = [n for n in notebooks if n.stem in names]
    unknown = set(names) - {n.stem for n in chosen}
    if unknown:
        raise SystemExit(f"no solution notebook named {', '.join(sorted(unknown))}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m graders.publishing.build", description=__doc__.splitlines()[0]
    )
    parser.add_argument("target", choices=["student", "answers", "executed", "check"])
    parser.add_argument("notebooks", nargs="*", help="notebook names like 00_autograd (default: all)")
    parser.add_argument(
        "--jobs", type=int, help="notebooks run at once (default: nbgrader_config.py's c.ClassGrader.jobs)"
    )
    args = parser.parse_args(argv)
    jobs = load_settings().jobs if args.jobs is None else args.jobs
    notebooks = _selected(args.notebooks)
    if args.target == "student":
        written = generate_student(notebooks, NOTEBOOKS_DIR)
    elif args.target == "answers":
        written = generate_answers(notebooks, answers_dir(), jobs)
    elif args.target == "executed":
        written = generate_executed(notebooks, EXECUTED_DIR, jobs)
    else:
        problems = stale_student_notebooks(notebooks) + stale_answers(
            run_many(notebooks, answers_dir(), jobs)
        )
        print("\n".join(problems) or f"notebooks/ and answers/ are up to date ({len(notebooks)} notebooks)")
        return 1 if problems else 0
    for path in written:
        print(f"wrote {path.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
