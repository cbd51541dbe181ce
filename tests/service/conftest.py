"""Fixtures of the service tests: a database URL on SQLite and PostgreSQL, app clients."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from jobcast.history import HistoryRepository, JobSpec
from tests.collect.recording_server import free_port, running_server

__all__ = ["GAP", "T0", "Headers", "free_port", "iterative_history", "record_run", "running_server"]

T0 = datetime(2026, 1, 1, tzinfo=UTC)
GAP = 2.0


@pytest.fixture
def db_url(history_url: str) -> str:
    """A fresh history database URL: SQLite and PostgreSQL (each test runs on both)."""
    return history_url


def record_run(
    repo: HistoryRepository,
    job: str,
    run: str,
    durations: list[float],
    *,
    start: datetime,
    finish: bool,
    gap: float = GAP,
    tail: float = 3.0,
    scale_out: int = 4,
) -> datetime:
    """A live run with iterations ``gap`` s apart, ending ``tail`` s after the last. Its end.

    Finished when ``finish``.
    """
    repo.start_execution(JobSpec(job), run, scale_out=scale_out, started_at=start)
    t = start
    for i, d in enumerate(durations):
        end = t + timedelta(seconds=d)
        repo.record_iteration(
            job, run, i, values={"started_at": t, "finished_at": end, "duration_s": d}
        )
        t = end + timedelta(seconds=gap)
    end = t - timedelta(seconds=gap) + timedelta(seconds=tail)
    if finish:
        repo.finish_execution(job, run, finished_at=end)
    return end


def iterative_history(
    repo: HistoryRepository, job: str = "loop", n_runs: int = 6, n_iter: int = 10
) -> list[float]:
    """Finished runs of an iterative job (seeded); returns the base iteration durations."""
    rng = np.random.default_rng(0)
    durations = [10.0 * float(x) for x in rng.lognormal(0.0, 0.05, n_iter)]
    for r in range(n_runs):
        scale = float(rng.lognormal(0.0, 0.05))
        record_run(
            repo, job, f"{job}-old-{r}", [d * scale for d in durations], start=T0, finish=True
        )
    return durations


Headers = Callable[[str], dict[str, str]]
