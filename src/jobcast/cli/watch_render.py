"""What ``watch`` shows: its live line, and one estimate per finished iteration."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from jobcast.errors import JobcastError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import pandas as pd
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

__all__ = [
    "PLAUSIBLE_FACTOR",
    "STALE_AFTER_S",
    "ended_line",
    "iteration_estimates",
    "live",
    "log_written_at",
    "off",
    "render",
    "stale_reason",
]

#: An event log not written for this long while its application has not ended looks
#: abandoned (a driver that died leaves its ``.inprogress`` log behind, never growing).
STALE_AFTER_S = 600.0

#: An application running this many times longer than the longest run of the job's
#: history (and at least :data:`STALE_AFTER_S`) started implausibly long ago.
PLAUSIBLE_FACTOR = 10.0


@contextmanager
def live(screen: Console, waiting: str) -> Iterator[Live]:
    """The live display of ``watch``, its last line ended also outside a terminal."""
    from rich.live import Live
    from rich.text import Text

    try:
        with Live(
            Text(waiting),
            console=screen,
            refresh_per_second=4,
            transient=False,
            redirect_stdout=False,
        ) as display:
            yield display
    finally:
        # outside a terminal rich prints the display's last state without an end of line,
        # and the summary (or an error) would follow on the same line
        if not screen.is_terminal:
            screen.line()


def log_written_at(path: Path | None) -> datetime | None:
    """When the event log (a file, or a rolling log's folder) was last written; None: unknown."""
    if path is None or str(path) == "-":
        return None
    try:
        files = [path] if not path.is_dir() else [p for p in path.iterdir() if p.is_file()]
        stamps = [p.stat().st_mtime for p in files]
    except OSError:
        return None
    return datetime.fromtimestamp(max(stamps), UTC) if stamps else None


def stale_reason(
    app_start: datetime,
    now: datetime,
    *,
    written_at: datetime | None,
    longest_s: float | None,
) -> str | None:
    """Why a running application's log looks abandoned, or None when nothing says so.

    The log has not been written for :data:`STALE_AFTER_S`, or the application started
    more than :data:`PLAUSIBLE_FACTOR` times the history's longest run ago (and over
    :data:`STALE_AFTER_S`): both are what a driver that died long ago leaves behind.
    """
    reasons = []
    if written_at is not None and (now - written_at).total_seconds() > STALE_AFTER_S:
        reasons.append(
            f"its log was last written {_span((now - written_at).total_seconds())} ago "
            f"({written_at:%Y-%m-%d %H:%M} UTC)"
        )
    elapsed = (now - app_start).total_seconds()
    if longest_s is not None and elapsed > max(PLAUSIBLE_FACTOR * longest_s, STALE_AFTER_S):
        reasons.append(
            f"it started {_span(elapsed)} ago ({app_start:%Y-%m-%d %H:%M} UTC), over "
            f"{PLAUSIBLE_FACTOR:g} times the job's longest recorded run ({longest_s:.0f} s)"
        )
    return " and ".join(reasons) if reasons else None


def _span(seconds: float) -> str:
    """A duration in the largest fitting unit (``3.2 h``, ``1971 days``)."""
    for unit, size in (("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= 2 * size:
            digits = 0 if unit == "days" else 1
            return f"{seconds / size:.{digits}f} {unit}"
    return f"{seconds:.0f} s"


def off(finish_at: str, end: datetime) -> float:
    """Seconds between an estimate's ``finish_at`` (ISO 8601) and the actual end."""
    return abs((datetime.fromisoformat(finish_at) - end).total_seconds())


def ordered(current: pd.DataFrame) -> pd.DataFrame:
    """The iterations in the order they ran (by start when known)."""
    if "started_at" not in current.columns or current["started_at"].isna().any():
        return current.reset_index(drop=True)
    return current.sort_values("started_at", kind="stable").reset_index(drop=True)


def iteration_estimates(
    model: Any,
    current: pd.DataFrame,
    app_start: datetime,
    deadline: float | None,
    *,
    done_before: int,
    end: datetime | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """One estimate for each iteration finished beyond the first ``done_before``.

    Each is made with the iterations finished up to it, at the moment it finished (its
    ``finished_at``; ``now`` when unknown), never after the application's ``end``: several
    iterations arriving in one poll (or a finished log read at once) get one estimate
    each, as they would have live. An estimate the model cannot make is left out.

    Parameters
    ----------
    model
        The fitted wall-clock model (None: no estimates).
    current
        Every iteration seen so far, with the run's context attributes.
    app_start, deadline
        The application's start and the deadline in seconds after it (or None).
    done_before
        Iterations estimated already.
    end
        The application's end when it ended, else None.
    now
        The moment of the poll.

    Returns
    -------
    list of dict
        The JSON payloads (``--json`` lines), in the order of the iterations.
    """
    import pandas as pd

    if model is None or len(current) <= done_before:
        return []
    rows = ordered(current)
    if "finished_at" in rows.columns:
        moments = pd.to_datetime(rows["finished_at"], utc=True).cummax()
    else:
        moments = pd.Series(pd.NaT, index=rows.index, dtype="datetime64[ns, UTC]")
    out = []
    for k in range(done_before + 1, len(rows) + 1):
        at = moments.iloc[k - 1]
        moment = now if pd.isna(at) else at.to_pydatetime()
        if end is not None:
            moment = min(moment, end)
        try:
            est = model.predict(
                rows.iloc[:k], started_at=app_start, now=moment, deadline_s=deadline
            )
        except JobcastError:
            continue
        out.append(est.to_dict())
    return out


def ended_line(app_start: datetime, end: datetime, done: int) -> Text:
    """The live line once the application ended: no estimate any more."""
    from rich.text import Text

    elapsed = (end - app_start).total_seconds()
    return Text(f"iterations done: {done}   ended after {elapsed:.0f} s")


def render(
    model: Any, current: pd.DataFrame | None, app_start: datetime, deadline: float | None
) -> tuple[Text, dict[str, Any] | None]:
    """The live line of a running application, now, and its estimate (None: none)."""
    import pandas as pd
    from rich.text import Text

    now = datetime.now(UTC)
    elapsed = (now - app_start).total_seconds()
    done = 0 if current is None else len(current)
    if model is None:
        return Text(f"iterations done: {done}   elapsed: {elapsed:.0f} s   (no estimate)"), None
    frame = ordered(current) if current is not None else pd.DataFrame()
    try:
        est = model.predict(frame, started_at=app_start, now=now, deadline_s=deadline)
    except JobcastError as e:
        return Text(f"iterations done: {done}   elapsed: {elapsed:.0f} s   ({e})"), None
    width = 30
    filled = int(est.progress * width)
    bar = "█" * filled + "░" * (width - filled)
    lo, hi = est.interval_s
    risk = "" if est.deadline_risk is None else f"  deadline risk {est.deadline_risk:.0%}"
    text = Text(
        f"{bar} {est.progress:4.0%}  iterations: {done}  elapsed: {est.elapsed_s:.0f} s  "
        f"remaining: ~{est.remaining_s:.0f} s ({lo:.0f}-{hi:.0f})  "
        f"finish ≈ {est.finish_at:%H:%M:%S} UTC{risk}"
    )
    return text, est.to_dict()
