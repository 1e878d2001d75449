"""`make bench`: measure grading on this machine and write bench/results.md (a measurement, not a test).

Every solution notebook is executed bare with nbclient (time, slowest cell, peak memory of its kernel),
then autograded by nbgrader as a correct submission through graders.classroom.grade_class, then its answer
file
goes through the fast path; the references of K hidden instances of every notebook are made (cold, then
cached); a class is graded with JOBS=1 and JOBS=2 on the public instance, and with JOBS=2 on hidden
instances; 1,000 generated answer files go through the fast path. All ratios come from this one run.
With --distributed-only, only the class graded through Dask (1 and 2 local workers) is measured and its
section of bench/results.md rewritten.
"""

import datetime
import os
import platform
import random
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from distributed import LocalCluster

from graders.classroom.autograde import Outcome, autograde
from graders.classroom.course import SCRATCH_STUDENT, Course, Task, prepare_course, solution_notebooks
from graders.classroom.demo_class import write_solved_class
from graders.classroom.grade_class import grade_class
from graders.classroom.gradebook import sqlite_url
from graders.classroom.hidden_instances import DEFAULT_POOL
from graders.classroom.references import make_references
from graders.classroom.sandbox import Limits
from graders.core.paths import REPO_ROOT, answers_dir
from graders.core.scoring import grade_answer_file, grade_folder
from graders.core.specs import cell_timeout_for
from graders.publishing.build import execute

RESULTS = REPO_ROOT / "bench" / "results.md"
WORK = REPO_ROOT / "bench" / "tmp"
FAST_PATH_REPEATS = 50
GENERATED_FILES = 1000
CLASS_SIZE = 8
# The notebook the whole-class measurements grade.
CLASS_NOTEBOOK = "00_autograd"
# The class the issue asks about, and the machines it would be graded on (one Dask worker per core).
TARGET_STUDENTS, TARGET_NOTEBOOKS, CORES_PER_MACHINE, MACHINES = 1000, 7, 16, 4
DISTRIBUTED_HEADING = "## Through Dask distributed"
PEAK_MEMORY_CELL = "print('VmHWM', open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"


@dataclass(frozen=True)
class NotebookTimes:
    """One notebook's measurements."""

    name: str
    nbclient_seconds: float
    slowest_cell_seconds: float
    peak_rss_mib: float
    autograde_seconds: float
    fast_path_ms: float


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def bare_execution(notebook: Path, scratch: Path) -> tuple[float, float, float]:
    """nbclient alone: seconds, slowest cell in seconds, and the kernel's peak resident memory in MiB."""
    node = nbformat.read(notebook, as_version=4)
    node.cells.append(nbformat.v4.new_code_cell(PEAK_MEMORY_CELL))
    measured = scratch / notebook.name
    nbformat.write(node, measured)
    start = time.perf_counter()
    run = execute(measured, answers_dir())
    seconds = time.perf_counter() - start
    printed = "".join(output.get("text", "") for output in run.notebook.cells[-1].outputs)
    peak_kib = float(re.search(r"VmHWM (\d+)", printed).group(1))
    return (
        seconds,
        max(cell_seconds(cell) for cell in run.notebook.cells if cell.cell_type == "code"),
        peak_kib / 1024,
    )


def cell_seconds(cell: nbformat.NotebookNode) -> float:
    timing = cell.metadata.get("execution", {})
    if "iopub.execute_input" not in timing or "shell.execute_reply" not in timing:
        return 0.0
    started = datetime.datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
    ended = datetime.datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
    return (ended - started).total_seconds()


