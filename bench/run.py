"""`make bench`: measure grading on this machine and write bench/results.md (a measurement, not a test).

All figures come from one run, in this order: the references of K hidden instances of every notebook
(cold, then cached); per notebook, the solution's own cells in a warm kernel plus scoring its answer file
(the floor), the same notebook graded as correct submissions through grade_class with jobs=1 (the class
path: wall time, CPU-seconds, the grading process's recording time), and the fast path; a class of
notebook 00 with JOBS=1 and 2, on the public and on hidden instances; the class on Dask with 1 and 2 local
workers; 1,000 answer files through the fast path. The script drives the class path only through
grade_class and its keyword arguments, so it keeps measuring while the grading internals change.
`--quick` (2 notebooks, a class of 4, K=2) checks the script end to end and writes elsewhere.
"""

import argparse
import dataclasses
import datetime
import functools
import inspect
import os
import platform
import random
import resource
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
from distributed import LocalCluster
from nbclient import NotebookClient

from graders.classroom import grade_class as grade_class_module
from graders.classroom.course import Course, solution_notebooks
from graders.classroom.demo_class import write_solved_class
from graders.classroom.grade_class import grade_class
from graders.classroom.hidden_instances import DEFAULT_POOL, hidden_instance
from graders.classroom.references import REFERENCES, make_references, reference_path
from graders.core.answer_files import answer_file
from graders.core.instances import INSTANCE_VARIABLE
from graders.core.loader import load_answers
from graders.core.paths import REPO_ROOT, SOLUTIONS_DIR, answers_dir
from graders.core.scoring import grade_answer_file, grade_folder
from graders.core.specs import cell_timeout_for

RESULTS = REPO_ROOT / "bench" / "results.md"
QUICK_RESULTS = Path(tempfile.gettempdir()) / "bench-quick.md"
WORK = REPO_ROOT / "bench" / "tmp"
QUICK_NOTEBOOKS = ["00_autograd", "02_torch_optim"]
FAST_PATH_REPEATS = 50
GENERATED_FILES = 1000
# The notebook the whole-class measurements grade.
CLASS_NOTEBOOK = "00_autograd"
# A fixed secret, so the benchmark knows which hidden instance each student is graded on.
SECRET = "bench"
# The class the issue asks about, and the machines it would be graded on (one worker per core).
TARGET_STUDENTS, TARGET_NOTEBOOKS, CORES_PER_MACHINE, MACHINES = 1000, 13, 16, 4
# Targets of issue 18.
OVERHEAD_TARGET_SECONDS, SERIAL_TARGET_MS, DASK_TARGET_SPEEDUP, CLASS_TARGET_MINUTES = 1.0, 20.0, 1.8, 40.0
FIXED_TARGET_SECONDS = 1.0
# What a warm kernel has done before the solution's first cell: what the issue calls the floor.
WARM_UP = """\
import matplotlib
import matplotlib.pyplot
import torch

import graders

weight = torch.zeros(2, requires_grad=True)
optimizer = torch.optim.SGD([weight], lr=0.1)
(weight - 1).square().sum().backward()
optimizer.step()
del weight, optimizer
"""
GROUP_REMOVAL_SECONDS = 10
PEAK_MEMORY_CELL = "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"


@dataclass(frozen=True)
class Settings:
    """What one run measures: the full benchmark or --quick."""

    notebooks: list[str]
    class_size: int
    pool: int
    students_per_notebook: int
    output: Path


def settings(quick: bool) -> Settings:
    names = [path.stem for path in solution_notebooks()]
    if quick:
        return Settings([name for name in QUICK_NOTEBOOKS if name in names], 4, 2, 2, QUICK_RESULTS)
    return Settings(names, 8, DEFAULT_POOL, 3, RESULTS)


