"""Following a live application (``jobcast watch``'s use case): the events, in their order."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobcast.app.follow import (
    Abandoned,
    Ended,
    Estimated,
    Followed,
    FollowEvent,
    NoEstimate,
    NoIterationYet,
    RuleChosen,
    Tick,
    Warned,
    follow,
    follow_model,
)
from jobcast.collect import EventLogFollower
from jobcast.errors import InputError
from jobcast.history import HistoryRepository
from tests.collect.test_eventlog import crafted_log, ev, write
from tests.collect.test_hidden_loop import _log as als_log


def _crafted(path: Path, app_id: str, *, scale: float = 1.0, ended: bool = True) -> Path:
    """The crafted log of 3 iterations (job groups) as application ``app_id``.

    ``scale`` stretches its times (3.0: a run three times slower); without ``ended`` the
    application's end is missing, as in a log still written.
    """
    lines = []
    for line in crafted_log() if ended else crafted_log()[:-1]:
        event = json.loads(line)
        for key in ("Timestamp", "Submission Time", "Completion Time"):
            if key in event and event["Event"] != "SparkListenerApplicationStart":
                event[key] = int(event[key] * scale)
        if event.get("App ID") == "app-1":
            event["App ID"] = app_id
        lines.append(json.dumps(event, separators=(",", ":")))
    return write(path / app_id, lines)


def _events(repo: HistoryRepository, job: str, log: Path, **options: Any) -> Iterator[FollowEvent]:
    model, _ = follow_model(repo, job, record=options.get("record", True))
    follower = EventLogFollower(log, iterations=options.pop("iterations", "auto"))
    return follow(
        repo, job, follower, model=model, source=str(log), eventlog=log,
        interval_s=0.01, **{"timeout_s": 30.0, **options},
    )


def _kinds(events: list[FollowEvent]) -> list[str]:
    return [type(e).__name__ for e in events]


def _unknown_job_reason(repo: HistoryRepository) -> str:
    from jobcast.app.progress import fit_wall_clock
    from jobcast.errors import UnknownJobError

    with pytest.raises(UnknownJobError) as e:
        fit_wall_clock(repo, "w")
    return str(e.value)


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[HistoryRepository]:
    with HistoryRepository(f"sqlite:///{tmp_path / 'h.db'}") as repo:
        yield repo


def test_a_new_jobs_run_is_followed_without_estimates_and_recorded(
    tmp_path: Path, repo: HistoryRepository
) -> None:
    assert follow_model(repo, "w") == (None, NoEstimate(_unknown_job_reason(repo), new_job=True))
    events = list(_events(repo, "w", _crafted(tmp_path, "app-1")))
    # a finished log is read at once: the rule, the application's end, then its record
    assert _kinds(events) == ["RuleChosen", "Tick", "Ended", "Followed"]
    rule, tick, _, followed = events
    assert rule == RuleChosen("iterations: job-groups (set by the application)")
    assert isinstance(tick, Tick) and tick.done == 3 and tick.estimate is None
    assert tick.ended_at is not None and (tick.ended_at - tick.started_at).total_seconds() == 11
    assert isinstance(followed, Followed) and len(followed.iterations) == 3
    assert followed.summary() == {
        "execution": "app-1", "actual_s": 11.0, "estimates": 0,
        "iterations_by": "job-groups", "recorded": "recorded", "warnings": [],
    }
    assert len(repo.iterations("w")) == 3
    # a second run: one more, still no estimate (the history needs two)
    *_, again = _events(repo, "w", _crafted(tmp_path, "app-2"))
    assert isinstance(again, Followed) and again.recorded == "recorded"
    # the same run again: the job holds it already
    *_, same = _events(repo, "w", _crafted(tmp_path, "app-2"))
    assert isinstance(same, Followed) and same.recorded == "already"


def _history(tmp_path: Path, repo: HistoryRepository) -> None:
    for app_id in ("app-1", "app-2"):
        *_, done = _events(repo, "w", _crafted(tmp_path, app_id))
        assert isinstance(done, Followed) and done.recorded == "recorded"


def test_each_finished_iteration_is_estimated_when_it_finished(
    tmp_path: Path, repo: HistoryRepository
) -> None:
    _history(tmp_path, repo)
    model, why = follow_model(repo, "w", record=False)
    assert model is not None and why is None
    events = list(_events(repo, "w", _crafted(tmp_path, "app-3"), record=False))
    assert _kinds(events) == [
        "RuleChosen", "Estimated", "Estimated", "Estimated", "Tick", "Ended", "Followed",
    ]
    made = [e.estimate for e in events if isinstance(e, Estimated)]
    assert [m["iterations_done"] for m in made] == [1, 2, 3]
    assert [m["elapsed_s"] for m in made] == [2.0, 5.0, 10.0]  # at their ends, not now
    followed = events[-1]
    assert isinstance(followed, Followed) and followed.recorded is None  # record=False
    assert list(followed.estimates) == made and followed.summary()["estimates"] == 3
    assert len(repo.executions("w")) == 2


def test_a_pace_warning_is_given_once(tmp_path: Path, repo: HistoryRepository) -> None:
    _history(tmp_path, repo)
    events = list(_events(repo, "w", _crafted(tmp_path, "slow", scale=3.0), record=False))
    made = [e.estimate for e in events if isinstance(e, Estimated)]
    assert len(made) == 3 and all(m["warnings"] for m in made)  # each estimate has it
    [warned] = [e for e in events if isinstance(e, Warned)]
    assert warned.text.startswith("the run is slower than every earlier run so far")
    # said before the estimates that carry it
    assert _kinds(events)[:3] == ["RuleChosen", "Warned", "Estimated"]


def test_an_abandoned_log_is_said_once_and_the_timeout_says_why(
    tmp_path: Path, repo: HistoryRepository
) -> None:
    _history(tmp_path, repo)
    log = _crafted(tmp_path, "stale", ended=False)
    old = time.time() - 7200
    os.utime(log, (old, old))
    seen: list[FollowEvent] = []
    with pytest.raises(InputError, match="did not end within --timeout 0.3 s, and its log"):
        seen.extend(_events(repo, "w", log, timeout_s=0.3))
    [abandoned] = [e for e in seen if isinstance(e, Abandoned)]
    assert "last written 2.0 h ago" in abandoned.reason
    ticks = [e for e in seen if isinstance(e, Tick)]
    assert len(ticks) > 1 and all(t.ended_at is None and t.done == 2 for t in ticks)
    assert not any(isinstance(e, Ended | Followed) for e in seen)
    assert len(repo.executions("w")) == 2  # nothing recorded


def test_no_iteration_is_said_once_and_nothing_is_recorded(
    tmp_path: Path, repo: HistoryRepository
) -> None:
    log = write(tmp_path / "app-empty", [
        ev("LogStart", **{"Spark Version": "4.0.0"}),
        ev("ApplicationStart", **{"App Name": "e", "App ID": "app-empty", "Timestamp": 0}),
        ev("ApplicationEnd", Timestamp=5000),
    ])
    events = list(_events(repo, "e", log, warn_after_s=0.0))
    assert _kinds(events) == ["RuleChosen", "Tick", "NoIterationYet", "Ended", "Followed"]
    nothing = events[2]
    assert isinstance(nothing, NoIterationYet) and nothing.rule.startswith("iterations: each")
    followed = events[-1]
    assert isinstance(followed, Followed) and followed.recorded is None
    assert followed.summary()["iterations_by"] == "jobs" and not len(followed.iterations)


def test_a_loop_inside_one_spark_job_is_a_warning_of_the_run(
    tmp_path: Path, repo: HistoryRepository
) -> None:
    *_, looped = _events(repo, "als", write(tmp_path / "app-als", als_log(loop=True)))
    assert isinstance(looped, Followed) and looped.recorded == "recorded"
    [warning] = looped.warnings
    assert "as MLlib's ALS does" in warning and looped.summary()["warnings"] == [warning]


def test_an_unknown_job_without_recording_is_refused(repo: HistoryRepository) -> None:
    with pytest.raises(InputError, match="unknown job 'nope': with --no-record"):
        follow_model(repo, "nope", record=False)


def test_a_log_not_there_yet_is_waited_for_up_to_the_timeout(
    tmp_path: Path, repo: HistoryRepository
) -> None:
    from jobcast.errors import ImportFormatError

    started = time.monotonic()
    with pytest.raises(ImportFormatError):
        list(_events(repo, "w", tmp_path / "not-yet", timeout_s=0.2))
    assert time.monotonic() - started >= 0.2