def nbgrader_autograde(names: list[str], scratch: Path) -> dict[str, float]:
    """Seconds of `nbgrader autograde` (in its scratch course, sandbox kernel) for a correct submission."""
    submissions = write_solved_class(scratch / "submissions", ["bench"], names[0])
    for name in names[1:]:
        write_solved_class(submissions, ["bench"], name)
    course = Course(scratch / "course", sqlite_url(scratch / "course" / "gradebook.db"))
    limits = Limits()
    prepare_course(course, names, limits)
    seconds = {}
    outcomes: list[Outcome] = []
    for name in names:
        task = Task(name, "bench")
        shutil.copytree(submissions / "bench" / name, course.submitted(task))
        seconds[name] = timed(lambda task=task: outcomes.append(autograde(course, Outcome(task, ""), limits)))
        graded = outcomes[-1].scratch / "autograded" / SCRATCH_STUDENT / name
        assert graded.is_dir(), f"{name} was not graded"
    return seconds


def fast_path_ms(name: str) -> float:
    reference = answers_dir() / f"{name}.json"
    return (
        1000
        * timed(lambda: [grade_answer_file(name, reference) for _ in range(FAST_PATH_REPEATS)])
        / FAST_PATH_REPEATS
    )


def reference_seconds(names: list[str], pool: int, jobs: int, scratch: Path) -> tuple[float, float]:
    """Seconds to make the references of instances 1..pool of every notebook (each solution run once per
    instance, `jobs` at a time), and seconds to find them all cached on a second call."""
    pairs = [(name, instance) for name in names for instance in range(1, pool + 1)]
    return timed(lambda: make_references(scratch, pairs, jobs)), timed(
        lambda: make_references(scratch, pairs, jobs)
    )


def with_references(course: Path, pool: int) -> None:
    """Make notebook 00's references for every instance of the pool, so a measured run makes none."""
    make_references(course / "grading", [("00_autograd", k) for k in range(1, pool + 1)], jobs=2)


def class_seconds(jobs: int, scratch: Path, instances: int = 0) -> float:
    """Wall time to grade CLASS_SIZE correct notebook-00 submissions once the course is laid out, on the
    public instance or on hidden ones (their references made beforehand)."""
    course, submissions = scratch / f"course{jobs}-{instances}", scratch / f"submissions{jobs}-{instances}"
    grade_class(write_solved_class(submissions, ["warmup"], CLASS_NOTEBOOK), course, instances=instances)
    with_references(course, instances)
    write_solved_class(submissions, [f"student{index:02d}" for index in range(CLASS_SIZE)], CLASS_NOTEBOOK)
    start = time.perf_counter()
    report = grade_class(submissions, course, jobs=jobs, instances=instances)
    seconds = time.perf_counter() - start
    assert report.graded_now == CLASS_SIZE, f"graded {report.graded_now} of {CLASS_SIZE}"
    return seconds


def dask_seconds(workers: int, scratch: Path) -> tuple[float, float]:
    """Seconds per notebook for CLASS_SIZE notebook-00 submissions on `workers` local Dask workers, and
    per notebook for the rerun that grades nothing (collect, feedback, audit: the process's serial part)."""
    course, submissions = scratch / f"dask{workers}", scratch / f"dask-submissions{workers}"
    warmup = [f"warmup{index}" for index in range(workers)]
    with LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        # Lays out the course and has every worker import nbgrader once, outside the measurement.
        grade_class(
            write_solved_class(submissions, warmup, CLASS_NOTEBOOK),
            course,
            scheduler=cluster.scheduler_address,
        )
        with_references(course, DEFAULT_POOL)
        write_solved_class(
            submissions, [f"student{index:02d}" for index in range(CLASS_SIZE)], CLASS_NOTEBOOK
        )
        start = time.perf_counter()
        report = grade_class(submissions, course, scheduler=cluster.scheduler_address)
        seconds = time.perf_counter() - start
        rerun = timed(lambda: grade_class(submissions, course, scheduler=cluster.scheduler_address))
    assert report.graded_now == CLASS_SIZE, f"graded {report.graded_now} of {CLASS_SIZE}"
    return seconds / CLASS_SIZE, rerun / (CLASS_SIZE + workers)