class CpuMeter:
    """CPU-seconds used by this process and every process it starts (kernels, Dask workers, pools).

    cgroup v1: a cpuacct group of the benchmark's own; cgroup v2: the benchmark's group's cpu.stat (which
    counts whatever else runs in that group); else getrusage (which misses children not yet reaped).
    """

    def __init__(self) -> None:
        self.group: Path | None = None
        self.came_from: Path | None = None
        self.method = "getrusage of this process and its reaped children (a lower bound)"
        self._read: Callable[[], float] = self._rusage
        v1 = Path("/sys/fs/cgroup/cpuacct")
        try:
            if (v1 / "cpuacct.usage").is_file():
                _remove_empty_groups(v1)
                self.came_from = v1 / _own_group("cpuacct").lstrip("/")
                self.group = v1 / f"graders-bench-{os.getpid()}"
                self.group.mkdir()
                (self.group / "cgroup.procs").write_text(str(os.getpid()), encoding="ascii")
                self._read = lambda: int((self.group / "cpuacct.usage").read_text()) / 1e9
                self.method = f"cpuacct usage of a cgroup v1 group of its own ({self.group})"
            elif (stat := Path("/sys/fs/cgroup") / _own_group("").lstrip("/") / "cpu.stat").is_file():
                self._read = lambda: _counter(stat, "usage_usec") / 1e6
                self.method = f"cpu.stat of its cgroup v2 group ({stat.parent}), shared with its siblings"
        except OSError as error:
            self.method += f" (no cgroup of its own: {error})"

    def seconds(self) -> float:
        return self._read()

    @staticmethod
    def _rusage() -> float:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    def close(self) -> None:
        """Go back to the group the benchmark came from and remove its own (if nothing is left in it)."""
        if self.group is None or self.came_from is None:
            return
        (self.came_from / "cgroup.procs").write_text(str(os.getpid()), encoding="ascii")
        # Kernels and Dask workers may take a moment to be gone after their run.
        deadline = time.monotonic() + GROUP_REMOVAL_SECONDS
        while True:
            try:
                self.group.rmdir()
                return
            except OSError as error:
                if time.monotonic() > deadline:
                    print(f"note: {self.group} left for the next run to remove: {error}", file=sys.stderr)
                    return
                time.sleep(0.5)


def _remove_empty_groups(hierarchy: Path) -> None:
    """Remove earlier runs' groups that are empty by now (processes that outlived a run kept them busy)."""
    for group in hierarchy.glob("graders-bench-*"):
        with suppress(OSError):
            group.rmdir()


def _own_group(controller: str) -> str:
    """This process's group in the hierarchy of `controller` ('' for cgroup v2's unified one)."""
    for line in Path("/proc/self/cgroup").read_text(encoding="ascii").splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return path
    raise OSError(f"this process is in no {controller or 'cgroup v2'} group")


def _counter(path: Path, name: str) -> int:
    return next(int(line.split()[1]) for line in path.read_text().splitlines() if line.split()[0] == name)


