"""Listing the runs of one job (``jobcast runs``): where each came from and how it stands."""

from __future__ import annotations

import math
from datetime import datetime
from numbers import Integral
from typing import TYPE_CHECKING, Any, cast

from jobcast.errors import InputError
from jobcast.history.execution_reads import (
    RUN_STATUSES,
    RunStatus,
    StoredExecution,
    job_runs,
)

if TYPE_CHECKING:
    from jobcast.history import HistoryRepository

__all__ = ["DEFAULT_LIMIT", "RUN_STATUSES", "list_runs", "run_entry"]

#: Runs listed when no limit is given: the most recent ones.
DEFAULT_LIMIT = 20


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def _seconds(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def run_entry(e: StoredExecution, iterations: int) -> dict[str, Any]:
    """One run as ``jobcast runs --json`` prints it (keys as the service's execution records).

    Parameters
    ----------
    e
        The stored run.
    iterations
        How many iterations the history holds of it.

    Returns
    -------
    dict
        ``id`` (its own id, else its row id), ``status`` (``running``, ``completed``,
        ``failed``), ``started_at`` and ``finished_at`` (ISO 8601 in UTC, or None),
        ``gross_runtime`` (seconds, None while it runs), ``iterations``, ``scale_out``,
        ``machine_type``, ``source`` (``file``, ``live``, ``share``, ...), ``origin``
        (where it came from: an event log's absolute path, ``<stdin>``, a URL) and
        ``attributes`` (its context).
    """
    return {
        "id": e.external_id or str(e.row_id),
        "status": e.run_status,
        "started_at": _iso(e.started_at),
        "finished_at": _iso(e.finished_at),
        "gross_runtime": _seconds(e.gross_runtime),
        "iterations": int(iterations),
        "scale_out": e.scale_out,
        "machine_type": e.machine_type,
        "source": e.source,
        "origin": e.origin,
        "attributes": dict(e.attributes or {}),
    }


def list_runs(
    repo: HistoryRepository,
    job: str,
    *,
    status: str | None = None,
    limit: int | None = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """The most recent runs of ``job`` and how many more it has, JSON-ready.

    Parameters
    ----------
    repo
        The history.
    job
        The job's name.
    status
        Only runs of this status: ``running``, ``completed`` or ``failed`` (None: all).
    limit
        At most this many runs, the most recent (latest start) first; None: all.

    Returns
    -------
    dict
        ``job``, ``status`` (the filter, or None), ``total`` (runs of that status),
        ``shown``, ``left_out`` (``total - shown``: the older runs beyond ``limit``) and
        ``runs`` (:func:`run_entry` of each, most recent first).

    Raises
    ------
    jobcast.errors.UnknownJobError
        When ``job`` is not in the history (the message lists the known ones).
    jobcast.errors.InputError
        When ``status`` is none of the three, or ``limit`` is not a positive integer.

    Examples
    --------
    >>> list_runs(repo, "sort", limit=2)["left_out"]  # doctest: +SKIP
    34
    """
    if status is not None and status not in RUN_STATUSES:
        raise InputError(f"status must be one of {', '.join(RUN_STATUSES)}, got {status!r}")
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, Integral) or limit < 1
    ):
        raise InputError(f"limit must be a positive whole number of runs, got {limit!r}")
    found = job_runs(
        repo,
        job,
        status=cast("RunStatus | None", status),  # checked above
        limit=None if limit is None else int(limit),
    )
    runs = [run_entry(e, n) for e, n in found.runs]
    return {
        "job": job,
        "status": status,
        "total": found.total,
        "shown": len(runs),
        "left_out": found.total - len(runs),
        "runs": runs,
    }