def render_distributed(one: float, two: float, serial: float, where: str) -> str:
    """The Dask section: measured seconds per notebook, and a whole class extrapolated from them."""
    notebooks = TARGET_STUDENTS * TARGET_NOTEBOOKS
    per_worker = 2 * two  # a worker's seconds per notebook while two grade at once
    cores = {"16 cores": CORES_PER_MACHINE, f"{MACHINES} machines of 16 cores": MACHINES * CORES_PER_MACHINE}
    estimates = [
        f"  - on {where}: about {(notebooks * per_worker / count + notebooks * serial) / 3600:.1f} h"
        for where, count in cores.items()
    ]
    return "\n".join(
        [
            DISTRIBUTED_HEADING,
            "",
            "Measured by `make bench` (or `bench/run.py --distributed-only`) on"
            f" {datetime.datetime.now():%Y-%m-%d %H:%M}: {where}.",
            f"A class of {CLASS_SIZE} notebook-00 submissions graded by `python -m graders class --scheduler`"
            " on a local Dask cluster (course laid out and workers started beforehand):",
            "",
            f"- 1 worker: {one:.1f} s per notebook; 2 workers: {two:.1f} s per notebook"
            f" ({one / two:.2f}× faster).",
            "- The grading process's own part once all is graded (collect, feedback, audit, CSV):"
            f" {serial:.2f} s per notebook.",
            f"- Estimate for {TARGET_STUDENTS:,} students × {TARGET_NOTEBOOKS} notebooks"
            f" ({notebooks:,} notebooks) at {per_worker:.1f} s per notebook per worker, one worker per core,"
            " plus that serial part:",
            *estimates,
            "",
            "An extrapolation from the times above, not a measurement: it assumes grading scales with cores"
            " (each kernel within its memory limit), notebook 00's time for every notebook (the others take"
            " 1.4-2× longer, see the table above), and a recording process that keeps up with the workers.",
            "",
        ]
    )


