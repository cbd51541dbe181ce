"""Following a live Spark application (``jobcast watch``): what it shows, then its record."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from jobcast.app.followed_run import (
    app_ended,
    app_run,
    app_started_at,
    hidden_loop,
    iteration_estimates,
    iteration_rule,
    live_estimate,
    log_written_at,
    longest_run,
    poll_new,
    record_run,
    seen_late,
    stale_reason,
)
from jobcast.errors import (
    InputError,
    NotEnoughDataError,
    UnknownJobError,
)
from jobcast.progress.wallclock import PACE_WORDS

if TYPE_CHECKING:  # pragma: no cover - typing only
    from jobcast.history import HistoryRepository
    from jobcast.progress.eta import WallClockEstimate

__all__ = [
    "Abandoned",
    "Ended",
    "Estimated",
    "FollowEvent",
    "Followed",
    "NoEstimate",
    "NoIterationYet",
    "RuleChosen",
    "Tick",
    "Warned",
    "follow",
    "follow_model",
]


@dataclass(frozen=True)
class NoEstimate:
    """Why the run is followed without estimates (see :func:`follow_model`).

    Attributes
    ----------
    reason
        The error that says why.
    new_job
        True when the job has no history yet: its run will be its first execution.
    """

    reason: str
    new_job: bool = False


@dataclass(frozen=True)
class RuleChosen:
    """How iterations are found, said when it is first known and each time it changes."""

    text: str


@dataclass(frozen=True)
class Estimated:
    """The estimate made when an iteration finished: its JSON form (``watch --json``)."""

    estimate: dict[str, Any]


@dataclass(frozen=True)
class Tick:
    """What the live line shows at one poll once the application started.

    Attributes
    ----------
    done
        Iterations finished so far.
    started_at
        The application's start.
    now
        The moment of the tick (the application's end once it ended).
    estimate
        The estimate now (None: none, see ``problem``).
    problem
        Why the model could make no estimate (None: it made one, or there is no model).
    ended_at
        The application's end once it ended (then no estimate), else None.
    """

    done: int
    started_at: datetime
    now: datetime
    estimate: WallClockEstimate | None = None
    problem: str | None = None
    ended_at: datetime | None = None


@dataclass(frozen=True)
class Warned:
    """A warning of an estimate, once (a pace warning once per direction)."""

    text: str


@dataclass(frozen=True)
class Abandoned:
    """The running application's log looks abandoned, and why (said once)."""

    reason: str


@dataclass(frozen=True)
class NoIterationYet:
    """No iteration was seen after ``waited_s`` seconds; ``rule`` says how they are found."""

    waited_s: float
    rule: str


@dataclass(frozen=True)
class Ended:
    """The application ended: no more ticks; the run is recorded next."""


@dataclass(frozen=True, eq=False)
class Followed:
    """The followed run once it ended, and whether it was recorded (the last event).

    Attributes
    ----------
    execution, actual_s, finished_at
        The application's id, runtime in seconds and end (UTC).
    estimates
        The estimates made when its iterations finished (their JSON forms).
    iterations_by
        What formed its iterations (``jobs``, ``job-groups``, ...).
    recorded
        ``"recorded"``, ``"completed"`` (it was held as running), ``"already"`` or
        None (nothing stored).
    warnings
        What makes its iterations doubtful (a loop inside one Spark job).
    iterations
        Its iterations, in the order they were seen.
    """

    execution: str
    actual_s: float
    finished_at: datetime
    estimates: tuple[dict[str, Any], ...]
    iterations_by: str
    recorded: str | None
    warnings: tuple[str, ...]
    iterations: pd.DataFrame

    def summary(self) -> dict[str, Any]:
        """The final line of ``watch --json``."""
        return {
            "execution": self.execution,
            "actual_s": self.actual_s,
            "estimates": len(self.estimates),
            "iterations_by": self.iterations_by,
            "recorded": self.recorded,
            "warnings": list(self.warnings),
        }


FollowEvent = RuleChosen | Estimated | Tick | Warned | Abandoned | NoIterationYet | Ended | Followed


def follow_model(
    repo: HistoryRepository, job: str, *, record: bool = True
) -> tuple[Any, NoEstimate | None]:
    """The wall-clock model to follow a run of ``job`` with, or None and why there is none.

    Parameters
    ----------
    repo
        The history.
    job
        The job of the run.
    record
        Whether the run will be recorded: a job without history is then followed (its
        run becomes its first execution).

    Returns
    -------
    tuple
        The fitted :class:`~jobcast.progress.eta.WallClockEstimator` and None, or None
        and the :class:`NoEstimate` saying why.

    Raises
    ------
    jobcast.errors.InputError
        When the job is unknown and ``record`` is False (nothing to estimate or record).
    """
    from jobcast.app.progress import fit_wall_clock

    try:
        return fit_wall_clock(repo, job), None
    except UnknownJobError as e:
        if not record:
            raise InputError(
                f"unknown job {job!r}: with --no-record there is no history to estimate "
                "from and nothing is recorded; `jobcast jobs` lists the known jobs"
            ) from e
        return None, NoEstimate(str(e), new_job=True)
    except NotEnoughDataError as e:
        return None, NoEstimate(str(e))


def follow(
    repo: HistoryRepository,
    job: str,
    follower: Any,
    *,
    model: Any,
    source: str,
    given: Mapping[str, Any] | None = None,
    eventlog: Path | None = None,
    deadline_s: float | None = None,
    interval_s: float = 1.0,
    timeout_s: float | None = None,
    warn_after_s: float = 60.0,
    record: bool = True,
    iterations: str = "auto",
) -> Iterator[FollowEvent]:
    """Follow a live application until it ends, then record its run: what to show, as events.

    Polls ``follower`` every ``interval_s`` seconds. Each iteration finished is estimated
    at the moment it finished (with the iterations up to it; never after the
    application's end), each poll after the start gives a :class:`Tick`, and the end an
    :class:`Ended`; then the run is recorded and the last event is a :class:`Followed`.
    What the history holds is read when this is called, the rest as the events are
    taken.

    Parameters
    ----------
    repo
        The history (the job's longest run; where the run is recorded).
    job
        The job of the run.
    follower
        A :class:`~jobcast.collect.EventLogFollower` or
        :class:`~jobcast.collect.SparkRestFollower`.
    model
        The wall-clock model (see :func:`follow_model`; None: no estimates).
    source
        The UI's URL or the log's path, as the run's source.
    given
        Context attributes of the run, over those it carries in its Spark settings.
    eventlog
        The event log being followed, to see whether it is still written (None: a UI).
    deadline_s
        Seconds after the start: the estimates give the risk of missing it.
    interval_s
        Seconds between polls.
    timeout_s
        Give up after this many seconds, also how long to wait for the UI or the log to
        appear (None: no limit, and 300 s for them to appear).
    warn_after_s
        Say when no iteration was seen after this many seconds.
    record
        Store the run when it ends.
    iterations
        The ``--iterations`` asked for, as the summary's ``iterations_by`` when the
        follower has no rule.

    Returns
    -------
    Iterator of FollowEvent
        :class:`RuleChosen`, :class:`Estimated`, :class:`Tick`, :class:`Warned`,
        :class:`Abandoned`, :class:`NoIterationYet` in the order they happen, then
        :class:`Ended` and, once the run is recorded, :class:`Followed`.

    Raises
    ------
    jobcast.errors.InputError
        When the application did not end within ``timeout_s`` (saying whether its log
        looks abandoned), or when the run cannot be stored.
    jobcast.collect.SparkRestError, jobcast.errors.ImportFormatError
        When the UI or the log is not there after the start or the waiting time.

    Examples
    --------
    >>> model, why = follow_model(repo, "kmeans")  # doctest: +SKIP
    >>> for event in follow(repo, "kmeans", EventLogFollower(log), model=model,
    ...                     source=str(log), eventlog=log):  # doctest: +SKIP
    ...     if isinstance(event, Followed):
    ...         print(event.summary())
    """
    # read before the first event: a display opened for the events then shows none of it
    longest = longest_run(repo, job)
    setup = _Setup(
        model=model,
        source=source,
        given=dict(given or {}),
        eventlog=eventlog,
        deadline_s=deadline_s,
        interval_s=interval_s,
        timeout_s=timeout_s,
        warn_after_s=warn_after_s,
        record=record,
        iterations=iterations,
        longest=longest,
        started=time.monotonic(),
    )
    return _events(repo, job, follower, setup)

@dataclass(frozen=True)
class _Setup:
    """What :func:`follow` was asked (see its parameters), the longest run and the start."""

    model: Any
    source: str
    given: dict[str, Any]
    eventlog: Path | None
    deadline_s: float | None
    interval_s: float
    timeout_s: float | None
    warn_after_s: float
    record: bool
    iterations: str
    longest: float | None  # the job's longest run so far (s), to tell an abandoned log
    started: float  # time.monotonic() when following began


def _events(
    repo: HistoryRepository, job: str, follower: Any, setup: _Setup
) -> Iterator[FollowEvent]:
    model, source, given, deadline_s = setup.model, setup.source, setup.given, setup.deadline_s
    context = dict(given)
    len_estimated = 0
    stale: str | None = None
    seen: list[pd.DataFrame] = []
    estimates: list[dict[str, Any]] = []
    warned = False
    warned_of: set[str] = set()
    rule = iteration_rule(follower)
    told = ""
    lag = 0.0

    def once(payloads: Iterable[dict[str, Any]]) -> Iterator[Warned]:
        for w in (w for p in payloads for w in p.get("warnings", ())):
            # a pace warning once per direction, not again with each iteration's figures
            key = w.split(":")[0] if PACE_WORDS in w else w
            if key not in warned_of:
                yield Warned(w)
            warned_of.add(key)

    while True:
        waited = time.monotonic() - setup.started
        new = poll_new(follower, source, waited, setup.timeout_s)
        if new is not None and len(new):
            seen.append(new)
            # the largest delay seen, so an iteration is not called late for it
            lag = max(lag, seen_late(new, datetime.now(UTC)))
        rule = iteration_rule(follower)
        if rule is not None and rule.describe() != told and (seen or new is not None):
            told = rule.describe()
            yield RuleChosen(told)
        # the run's own attributes (`workloads run` puts them in its Spark settings)
        # unless given
        context = {**getattr(follower, "context", {}), **given}
        current = pd.concat(seen, ignore_index=True).assign(**context) if seen else None
        app_start = app_started_at(follower)
        ended = new is not None and app_ended(follower)
        if app_start is not None:
            end = app_run(follower).finished_at if ended else None
            done = 0 if current is None else len(current)
            made = iteration_estimates(
                model,
                current if current is not None else pd.DataFrame(),
                app_start,
                deadline_s,
                done_before=len_estimated,
                end=end,
                now=datetime.now(UTC),
            )
            len_estimated = done
            yield from once(made)
            for one in made:
                estimates.append(one)
                yield Estimated(one)
            if end is not None:  # no estimate after the application's end
                yield Tick(done=done, started_at=app_start, now=end, ended_at=end)
            else:
                now = datetime.now(UTC)
                estimate, problem = live_estimate(
                    model, current, app_start, deadline_s, now=now, lag_s=lag
                )
                yield Tick(
                    done=done, started_at=app_start, now=now, estimate=estimate, problem=problem
                )
                yield from once([estimate.to_dict()] if estimate is not None else [])
        if app_start is not None and not ended and stale is None:
            stale = stale_reason(
                app_start,
                datetime.now(UTC),
                written_at=log_written_at(setup.eventlog),
                longest_s=setup.longest,
            )
            if stale is not None:  # said once; the timeout's error repeats it
                yield Abandoned(stale)
        if not seen and not warned and waited > setup.warn_after_s and app_start is not None:
            warned = True
            yield NoIterationYet(waited, told)
        if ended:
            break
        if setup.timeout_s is not None and waited > setup.timeout_s:
            raise InputError(_timeout_reason(setup.timeout_s, stale))
        time.sleep(setup.interval_s)
    yield Ended()
    yield _recorded(repo, job, follower, setup, seen, context, estimates, rule)


def _recorded(
    repo: HistoryRepository,
    job: str,
    follower: Any,
    setup: _Setup,
    seen: list[pd.DataFrame],
    context: dict[str, Any],
    estimates: list[dict[str, Any]],
    rule: Any,
) -> Followed:
    """Record the ended run (unless ``--no-record``): the last event of :func:`follow`."""
    run = app_run(follower)
    everything = pd.concat(seen, ignore_index=True) if seen else pd.DataFrame()
    # a log's origin is its absolute path, as `import eventlog` records it (the file
    # the follower found: Spark renames the .inprogress log at the end)
    origin = (
        setup.source
        if setup.eventlog is None
        else os.path.abspath(getattr(follower, "path", setup.source))
    )
    stored = (
        record_run(repo, job, run, everything, source=origin, context=context)
        if setup.record
        else None
    )
    # as `import eventlog` warns: a loop inside one Spark job (MLlib's ALS) hides its iterations
    loop = hidden_loop(everything)
    return Followed(
        execution=run.app_id,
        actual_s=run.gross_runtime_s,
        finished_at=run.finished_at,
        estimates=tuple(estimates),
        iterations_by=rule.used if rule is not None else setup.iterations,
        recorded=stored,
        warnings=() if loop is None else (loop,),
        iterations=everything,
    )

def _timeout_reason(timeout: float, stale: str | None) -> str:
    """Why following gave up: the timeout, and whether the log looked abandoned."""
    if stale is not None:
        return (
            f"the application did not end within --timeout {timeout:g} s, and its log looks "
            f"abandoned: {stale}; its driver probably stopped without ending the log, so "
            "nothing was recorded"
        )
    return (
        f"the application did not end within --timeout {timeout:g} s (it was still running; "
        "nothing was recorded): watch with a longer --timeout, or without one"
    )
