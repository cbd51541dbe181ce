"""Progress use cases on histories recorded live: incomplete executions do not stop training."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from jobcast.app.progress import eta, evaluate, job_history, train
from jobcast.errors import NotEnoughDataError
from jobcast.history import HistoryRepository, JobSpec

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
JOB = "loop"


def _record(
    repo: HistoryRepository,
    run: int,
    durations: list[float | None],
    *,
    scale_out: int | None = None,
    finished: bool = True,
    skip: int | None = None,
) -> None:
    """One run as the collector records it: iterations without a scale-out, ``None``:
    an iteration whose end never arrived, ``skip``: an index never reported."""
    t = T0 + timedelta(hours=run)
    repo.start_execution(JobSpec(JOB), f"run-{run}", scale_out=scale_out, started_at=t)
    for i, d in enumerate(durations):
        values = {"started_at": t}
        if d is not None:
            values["finished_at"] = t + timedelta(seconds=d)
        if i != skip:
            repo.record_iteration(JOB, f"run-{run}", i, values=values)
        t += timedelta(seconds=d or 1.0)
    if finished:
        repo.finish_execution(JOB, f"run-{run}", finished_at=t + timedelta(seconds=1))


def _durations(rng: np.random.Generator, n: int = 6) -> list[float | None]:
    return [float(x) for x in rng.lognormal(1.0, 0.2, n)]


@pytest.fixture
def live_history(sqlite_repo: HistoryRepository) -> HistoryRepository:
    """Eight runs reported without any scale-out; run 3 lost its iteration 4's end, run 5
    never reported its iteration 2; run 9 is still running (3 iterations done)."""
    rng = np.random.default_rng(0)
    for run in range(9):
        durations = _durations(rng)
        if run == 3:
            durations[4] = None
        _record(sqlite_repo, run, durations, skip=2 if run == 5 else None)
    _record(sqlite_repo, 9, _durations(rng, 3), finished=False)
    return sqlite_repo


def test_training_leaves_out_incomplete_runs_and_says_which(
    live_history: HistoryRepository, caplog: pytest.LogCaptureFixture
) -> None:
    trained = train(live_history, JOB)
    assert trained.stored.executions == 7
    note = trained.report.notes[0]
    assert note.startswith("Left out 2 recorded execution(s)")
    assert "'run-3' (iteration 4 has no duration" in note
    assert "'run-5' (iteration 2 was never recorded)" in note
    with caplog.at_level(logging.WARNING, logger="jobcast.app.progress"):
        history, _ = job_history(live_history, JOB)
    assert sorted(history["execution"].unique()) == [f"run-{r}" for r in (0, 1, 2, 4, 6, 7, 8)]
    assert set(history["scale_out"]) == {1}  # no scale-out recorded anywhere
    assert "left out 2 recorded execution(s)" in caplog.text
    result = evaluate(live_history, JOB, training="none")
    assert result.estimates > 0 and np.isfinite(result.mre_remaining)


def test_the_running_execution_gets_an_eta(live_history: HistoryRepository) -> None:
    train(live_history, JOB)
    now = T0 + timedelta(hours=9, seconds=12)
    got = eta(live_history, JOB, "run-9", now=now)
    assert got.iterations_done == 3
    # the finished runs took about 6 iterations of e^1.02 s: roughly half remains
    assert 4.0 < got.remaining_s < 16.0
    assert got.interval_s[0] <= got.remaining_s <= got.interval_s[1]


def test_only_incomplete_runs_is_a_clear_error(sqlite_repo: HistoryRepository) -> None:
    rng = np.random.default_rng(1)
    for run in range(3):
        _record(sqlite_repo, run, _durations(rng), skip=1)
    with pytest.raises(NotEnoughDataError, match="no finished execution with complete iter"):
        train(sqlite_repo, JOB)