def write_distributed(section: str) -> None:
    """Replace (or append) the Dask section of bench/results.md, keeping the rest."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.is_file() else ""
    kept = text.split(DISTRIBUTED_HEADING)[0].rstrip("\n")
    RESULTS.write_text(f"{kept}\n\n{section}" if kept else section, encoding="utf-8")


def generated_answers(folder: Path, count: int) -> Path:
    """`count` answer files for notebook 00: the reference, some values nudged off it."""
    text = (answers_dir() / "00_autograd.json").read_text(encoding="utf-8")
    generator = random.Random(0)
    for index in range(count):
        target = folder / f"student{index:04d}" / "00_autograd" / "00_autograd.answer.json"
        target.parent.mkdir(parents=True)
        nudged = text.replace("20.0", "21.0") if generator.random() < 0.3 else text
        target.write_text(nudged, encoding="utf-8")
    return folder


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, load average at start {load}"


@dataclass(frozen=True)
class InstanceTimes:
    """What hidden instances cost: making references (cold and cached) and grading a class on them."""

    pool: int
    notebooks: int
    references_seconds: float
    cached_seconds: float
    hidden_class_seconds: float


def render(
    times: list[NotebookTimes],
    serial: float,
    parallel: float,
    thousand: float,
    started: str,
    instances: InstanceTimes,
) -> str:
    rows = [
        f"| {t.name} | {t.nbclient_seconds:.1f} | {t.autograde_seconds:.1f} "
        f"| {t.autograde_seconds / t.nbclient_seconds:.1f}× | {t.fast_path_ms:.1f} "
        f"| {t.slowest_cell_seconds:.2f} | {cell_timeout_for(t.name)} | {t.peak_rss_mib:.0f} |"
        for t in times
    ]
    per_autograde = sum(t.autograde_seconds for t in times) / len(times)
    per_fast = sum(t.fast_path_ms for t in times) / len(times) / 1000
    return "\n".join(
        [
            "# Grading benchmark",
            "",
            f"Measured by `make bench` on {started}: {machine()}.",
            "Numbers from one run; the machine may have been shared, so compare ratios within the table.",
            "",
            "| notebook | nbclient s | nbgrader autograde s | autograde / nbclient | fast path ms/file "
            "| slowest cell s | cell timeout s | peak kernel RSS MiB |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            *rows,
            "",
            f"- Fast path vs nbgrader: {per_autograde / per_fast:,.0f}× faster per notebook on average "
            f"({per_fast * 1000:.1f} ms vs {per_autograde:.1f} s).",
            f"- {GENERATED_FILES:,} generated answer files (notebook 00) through the fast path: "
            f"{thousand:.1f} s ({1000 * thousand / GENERATED_FILES:.1f} ms per file).",
            f"- A class of {CLASS_SIZE} notebook-00 submissions, course already laid out: "
            f"JOBS=1 {serial:.1f} s, JOBS=2 {parallel:.1f} s: {serial / parallel:.2f}× faster with 2.",
            f"- References of {instances.pool} hidden instances for all {instances.notebooks} notebooks"
            f" ({instances.pool * instances.notebooks} solution runs, 2 at a time, cached in the course):"
            f" {instances.references_seconds:.0f} s once"
            f" ({instances.references_seconds / (instances.pool * instances.notebooks):.1f} s per run);"
            f" found cached: {instances.cached_seconds:.2f} s.",
            f"- The same class graded on hidden instances (K={instances.pool}, references made beforehand),"
            f" JOBS=2: {instances.hidden_class_seconds:.1f} s, against {parallel:.1f} s on the public one"
            f" ({instances.hidden_class_seconds / parallel:.2f}×).",
            "- Cell timeouts (CELL_TIMEOUT_SECONDS in graders/core/specs, or its default) are at least"
            f" {min(cell_timeout_for(t.name) / t.slowest_cell_seconds for t in times):.0f}×"
            " the slowest solution cell above.",
            "",
        ]
    )


def distributed() -> str:
    """The Dask measurements, rendered."""
    where = machine()
    one, _ = dask_seconds(1, WORK / "dask")
    two, serial = dask_seconds(2, WORK / "dask")
    return render_distributed(one, two, serial, where)


def main() -> None:
    if "--distributed-only" in sys.argv:
        shutil.rmtree(WORK, ignore_errors=True)
        write_distributed(distributed())
        shutil.rmtree(WORK, ignore_errors=True)
        print(RESULTS.read_text(encoding="utf-8"))
        return
    started = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    names = [path.stem for path in solution_notebooks()]
    bare = {}
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        for path in solution_notebooks():
            bare[path.stem] = bare_execution(path, Path(scratch))
            print(f"nbclient {path.stem}: {bare[path.stem][0]:.1f} s", flush=True)
    autograded = nbgrader_autograde(names, WORK / "autograde")
    print("autograde:", {name: round(seconds, 1) for name, seconds in autograded.items()}, flush=True)
    times = [NotebookTimes(name, *bare[name], autograded[name], fast_path_ms(name)) for name in names]
    serial, parallel = class_seconds(1, WORK / "classes"), class_seconds(2, WORK / "classes")
    made, cached = reference_seconds(names, DEFAULT_POOL, 2, WORK / "references")
    hidden = class_seconds(2, WORK / "classes", instances=DEFAULT_POOL)
    instances = InstanceTimes(DEFAULT_POOL, len(names), made, cached, hidden)
    folder = generated_answers(WORK / "generated", GENERATED_FILES)
    thousand = timed(lambda: grade_folder(folder, ["00_autograd"]))
    RESULTS.write_text(render(times, serial, parallel, thousand, started, instances), encoding="utf-8")
    write_distributed(distributed())
    shutil.rmtree(WORK, ignore_errors=True)
    print(RESULTS.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
