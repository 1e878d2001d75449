"""Grade on Dask distributed: one task per submission, on local worker processes or a cluster's workers.

Each task carries its submission's files and returns what grading it gave (graders.classroom.grading_worker),
so workers need no access to the course: they may run on other machines. The calling process prepares
each task, receives each result exactly once, saves it with its attempt and alone records it in the class
gradebook. A worker lost mid-task is replaced, and its task retried on another by Dask's scheduler
(`distributed.scheduler.allowed-failures`, 3 by default); a task that fails for good comes back as an
error, and the batch goes on.
"""

import dataclasses
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from distributed import Client, Future, LocalCluster, as_completed
from tqdm import tqdm

from graders.classroom.autograde import Outcome, keep, prepare, save_attempt
from graders.classroom.course import Course
from graders.classroom.grading_worker import Graded, Job, grade
from graders.classroom.sandbox import Limits
from graders.classroom.submission_limits import NBGRADER_MEMORY_BYTES

Item = TypeVar("Item")
Result = TypeVar("Result")

# Tasks in flight per worker thread: one running and one waiting, so a worker never idles while the
# grading process records, and the files of a whole class are never held in memory at once.
TASKS_PER_THREAD = 2


def run_on_dask(
    function: Callable[[Item], Result],
    items: Iterable[Item],
    scheduler: str | None,
    workers: int,
    name: Callable[[Item], str] = str,
) -> Iterator[tuple[Item, Result | Exception]]:
    """Yield (item, function(item)) as each task finishes, or (item, the error) if it failed for good.

    `scheduler` is a Dask scheduler's address; None starts `workers` local worker processes for this call.
    Items are taken from `items` as workers become free: a few per worker thread are in flight at a time.
    """
    with _client(scheduler, workers) as client:
        waiting = iter(items)
        running: dict[Future, Item] = {}

        def submit_more(finished: as_completed) -> None:
            room = TASKS_PER_THREAD * max(1, sum(client.nthreads().values())) - len(running)
            for item in (next(waiting, _END) for _ in range(room)):
                if item is _END:
                    return
                # The key names the submission (the dashboard and logs say which one); the suffix keeps two
                # runs on one scheduler from sharing a task, and so a result.
                future = client.submit(function, item, key=f"{name(item)}-{uuid.uuid4().hex}", pure=False)
                running[future] = item
                finished.add(future)

        finished = as_completed()
        submit_more(finished)
        for future in finished:
            item = running.pop(future)
            result = _result(future)
            submit_more(finished)
            yield item, result


_END: Any = object()


@contextmanager
def _client(scheduler: str | None, workers: int) -> Iterator[Client]:
    """A client of the given scheduler, or of a cluster of local processes closed afterwards."""
    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    # One thread per process: each task is a whole nbgrader run, which changes the process's working folder
    # and environment, and a killed process loses one task only. Its nanny restarts a worker whose memory
    # passes nbgrader's cap.
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        memory_limit=NBGRADER_MEMORY_BYTES,
    )
    with cluster, Client(cluster) as client:
        client.wait_for_workers(workers)
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
    """Autograde every pending submission on Dask, yielding each as it finishes (the caller records it).

    Each is saved with its attempt first (graders.classroom.autograde.keep), so a grader killed before
    recording it records it on its next run.
    """
    ready: list[Outcome] = []

    def jobs() -> Iterator[tuple[Outcome, Job]]:
        for outcome in pending:
            prepared, job = prepare(course, outcome, limits)
            if job is None:
                ready.append(prepared)
            else:
                yield prepared, job

    results = run_on_dask(_grade, jobs(), scheduler, workers, name=_task_name)
    with tqdm(total=len(pending), desc="autograde", unit="notebook") as progress:
        for (outcome, _), result in results:
            yield from _flush(ready, progress)
            if isinstance(result, Exception):
                result = Graded(f"its grading task failed on every try: {result!r}")
            progress.update()
            yield _kept(outcome, result)
        yield from _flush(ready, progress)


def _grade(item: tuple[Outcome, Job]) -> Graded:
    """A worker's task: grade the job (the outcome only travels with it, to name the task)."""
    return grade(item[1])


def _kept(outcome: Outcome, graded: Graded) -> Outcome:
    try:
        return keep(outcome, graded)
    except OSError as error:  # then the next run grades it again
        return dataclasses.replace(outcome, problem=f"its result could not be saved: {error}")


def _flush(ready: list[Outcome], progress: tqdm) -> Iterator[Outcome]:
    """The submissions that needed no worker (their problem was found while preparing them), saved."""
    while ready:
        outcome = ready.pop()
        progress.update()
        try:
            yield save_attempt(outcome)
        except OSError:
            yield outcome


def _task_name(item: tuple[Outcome, Job]) -> str:
    return f"autograde-{item[0].task.notebook}-{item[0].task.student}"
