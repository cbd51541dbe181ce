"""Listing the jobs of a history (``jobcast jobs``, ``GET /api/jobs``).

Imports nothing heavy at the top: :func:`quick_list_jobs` reads an up-to-date history
with the database driver alone, the fast path of ``jobcast jobs``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobcast.history import HistoryRepository, JobSummary

__all__ = ["job_entry", "list_jobs", "quick_list_jobs", "summarize"]


def job_entry(
    name: str,
    attributes: Sequence[tuple[str, str]],
    by_source: Mapping[str, int],
    iterations: int,
) -> dict[str, Any]:
    """One job as ``jobcast jobs --json`` prints it; ``attributes`` as ``(name, kind)``."""
    return {
        "name": name,
        "executions": int(sum(by_source.values())),
        "by_source": dict(by_source),
        "iterations": iterations,
        "attributes": [{"name": a, "kind": str(k)} for a, k in attributes],
    }


def list_jobs(repo: HistoryRepository) -> list[dict[str, Any]]:
    """Every job of the history as JSON-friendly dicts (see :func:`summarize`)."""
    return summarize(repo.list_jobs())


def summarize(jobs: Sequence[JobSummary]) -> list[dict[str, Any]]:
    """JSON-friendly rendering of job summaries (used by ``jobcast jobs --json``)."""
    return [
        job_entry(j.name, [(a.name, a.kind) for a in j.attributes], j.executions, j.iterations)
        for j in jobs
    ]


def quick_list_jobs(url: str | None) -> list[dict[str, Any]] | None:
    """:func:`list_jobs` without SQLAlchemy, or None when the full repository must open.

    None for a history that does not exist yet or needs migrating, a URL the driver
    alone cannot open, or any database error (see :func:`jobcast.lean.read_jobs`).
    """
    from jobcast.lean import read_jobs

    rows = read_jobs(url)
    if rows is None:
        return None
    return [
        job_entry(name, [(a, k) for a, k, _ in attributes], counts, iterations)
        for name, attributes, counts, iterations in rows
    ]