class Recording:
    """Wall seconds the grading process spends in grade_class's recording step, and when it last ended.

    It wraps every function named `record` or `record_*` in graders.classroom.grade_class's namespace
    (today record_total and autograde.record), so whatever grade_class calls to write a submission's
    grade is timed there; nested calls count once, on any thread.
    """

    def __init__(self, module: ModuleType, cpu: Callable[[], float]) -> None:
        self.module = module
        self.cpu = cpu
        # When each submission's recording ended: wall and CPU clocks.
        self.ends: list[tuple[float, float]] = []
        self.names = sorted(
            name
            for name, value in vars(module).items()
            if (name == "record" or name.startswith("record_")) and inspect.isfunction(value)
        )
        self.seconds = 0.0
        # The recording thread's own CPU time: on a busy machine its wall time also counts waiting for a core.
        self.thread_cpu_seconds = 0.0
        self._lock = threading.Lock()
        self._depth = threading.local()

    def _wrapped(self, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            depth = getattr(self._depth, "value", 0)
            self._depth.value = depth + 1
            start, thread_start = time.perf_counter(), time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                self._depth.value = depth
                if depth == 0:
                    end = time.perf_counter()
                    with self._lock:
                        self.seconds += end - start
                        self.thread_cpu_seconds += time.thread_time() - thread_start
                        self.ends.append((end, self.cpu()))

        return timed

    @contextmanager
    def active(self) -> Iterator["Recording"]:
        originals = {name: getattr(self.module, name) for name in self.names}
        for name, function in originals.items():
            setattr(self.module, name, self._wrapped(function))
        try:
            yield self
        finally:
            for name, function in originals.items():
                setattr(self.module, name, function)


@dataclass(frozen=True)
class ClassRun:
    """One timed grade_class call: wall and CPU seconds, recording seconds, submissions graded now, and
    the wall and CPU clocks (from the call's start) when each submission's recording ended."""

    seconds: float
    cpu_seconds: float
    recording_seconds: float
    recording_cpu_seconds: float
    graded: int
    recorded_by: tuple[str, ...]
    ends: tuple[tuple[float, float], ...]

    @property
    def recording_ms_each(self) -> float:
        return 1000 * self.recording_seconds / self.graded

    @property
    def recording_cpu_ms_each(self) -> float:
        return 1000 * self.recording_cpu_seconds / self.graded

    @property
    def seconds_each(self) -> float:
        """Wall seconds per submission in the steady state: from one recorded submission to the next."""
        return self._each(0, self.seconds)

    @property
    def cpu_seconds_each(self) -> float:
        """CPU-seconds per submission in the steady state, likewise."""
        return self._each(1, self.cpu_seconds)

    @property
    def fixed_seconds(self) -> float:
        """What the call cost beyond its submissions' steady-state time: start-up and tail (feedback)."""
        return self.seconds - self.graded * self.seconds_each

    def _each(self, clock: int, total: float) -> float:
        if len(self.ends) < 2:  # no interval to time (or no recording function found): the whole call
            return total / self.graded
        return (self.ends[-1][clock] - self.ends[0][clock]) / (len(self.ends) - 1)


def timed_class(meter: CpuMeter, submissions: Path, course: Path, **options: Any) -> ClassRun:
    """grade_class(submissions, course, **options), measured; every submission must be graded now."""
    recording = Recording(grade_class_module, meter.seconds)
    before = meter.seconds()
    start = time.perf_counter()
    with recording.active():
        report = grade_class(submissions, course, **options)
    end, cpu_end = time.perf_counter(), meter.seconds()
    graded = report.graded_now
    assert graded > 0, f"grade_class graded nothing in {course}"
    ends = tuple((wall - start, cpu - before) for wall, cpu in recording.ends)
    return ClassRun(
        end - start,
        cpu_end - before,
        recording.seconds,
        recording.thread_cpu_seconds,
        graded,
        tuple(recording.names),
        ends,
    )


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def students(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{index:02d}" for index in range(count)]


def lay_out(course: Path, references: Path, notebooks: list[str], pool: int) -> None:
    """Give a course the references already made (copied), making any that are missing."""
    grading = Course(course.resolve(), "").grading
    if (references / REFERENCES).is_dir():
        shutil.copytree(references / REFERENCES, grading / REFERENCES, dirs_exist_ok=True)
    make_references(grading, [(name, k) for name in notebooks for k in range(1, pool + 1)], jobs=2)


def warm_class(
    meter: CpuMeter, root: Path, notebook: str, names: list[str], references: Path, pool: int, **options: Any
) -> ClassRun:
    """A class of `names` graded on `notebook`, measured after a first grade_class call of one student has
    laid the course out (nbgrader's release, references, workers), as a course is between two batches."""
    submissions, course = root / "submissions", root / "course"
    lay_out(course, references, [notebook], pool)
    options = {"instances": pool, "instance_secret": SECRET, **options}
    grade_class(write_solved_class(submissions, ["warmup"], notebook), course, **options)
    write_solved_class(submissions, names, notebook)
    return timed_class(meter, submissions, course, **options)


@dataclass(frozen=True)
class OwnCells:
    """The floor: the solution's cells in a warm kernel plus scoring its answer file."""

    seconds: float
    slowest_cell_seconds: float  # as in a cold kernel, for the cell timeouts
    peak_rss_mib: float
    full_marks: bool


def own_cells(notebook: str, instance: int, reference: Path, scratch: Path) -> OwnCells:
    """Run the solution in a kernel that has already imported torch, matplotlib and the course package
    and taken one optimizer step, on `instance` with no reference in the kernel (as when graded)."""
    node = nbformat.read(SOLUTIONS_DIR / f"{notebook}.ipynb", as_version=4)
    solution = list(node.cells)
    node.cells = [nbformat.v4.new_code_cell(WARM_UP), *solution, nbformat.v4.new_code_cell(PEAK_MEMORY_CELL)]
    workdir, empty = scratch / notebook, scratch / f"{notebook}-no-reference"
    workdir.mkdir(parents=True)
    empty.mkdir()
    client = NotebookClient(
        node,
        timeout=cell_timeout_for(notebook),
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    env = {
        **os.environ,
        "GRADERS_ANSWERS_DIR": str(empty),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        INSTANCE_VARIABLE: str(instance),
    }
    cells = []
    with client.setup_kernel(env=env):
        warm_up = timed(lambda: client.execute_cell(node.cells[0], 0))
        start = time.perf_counter()
        for index in range(1, len(solution) + 1):
            began = time.perf_counter()
            client.execute_cell(node.cells[index], index)
            cells.append(time.perf_counter() - began)
        graded = grade_answer_file(notebook, workdir / answer_file(notebook), load_answers(reference))
        seconds = time.perf_counter() - start
        client.execute_cell(node.cells[-1], len(node.cells) - 1)
    peak_kib = float("".join(output.get("text", "") for output in node.cells[-1].outputs).strip())
    # In a cold kernel the first code cell (the setup) also pays the imports the warm-up paid here.
    first = next(index for index, cell in enumerate(solution) if cell.cell_type == "code")
    slowest = max(*cells, warm_up + cells[first])
    return OwnCells(seconds, slowest, peak_kib / 1024, graded.score == graded.max_score)


def fast_path_ms(name: str) -> float:
    reference = answers_dir() / f"{name}.json"
    return (
        1000
        * timed(lambda: [grade_answer_file(name, reference) for _ in range(FAST_PATH_REPEATS)])
        / FAST_PATH_REPEATS
    )


@dataclass(frozen=True)
class NotebookTimes:
    """One notebook's measurements."""

    name: str
    own: OwnCells
    classpath: ClassRun
    students: int
    fast_path_ms: float

    @property
    def class_seconds(self) -> float:
        return self.classpath.seconds_each

    @property
    def cpu_seconds(self) -> float:
        return self.classpath.cpu_seconds_each


def per_notebook(
    meter: CpuMeter, plan: Settings, references: Path, failures: list[str]
) -> list[NotebookTimes]:
    """Each notebook measured; one that fails is named in `failures` and the others still measured."""
    times = []
    for name in plan.notebooks:
        try:
            times.append(one_notebook(meter, plan, references, name))
        except Exception as error:
            traceback.print_exc()
            failures.append(f"{name}: not measured: {type(error).__name__}: {str(error)[:400]}")
    if not times:
        raise RuntimeError("no notebook could be measured")
    return times


def one_notebook(meter: CpuMeter, plan: Settings, references: Path, name: str) -> NotebookTimes:
    names = students(f"{name[:2]}-student", plan.students_per_notebook)
    instance = hidden_instance(SECRET, name, names[0], plan.pool)
    own = own_cells(name, instance, reference_path(references, name, instance), WORK / "own")
    print(f"{name}: own cells {own.seconds:.2f} s on instance {instance}", flush=True)
    classpath = warm_class(meter, WORK / "path" / name, name, names, references, plan.pool, jobs=1)
    print(f"{name}: class path {classpath.seconds_each:.2f} s per notebook", flush=True)
    return NotebookTimes(name, own, classpath, len(names), fast_path_ms(name))


@dataclass(frozen=True)
class Classes:
    """A class of notebook-00 submissions: JOBS=1 and 2 on the public instance, JOBS=2 on hidden ones."""

    size: int
    serial: ClassRun
    parallel: ClassRun
    hidden: ClassRun
    pool: int


def classes(meter: CpuMeter, plan: Settings, references: Path) -> Classes:
    names = students("student", plan.class_size)
    runs = [
        warm_class(meter, WORK / f"class-{jobs}-{pool}", CLASS_NOTEBOOK, names, references, pool, jobs=jobs)
        for jobs, pool in ((1, 0), (2, 0), (2, plan.pool))
    ]
    return Classes(plan.class_size, *runs, plan.pool)


def dask_class(meter: CpuMeter, workers: int, plan: Settings, references: Path) -> ClassRun:
    """The class graded on `workers` local Dask worker processes, started (and warmed) beforehand."""
    with LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        root = WORK / f"dask-{workers}"
        submissions, course = root / "submissions", root / "course"
        lay_out(course, references, [CLASS_NOTEBOOK], plan.pool)
        options = {"scheduler": cluster.scheduler_address, "instances": plan.pool, "instance_secret": SECRET}
        # One submission per worker first: each worker imports what grading needs outside the measurement.
        grade_class(
            write_solved_class(submissions, students("warmup", workers), CLASS_NOTEBOOK), course, **options
        )
        write_solved_class(submissions, students("student", plan.class_size), CLASS_NOTEBOOK)
        return timed_class(meter, submissions, course, **options)


def rerun_seconds() -> float:
    """The per-run fixed cost: grade_class over the JOBS=1 class again, with nothing left to grade."""
    root = WORK / "class-1-0"
    return timed(lambda: grade_class(root / "submissions", root / "course", jobs=1, instances=0))


@dataclass(frozen=True)
class References:
    """Making the references of K hidden instances of every notebook: cold, then found cached."""

    pool: int
    notebooks: int
    seconds: float
    cpu_seconds: float
    cached_seconds: float


def references(meter: CpuMeter, plan: Settings, grading: Path) -> References:
    pairs = [(name, k) for name in plan.notebooks for k in range(1, plan.pool + 1)]
    before = meter.seconds()
    made = timed(lambda: make_references(grading, pairs, jobs=2))
    cpu = meter.seconds() - before
    return References(
        plan.pool, len(plan.notebooks), made, cpu, timed(lambda: make_references(grading, pairs, jobs=2))
    )


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


def verdict(met: bool, by: str) -> str:
    return "**met**" if met else f"**missed** by {by}"


@dataclass
class Results:
    """Every section's measurement, or the error that stopped it (the others are still written)."""

    started: str
    where: str
    cpu_method: str
    plan: Settings
    references: References | str = "not run"
    notebooks: list[NotebookTimes] | str = "not run"
    classes: Classes | str = "not run"
    rerun_seconds: float | str = "not run"
    dask: tuple[ClassRun, ClassRun] | str = "not run"
    thousand_seconds: float | str = "not run"
    failures: list[str] = dataclasses.field(default_factory=list)


def measure(results: Results, section: str, action: Callable[[], Any]) -> None:
    """Set results.<section> to action(), or to the error that stopped it."""
    try:
        setattr(results, section, action())
    except Exception as error:
        traceback.print_exc()
        message = f"not measured: {type(error).__name__}: {str(error)[:400]}"
        setattr(results, section, message)
        results.failures.append(f"{section}: {message}")


def render(results: Results) -> str:
    plan = results.plan
    lines = [
        "# Grading benchmark",
        "",
        f"Measured by `make bench{' BENCH_ARGS=--quick' if plan.output == QUICK_RESULTS else ''}`"
        f" on {results.started}:"
        f" {results.where}. All figures below come from this one run; the machine may have been shared,"
        " so compare ratios within it.",
        f"CPU-seconds: {results.cpu_method}.",
        "",
    ]
    lines += render_notebooks(results)
    lines += render_classes(results)
    lines += render_dask(results)
    lines += render_extrapolation(results)
    lines += render_rest(results)
    return "\n".join(lines)


def render_notebooks(results: Results) -> list[str]:
    times = results.notebooks
    lines = ["## Per notebook: own cells, class path, fast path", ""]
    if isinstance(times, str):
        return [*lines, f"Per-notebook measurements: {times}", ""]
    lines += [
        "- **own s**: the solution's cells in a warm kernel (it has imported torch, matplotlib and the course"
        " package and taken one optimizer step) on the hidden instance the class path grades it on, no"
        " reference in the kernel, plus loading the reference and scoring its answer file: the floor.",
        f"- **class path s**: wall time of `grade_class(..., jobs=1)` grading {times[0].students} correct"
        " submission(s) of the notebook (the solved student notebook, hidden instances with the references"
        " made beforehand), after a first call graded one student in the same course (nbgrader's release laid"
        " out): the steady state, from the end of one submission's recording to the next one's, averaged."
        " What the call costs beyond that (start-up, workers, feedback, report) is its per-run fixed cost,"
        " below.",
        "- **CPU s**: CPU-seconds of everything running meanwhile (grading process, workers, kernels),"
        " likewise per notebook.",
        "- **recording ms**: the grading process's serial recording time per submission (see below).",
        "- **slowest cell s**: the slowest solution cell as a cold kernel runs it (its setup cell pays the"
        " warm-up's imports too), which the cell timeout must leave room for.",
        "",
        "| notebook | own s | class path s | class / own | class − own s | CPU s | recording ms "
        "| fast path ms/file | slowest cell s | cell timeout s | peak kernel RSS MiB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for t in times:
        marks = "" if t.own.full_marks else " (own run NOT full marks)"
        lines.append(
            f"| {t.name}{marks} | {t.own.seconds:.2f} | {t.class_seconds:.2f}"
            f" | {t.class_seconds / t.own.seconds:.1f}× | {t.class_seconds - t.own.seconds:.2f}"
            f" | {t.cpu_seconds:.1f} | {t.classpath.recording_ms_each:.1f}"
            f" | {t.fast_path_ms:.1f} | {t.own.slowest_cell_seconds:.2f} | {cell_timeout_for(t.name)}"
            f" | {t.own.peak_rss_mib:.0f} |"
        )
    overhead = sum(t.class_seconds - t.own.seconds for t in times) / len(times)
    serial = sum(t.classpath.recording_seconds for t in times) / sum(t.classpath.graded for t in times) * 1000
    serial_cpu = (
        sum(t.classpath.recording_cpu_seconds for t in times) / sum(t.classpath.graded for t in times) * 1000
    )
    per_fast = sum(t.fast_path_ms for t in times) / len(times) / 1000
    per_class = sum(t.class_seconds for t in times) / len(times)
    recorded_by = ", ".join(times[0].classpath.recorded_by) or "none found: serial time NOT measured"
    return [
        *lines,
        "",
        f"- Target, class path ≤ own + {OVERHEAD_TARGET_SECONDS:.1f} s on average over the"
        f" {len(times)} notebooks: average (class path − own) = {overhead:.2f} s:"
        f" {verdict(overhead <= OVERHEAD_TARGET_SECONDS, f'{overhead - OVERHEAD_TARGET_SECONDS:.2f} s')}.",
        f"- Target, serial grading-process time ≤ {SERIAL_TARGET_MS:.0f} ms per notebook: {serial:.1f} ms"
        f" per submission recorded on the class path above:"
        f" {verdict(serial <= SERIAL_TARGET_MS, f'{serial - SERIAL_TARGET_MS:.1f} ms')}."
        f" Measured as the wall time the grading process spends inside grade_class's recording step: every"
        f" function named `record` or `record_*` in graders.classroom.grade_class's namespace is wrapped for"
        f" the call (here: {recorded_by}), nested calls counted once, summed and divided by the submissions"
        f" graded. Of it, {serial_cpu:.1f} ms is the recording thread's own CPU time (time.thread_time):"
        " the rest is waiting for a core the kernels hold, which more cores than workers remove."
        " The per-run fixed cost is apart (below).",
        f"- Fast path vs class path: {per_class / per_fast:,.0f}× faster per notebook on average"
        f" ({per_fast * 1000:.1f} ms vs {per_class:.1f} s).",
        "- Cell timeouts (CELL_TIMEOUT_SECONDS in graders/core/specs, or its default) are at least"
        f" {min(cell_timeout_for(t.name) / t.own.slowest_cell_seconds for t in times):.0f}×"
        " the slowest solution cell above.",
        "",
    ]


def fixed_cost(results: Results) -> float | None:
    """A run's cost that no submission adds to, on average over the per-notebook runs."""
    if isinstance(results.notebooks, str):
        return None
    return sum(t.classpath.fixed_seconds for t in results.notebooks) / len(results.notebooks)


def render_classes(results: Results) -> list[str]:
    lines = ["## A class with JOBS=1 and JOBS=2, with and without hidden instances", ""]
    found = results.classes
    if isinstance(found, str):
        return [*lines, f"The notebook-00 classes: {found}", ""]
    rerun = results.rerun_seconds
    rerun_line = (
        f"- A run with nothing to grade (grade_class over the JOBS=1 class again): {rerun:.2f} s."
        if isinstance(rerun, float)
        else f"- A run with nothing to grade: {rerun}"
    )
    fixed = fixed_cost(results)
    if fixed is not None:
        missed = f"{fixed - FIXED_TARGET_SECONDS:.2f} s"
        rerun_line += (
            f"\n- Target, no per-run fixed cost above {FIXED_TARGET_SECONDS:.0f} s: {fixed:.2f} s on average"
            " over the per-notebook runs (a call's wall time less its submissions' steady-state time: its"
            " start-up, workers included, and its tail, feedback and report):"
            f" {verdict(fixed <= FIXED_TARGET_SECONDS, missed)}."
        )
        if fixed > FIXED_TARGET_SECONDS:
            standing = (
                " Against a standing cluster (Dask, below) a run's fixed cost is"
                f" {results.dask[0].fixed_seconds:.1f} s with 1 worker and"
                f" {results.dask[1].fixed_seconds:.1f} s with 2."
                if not isinstance(results.dask, str)
                else ""
            )
            rerun_line += (
                " Why: a call with `jobs` starts a local cluster of its own, and each worker imports nbgrader"
                " and starts its zygote (Python with torch, matplotlib and ipykernel imported) before its"
                " first submission: once per run and per worker, in parallel, never per submission."
                + standing
            )
    return [
        *lines,
        f"A class of {found.size} correct notebook-00 submissions, graded after the course was laid out"
        " (one student graded first):",
        "",
        f"- public instance: JOBS=1 {found.serial.seconds:.1f} s, JOBS=2 {found.parallel.seconds:.1f} s:"
        f" {found.serial.seconds / found.parallel.seconds:.2f}× faster with 2; in the steady state"
        f" {found.serial.seconds_each:.2f} s and {found.parallel.seconds_each:.2f} s per notebook"
        f" ({found.serial.seconds_each / found.parallel.seconds_each:.2f}×).",
        f"- hidden instances (K={found.pool}, references made beforehand), JOBS=2:"
        f" {found.hidden.seconds:.1f} s,"
        f" against {found.parallel.seconds:.1f} s on the public one"
        f" ({found.hidden.seconds / found.parallel.seconds:.2f}×); in the steady state"
        f" {found.hidden.seconds_each:.2f} s per notebook.",
        rerun_line,
        "",
    ]


def render_dask(results: Results) -> list[str]:
    lines = ["## Through Dask distributed", ""]
    if isinstance(results.dask, str):
        return [*lines, f"The Dask classes: {results.dask}", ""]
    one, two = results.dask
    speedup = one.seconds / two.seconds
    return [
        *lines,
        f"A class of {one.graded} correct notebook-00 submissions on hidden instances, graded by"
        " `grade_class(..., scheduler=...)` on a local Dask cluster of 1, then 2 worker processes (one thread"
        " each), started beforehand and warmed by one submission per worker:",
        "",
        f"- wall time: 1 worker {one.seconds:.1f} s ({one.seconds / one.graded:.2f} s per notebook);"
        f" 2 workers {two.seconds:.1f} s ({two.seconds / two.graded:.2f} s per notebook).",
        f"- Target, 2 workers ≥ {DASK_TARGET_SPEEDUP}× one (wall time): {speedup:.2f}×:"
        f" {verdict(speedup >= DASK_TARGET_SPEEDUP, f'{DASK_TARGET_SPEEDUP - speedup:.2f}×')}"
        f" ({one.seconds_each / two.seconds_each:.2f}× in the steady state, from one recorded submission"
        f" to the next; fixed costs {one.fixed_seconds:.1f} s and {two.fixed_seconds:.1f} s)."
        + (
            ""
            if speedup >= DASK_TARGET_SPEEDUP
            else f" Why: in a class of {one.graded} the run's ends weigh: with 2 workers the last submissions"
            " finish one at a time, and the grading process, the scheduler and both kernels share this"
            " machine's 2 cores; the steady state, of which a large class is made, is the ratio that scales."
        ),
        f"- The grading process's recording step: {one.recording_ms_each:.1f} ms per notebook with 1 worker,"
        f" {two.recording_ms_each:.1f} ms with 2. CPU-seconds per notebook (workers, kernels and grading"
        f" process, steady state): {one.cpu_seconds_each:.2f} with 1 worker, {two.cpu_seconds_each:.2f}"
        " with 2.",
        "",
    ]


def render_extrapolation(results: Results) -> list[str]:
    lines = [f"## {TARGET_STUDENTS:,} students × {TARGET_NOTEBOOKS} notebooks, extrapolated", ""]
    if isinstance(results.notebooks, str):
        return [*lines, "Not computed: the per-notebook measurements are missing.", ""]
    times = results.notebooks
    count = TARGET_STUDENTS * TARGET_NOTEBOOKS
    cpu = sum(t.cpu_seconds for t in times) / len(times)
    serial = sum(t.classpath.recording_seconds for t in times) / sum(t.classpath.graded for t in times)
    fixed = fixed_cost(results) or 0.0
    estimates = []
    for label, cores in (
        ("16 cores", CORES_PER_MACHINE),
        (f"{MACHINES} machines of 16 cores", MACHINES * CORES_PER_MACHINE),
    ):
        minutes = (count * cpu / cores + count * serial + fixed) / 60
        target = (
            f": target ≤ {CLASS_TARGET_MINUTES:.0f} min"
            f" {verdict(minutes <= CLASS_TARGET_MINUTES, f'{minutes - CLASS_TARGET_MINUTES:.0f} min')}"
            if cores == CORES_PER_MACHINE
            else ""
        )
        estimates.append(f"- on {label}: {minutes:.0f} min ({minutes / 60:.1f} h){target}.")
    return [
        *lines,
        f"T = N × c / cores + N × s + F, with N = {count:,} notebooks; c = {cpu:.2f} CPU-seconds per"
        f" notebook, the mean over the {len(times)} notebooks of the class path's measured CPU-seconds"
        f" (grading process, kernels and helpers together); s = {serial * 1000:.1f} ms, the grading"
        f" process's serial recording time per notebook (counted on top of the cores' work: an upper"
        f" bound, since it overlaps the grading); F = {fixed:.1f} s, the per-run fixed cost (above).",
        "",
        *estimates,
        "",
        "An extrapolation, not a measurement: it assumes grading scales with cores (one worker per core, each"
        " kernel within its memory limit) and that this machine's CPU-seconds hold on the target's cores.",
        "",
    ]


def render_rest(results: Results) -> list[str]:
    lines = ["## Hidden instances' references and the fast path", ""]
    made = results.references
    if isinstance(made, References):
        runs = made.pool * made.notebooks
        lines.append(
            f"- References of {made.pool} hidden instances for all {made.notebooks} notebooks"
            f" ({runs} solution runs, 2 at a time, cached in the course): {made.seconds:.0f} s once"
            f" ({made.seconds / runs:.1f} s and {made.cpu_seconds / runs:.1f} CPU-seconds per run);"
            f" found cached: {made.cached_seconds:.2f} s."
        )
    else:
        lines.append(f"- References of the hidden instances: {made}")
    thousand = results.thousand_seconds
    if isinstance(thousand, float):
        lines.append(
            f"- {GENERATED_FILES:,} generated answer files (notebook 00) through the fast path:"
            f" {thousand:.1f} s"
            f" ({1000 * thousand / GENERATED_FILES:.1f} ms per file)."
        )
    else:
        lines.append(f"- {GENERATED_FILES:,} answer files through the fast path: {thousand}")
    if results.failures:
        lines += ["", "Sections that failed in this run:", *(f"- {failure}" for failure in results.failures)]
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="2 notebooks, a class of 4, K=2: a check, not results"
    )
    plan = settings(parser.parse_args().quick)
    started = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    where = machine()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    meter = CpuMeter()
    results = Results(started, where, meter.method, plan)
    grading = WORK / "references"
    try:
        measure(results, "references", lambda: references(meter, plan, grading))
        measure(results, "notebooks", lambda: per_notebook(meter, plan, grading, results.failures))
        measure(results, "classes", lambda: classes(meter, plan, grading))
        measure(results, "rerun_seconds", rerun_seconds)
        measure(results, "dask", lambda: tuple(dask_class(meter, n, plan, grading) for n in (1, 2)))
        folder = generated_answers(WORK / "generated", GENERATED_FILES)
        measure(results, "thousand_seconds", lambda: timed(lambda: grade_folder(folder, ["00_autograd"])))
    finally:
        meter.close()
    plan.output.write_text(render(results), encoding="utf-8")
    shutil.rmtree(WORK, ignore_errors=True)
    print(plan.output.read_text(encoding="utf-8"))
    print(f"written to {plan.output}")
    sys.exit(1 if results.failures else 0)


if __name__ == "__main__":
    main()
