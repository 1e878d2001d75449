"""Grading on Dask distributed: a local cluster of two worker processes, one of them killed mid-run.

The unit tests run a small function through graders.classroom.distributed.run_on_dask; the end-to-end tests
grade a small class through the cluster, into a real Postgres gradebook with a worker killed mid-run, and by
workers that never open the course, and compare each with a JOBS=1 run.
"""

import csv
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TypeVar

import psutil
import pytest
from class_fixture import CELL_TIMEOUT, NOTEBOOK, fixture_class, write_submissions
from dask_tasks import double_or_fail, seen_files, slow_double, watch_files, work_in_own_folder
from distributed import Client, LocalCluster
from postgres import postgres_url  # noqa: F401  (a fixture)
from test_sandbox import sandbox_or_skip

from graders.classroom.distributed import run_on_dask
from graders.classroom.grade_class import grade_class
from graders.classroom.sandbox import Limits

# Every test here grades on Dask into Postgres.
pytestmark = pytest.mark.slow

# Submissions that differ in kind: full marks, none, partial, wrong, and one nbgrader cannot grade.
CLASS = ["correct", "blank", "half_done", "typical_mistakes", "kills_kernel"]
# None of them loops, so a longer limit than class_fixture's costs nothing, and two workers' nbgrader
# runs on a busy 2-core machine (seen: 40 s for notebook 00) are not cut short.
# Both courses hand every student the same hidden instances, so their rows can be compared.
SHARED_SECRET = "one secret for the Dask course and the one-machine course"
LIMITS = Limits(3 * CELL_TIMEOUT)

T = TypeVar("T")


@pytest.fixture
def cluster() -> Iterator[LocalCluster]:
    """Two worker processes of one thread each, as run_on_dask starts them; a fresh pair for every test."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local:
        yield local


def worker_pids(address: str) -> list[int]:
    """The process id of every worker of the cluster at `address`."""
    with Client(address) as client:
        return sorted(client.run(os.getpid).values())


def wait_for(found: Callable[[], list[T]], seconds: float = 30) -> T:
    """The first thing `found` finds, asking again until it finds one."""
    deadline = time.monotonic() + seconds
    while not (things := found()):
        assert time.monotonic() < deadline, "waited in vain"
        time.sleep(0.05)
    return things[0]


def starts(started: Path) -> list[tuple[int, int]]:
    """(item, pid) for every time slow_double started an item."""
    return [(int(item), int(pid)) for item, pid in (path.name.split(".") for path in started.iterdir())]


def test_a_worker_killed_mid_task_has_its_task_retried_elsewhere(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    items = list(range(8))
    results: list[tuple[int, int]] = []
    run = run_on_dask(partial(slow_double, tmp_path), items, cluster.scheduler_address, workers=0)
    results.append(next(run))
    victim_item, victim = wait_for(lambda: [start for start in starts(tmp_path) if start[0] != results[0][0]])
    os.kill(victim, signal.SIGKILL)
    results += list(run)
    assert sorted(results) == [(item, 2 * item) for item in items]
    assert victim not in worker_pids(cluster.scheduler_address)
    assert any(item == victim_item and pid != victim for item, pid in starts(tmp_path))


def test_a_task_that_fails_comes_back_as_its_error_and_the_rest_finish(cluster: LocalCluster) -> None:
    results = dict(run_on_dask(double_or_fail, range(6), cluster.scheduler_address, workers=0))
    error = results.pop(3)
    assert isinstance(error, ValueError) and "item 3 is broken" in str(error)
    assert results == {item: 2 * item for item in (0, 1, 2, 4, 5)}


def test_without_a_scheduler_it_starts_and_closes_its_own_workers() -> None:
    before = set(psutil.Process().children(recursive=True))
    assert sorted(run_on_dask(double_or_fail, [1, 2], None, workers=2)) == [(1, 2), (2, 4)]
    assert not [
        child
        for child in psutil.Process().children(recursive=True)
        if child not in before and child.is_running()
    ]


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def kill_first_busy_worker(pids: list[int], killed: list[int]) -> None:
    """Wait for a worker to run a student's kernel, then kill it and what it started at once, as a lost
    machine does."""
    workers = [psutil.Process(pid) for pid in pids]
    busy = wait_for(lambda: [worker for worker in workers if kernel_children(worker)], seconds=600)
    for process in [busy, *busy.children(recursive=True)]:
        process.kill()
    killed.append(busy.pid)


def kernel_children(worker: psutil.Process) -> list[psutil.Process]:
    """The kernels a worker's in-process nbgrader started: their launchers, warm (kernel_relay.py) or cold."""
    launchers = ("kernel_relay.py", "graders.classroom.sandbox")
    return [
        child for child in worker.children() if any(name in " ".join(child.cmdline()) for name in launchers)
    ]


def test_a_class_graded_through_dask_into_postgres_matches_jobs_1(
    cluster: LocalCluster,
    postgres_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    sandbox_or_skip()
    pupils = [pupil for pupil in fixture_class() if pupil.id in CLASS]
    submissions = write_submissions(tmp_path / "submissions", pupils)
    killed: list[int] = []
    killer = threading.Thread(
        target=kill_first_busy_worker, args=(worker_pids(cluster.scheduler_address), killed), daemon=True
    )
    killer.start()
    report = grade_class(
        submissions,
        tmp_path / "dask",
        limits=LIMITS,
        db_url=postgres_url,
        scheduler=cluster.scheduler_address,
        instance_secret=SHARED_SECRET,
    )
    killer.join(timeout=1)
    assert killed, "no worker was killed mid-run"
    rows = csv_rows(report.grades_csv)
    assert sorted(row["student_id"] for row in rows) == sorted(CLASS)
    scores = {row["student_id"]: float(row["score"]) for row in rows}
    assert scores == {pupil.id: pupil.score for pupil in pupils}
    one_machine = grade_class(
        submissions, tmp_path / "jobs1", jobs=1, limits=LIMITS, instance_secret=SHARED_SECRET
    )
    assert rows == csv_rows(one_machine.grades_csv)


def test_workers_that_never_open_the_course_grade_a_class_as_jobs_1(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    """Each task carries its submission's files and returns its results: the workers, each in a working
    folder of its own, never open, list or connect to anything in the course."""
    sandbox_or_skip()
    pupils = [pupil for pupil in fixture_class() if pupil.id in CLASS]
    submissions = write_submissions(tmp_path / "submissions", pupils)
    course = tmp_path / "dask"
    with Client(cluster.scheduler_address) as client:
        folders = client.run(work_in_own_folder)
        client.run(watch_files)
        report = grade_class(
            submissions,
            course,
            limits=LIMITS,
            scheduler=cluster.scheduler_address,
            instance_secret=SHARED_SECRET,
        )
        seen = [path for paths in client.run(seen_files).values() for path in paths]
    assert len(set(folders.values())) == 2
    assert any(path.endswith(f"{NOTEBOOK}.ipynb") for path in seen), "the workers graded nothing"
    assert [path for path in seen if Path(path).is_relative_to(course)] == []
    one_machine = grade_class(
        submissions, tmp_path / "jobs1", jobs=1, limits=LIMITS, instance_secret=SHARED_SECRET
    )
    assert csv_rows(report.grades_csv) == csv_rows(one_machine.grades_csv)
