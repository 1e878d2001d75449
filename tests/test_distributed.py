"""Grading on Dask distributed: a local cluster of two worker processes, one of them killed mid-run.

The unit tests run a small function through graders.distributed.run_on_dask; the end-to-end test grades
a small class into a real Postgres gradebook through the cluster and compares it with a JOBS=1 run.
"""

import os
import signal
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TypeVar

import psutil
import pytest
from dask_tasks import double_or_fail, kill_own_process, slow_double
from distributed import Client, KilledWorker, LocalCluster

from graders.distributed import run_on_dask

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


def test_a_task_that_kills_every_worker_it_lands_on_is_given_up(cluster: LocalCluster) -> None:
    results = dict(run_on_dask(kill_own_process, range(4), cluster.scheduler_address, workers=0))
    assert isinstance(results.pop(3), KilledWorker)
    assert results == {0: 0, 1: 2, 2: 4}


def test_without_a_scheduler_it_starts_and_closes_its_own_workers() -> None:
    before = set(psutil.Process().children(recursive=True))
    assert sorted(run_on_dask(double_or_fail, [1, 2], None, workers=2)) == [(1, 2), (2, 4)]
    assert not [
        child
        for child in psutil.Process().children(recursive=True)
        if child not in before and child.is_running()
    ]
