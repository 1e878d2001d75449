"""Grade on Dask distributed: one task per submission, on local worker processes or a cluster's workers.

The tasks only autograde, each in its scratch course on storage every worker shares; the calling
process receives each result exactly once and alone records it in the class gradebook. A worker lost
mid-task has its task retried on another by Dask's scheduler (`distributed.scheduler.allowed-failures`,
3 by default); a task that fails for good comes back as an error, and the batch goes on.
"""

import dataclasses
import functools
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from distributed import Client, Future, LocalCluster, as_completed
from tqdm import tqdm

from graders.classroom.autograde import Outcome, autograde
from graders.classroom.course import Course
from graders.classroom.sandbox import Limits

Item = TypeVar("Item")
Result = TypeVar("Result")


def run_on_dask(
    function: Callable[[Item], Result],
    items: Iterable[Item],
    scheduler: str | None,
    workers: int,
    name: Callable[[Item], str] = str,
) -> Iterator[tuple[Item, Result | Exception]]:
    """Yield (item, function(item)) as each task finishes, or (item, the error) if it failed for good.

    `scheduler` is a Dask scheduler's address; None starts `workers` local worker processes for this call.
    """
    with _client(scheduler, workers) as client:
        # The key names the submission (the dashboard and logs say which one); the suffix keeps two runs
        # on one scheduler from sharing a task, and so a result.
        futures = {
            client.submit(function, item, key=f"{name(item)}-{uuid.uuid4().hex}", pure=False): item
            for item in items
        }
        for future in as_completed(futures):
            yield futures[future], _result(future)


@contextmanager
def _client(scheduler: str | None, workers: int) -> Iterator[Client]:
    """A client of the given scheduler, or of a cluster of local processes closed afterwards."""
    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    # One thread per process: each task is a whole nbgrader run, and a killed process loses one task only.
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster, Client(cluster) as client:
        yield client


def _result(future: Future) -> Any:
    """The task's result, or the error that ended it: KilledWorker once its workers died too often."""
    try:
        return future.result()
    # A cancelled task (the scheduler is gone) is not an Exception: it stops the run, which a rerun resumes.
    except Exception as error:
        return error


def autograde_on_dask(
    course: Course, pending: list[Outcome], limits: Limits, scheduler: str | None, workers: int
) -> Iterator[Outcome]:
    """autograde() every pending submission on Dask, yielding each as it finishes (the caller records it)."""
    # Workers never write the class gradebook, so its URL (and password) is not sent to them.
    grade = functools.partial(autograde, dataclasses.replace(course, db_url=""), limits=limits)
    results = run_on_dask(grade, pending, scheduler, workers, name=_task_name)
    for outcome, result in tqdm(results, total=len(pending), desc="autograde", unit="notebook"):
        if isinstance(result, Exception):
            result = Outcome(
                outcome.task, outcome.digest, f"its grading task failed on every try: {result!r}"
            )
        yield result


def _task_name(outcome: Outcome) -> str:
    return f"autograde-{outcome.task.notebook}-{outcome.task.student}"
