"""Listing the jobs of a history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jobcast.history import HistoryRepository, JobSummary

__all__ = ["list_jobs", "summarize"]


def list_jobs(repo: HistoryRepository) -> list[dict[str, Any]]:
    """Every job of the history as JSON-friendly dicts (see :func:`summarize`)."""
    return summarize(repo.list_jobs())


def summarize(jobs: Sequence[JobSummary]) -> list[dict[str, Any]]:
    """JSON-friendly rendering of job summaries (used by ``jobcast jobs --json``)."""
    return [
        {
            "name": j.name,
            "executions": j.total_executions,
            "by_source": dict(j.executions),
            "iterations": j.iterations,
            "attributes": [{"name": a.name, "kind": str(a.kind)} for a in j.attributes],
        }
        for j in jobs
    ]
