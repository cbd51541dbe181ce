"""Parallel work of progress estimation: joblib only, one callback protocol, Dask at the edge."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from joblib import Parallel, delayed, parallel_config

from jobcast.errors import InputError, MissingExtraError

__all__ = ["ProgressCallback", "StepCounter", "dask_backend", "run_tasks"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class ProgressCallback(Protocol):
    """Told how far long work has come: ``callback(done, total)``.

    The one progress protocol of training, evaluation and simulation; the command
    line's progress bar (``jobcast.cli.common.progress_callback``) is one. ``done``
    counts finished units of ``total`` and grows by one per call.
    """

    def __call__(self, done: int, total: int, /) -> None:
        """Report ``done`` of ``total`` units finished."""


class StepCounter:
    """Reports steps of work that follow ``offset`` done units, of ``total`` in all.

    For work of several phases told to one :class:`ProgressCallback` (the simulations,
    then training's searches): each :meth:`step` reports ``callback(done, total)``;
    :meth:`finish` reports the steps a shorter path left out, so the count always ends
    at ``total``. Without a callback it does nothing.
    """

    def __init__(self, callback: ProgressCallback | None, *, offset: int, total: int) -> None:
        self.callback = callback
        self.done = offset
        self.total = total

    def step(self, units: int = 1) -> None:
        """``units`` more done (never past ``total``), each reported."""
        for _ in range(units):
            if self.done >= self.total:
                return
            self.done += 1
            if self.callback is not None:
                self.callback(self.done, self.total)

    def finish(self) -> None:
        """Every step done."""
        self.step(self.total - self.done)


def run_tasks(
    function: Callable[..., T],
    tasks: Iterable[Sequence[Any]],
    *,
    n_jobs: int | None = None,
    callback: ProgressCallback | None = None,
) -> list[T]:
    """``[function(*task) for task in tasks]`` through one :class:`joblib.Parallel` call.

    Where the work runs is joblib's choice, set by the caller around the call: serial
    by default (``n_jobs`` None or 1), a process pool with ``n_jobs`` > 1, a Dask cluster
    inside :func:`dask_backend` (or any ``joblib.parallel_config``). Results come back in
    the order of ``tasks``.

    Parameters
    ----------
    function
        Called once per task with the task's items as positional arguments; must be
        picklable for process pools and clusters.
    tasks
        Argument tuples.
    n_jobs
        joblib workers (one pool for the whole call); None defers to the enclosing
        ``parallel_config`` (serial without one).
    callback
        Called as ``callback(done, len(tasks))`` after each result, in order.

    Returns
    -------
    list
        One result per task.

    Raises
    ------
    jobcast.errors.InputError
        When ``n_jobs`` is 0.

    Examples
    --------
    >>> run_tasks(pow, [(2, 3), (3, 2)])
    [8, 9]
    """
    if n_jobs == 0:
        raise InputError("n_jobs must be a number of workers (-1: every core), got 0.")
    todo = [tuple(t) for t in tasks]
    results: list[T] = []
    parallel = Parallel(n_jobs=n_jobs, return_as="generator")
    for done, result in enumerate(parallel(delayed(function)(*t) for t in todo), start=1):
        results.append(result)
        if callback is not None:
            callback(done, len(todo))
    return results


@contextmanager
def dask_backend(scheduler: str | None) -> Iterator[None]:
    """Run the joblib work inside on the Dask cluster at ``scheduler`` (None: unchanged).

    For the edge (the command line, a script): connects a ``dask.distributed.Client``
    and sets ``joblib.parallel_config(backend="dask")`` for the block, so every
    :func:`run_tasks` inside uses the cluster's workers.

    Parameters
    ----------
    scheduler
        Address of the Dask scheduler, e.g. ``tcp://host:8786``.

    Raises
    ------
    jobcast.errors.MissingExtraError
        When dask.distributed is not installed (``pip install 'jobcast[dask]'``).
    """
    if scheduler is None:
        yield
        return
    try:
        from dask.distributed import Client
    except ImportError as e:
        raise MissingExtraError(
            "dask[distributed]", "dask", "Running progress simulations on a Dask cluster"
        ) from e
    with Client(scheduler), parallel_config(backend="dask"):
        logger.info("joblib work runs on the Dask cluster at %s.", scheduler)
        yield
