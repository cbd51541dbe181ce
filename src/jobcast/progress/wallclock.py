"""Wall-clock time of a run beyond its iterations: the gaps between them and the tail after.

Drivers pause between Spark jobs (collecting results, writing checkpoints, Python
code) and run on after the last iteration, so the remaining *wall-clock* time of a
run is more than the remaining iteration time. Per history execution this module
reads, from its run and iteration start/end times, how many wall-clock seconds
passed per second of iteration time from any iteration on (``gap``) and how long
the run went on after its last iteration (``tail``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "PACE_MARGIN",
    "PACE_WORDS",
    "WallClockHistory",
    "pace_warning",
    "wall_clock_history",
    "with_end",
]

# A run whose iterations overlap (concurrent jobs) may spend less wall-clock time than
# iteration time; a run that mostly waits may spend far more. Outside these bounds the
# timestamps are more likely wrong than the run.
_GAP_BOUNDS = (0.5, 20.0)

#: How far outside the history's range (a factor beyond its slowest or fastest run at the
#: same iteration) a run's pace must lie to be warned about: the history's own spread
#: already widens the interval; a factor of 1.5 beyond its extremes does not come from it.
PACE_MARGIN = 1.5

#: Words every pace warning holds (:func:`pace_warning`), whatever its figures: ``watch``
#: says it once, not at each iteration whose figures differ.
PACE_WORDS = "than every earlier run so far"


def _seconds(values: pd.Series, origin: pd.Timestamp) -> np.ndarray:
    stamps = pd.to_datetime(values, utc=True, errors="coerce")
    return np.asarray((stamps - origin).dt.total_seconds(), dtype=np.float64)


@dataclass(frozen=True, eq=False)
class WallClockHistory:
    """Per history execution: iteration runtimes, iteration end offsets and run length.

    Attributes
    ----------
    durations
        Execution -> iteration runtimes in order (seconds).
    finish
        Execution -> seconds from the run's start to each iteration's end (NaN where
        unknown), or None without iteration timestamps.
    length
        Execution -> wall-clock length of the run (seconds), NaN when unknown.
    """

    durations: dict[Any, np.ndarray]
    finish: dict[Any, np.ndarray | None]
    length: dict[Any, float]

    def gap_and_tail(self, execution: Any, done: int) -> tuple[float, float] | None:
        """Wall-clock seconds per iteration second from iteration ``done`` on, and the tail.

        Returns None when the execution's wall-clock length is unknown.
        """
        d = self.durations.get(execution)
        length = self.length.get(execution, float("nan"))
        if d is None or not np.isfinite(length) or d.sum() <= 0:
            return None
        finish = self.finish.get(execution)
        ahead = float(d[done:].sum())
        if (
            finish is not None
            and np.isfinite(finish[-1])
            and (done == 0 or np.isfinite(finish[min(done, len(finish)) - 1]))
        ):
            tail = max(length - float(finish[-1]), 0.0)
            before = 0.0 if done == 0 else float(finish[min(done, len(finish)) - 1])
            span = float(finish[-1]) - before
            gap = span / ahead if ahead > 0 else 1.0
        else:
            tail = 0.0
            gap = length / float(d.sum())
        low, high = _GAP_BOUNDS
        return min(max(float(gap), low), high), tail

    def combined(
        self, executions: list[Any], weights: np.ndarray, done: int
    ) -> tuple[float, float]:
        """Weighted ``(gap, tail)`` of the given executions; ``(1, 0)`` when none is known."""
        pairs, w = [], []
        weights = np.asarray(weights, dtype=np.float64)
        # runs without weight change nothing unless no run has any (then all count alike)
        skip_unweighted = bool((weights > 0).any())
        for e, weight in zip(executions, weights, strict=True):
            if skip_unweighted and not weight > 0:
                continue
            got = self.gap_and_tail(e, done)
            if got is not None:
                pairs.append(got)
                w.append(weight)
        if not pairs:
            return 1.0, 0.0
        arr = np.asarray(pairs)
        ws = np.asarray(w)
        ws = ws / ws.sum() if ws.sum() > 0 else np.full(len(ws), 1.0 / len(ws))
        return float(arr[:, 0] @ ws), float(arr[:, 1] @ ws)

    def elapsed_at(self, done: int, *, wall: bool = True) -> tuple[np.ndarray, bool]:
        """How long each run that ran ``done`` iterations had taken by their end.

        Wall-clock seconds from the run's start to the end of iteration ``done`` where
        ``wall`` and at least two runs have them (then ``True`` is returned with them),
        else the iteration time of the first ``done`` iterations (``False``).
        """
        if wall:
            ends = [
                float(f[done - 1])
                for e, f in self.finish.items()
                if f is not None and len(f) >= done and len(self.durations.get(e, ())) >= done
            ]
            offsets = np.array([t for t in ends if np.isfinite(t)], dtype=np.float64)
            if offsets.size >= 2:
                return offsets, True
        sums = [float(d[:done].sum()) for d in self.durations.values() if len(d) >= done]
        return np.array(sums, dtype=np.float64), False

    def next_share(self, executions: list[Any], weights: np.ndarray, done: int) -> float:
        """Weighted share of the remaining iteration time that iteration ``done`` took.

        Over the given executions that ran past ``done``; 1 when none did (then nothing is
        known to follow the iteration in progress).
        """
        shares, w = [], []
        for e, weight in zip(executions, np.asarray(weights, dtype=np.float64), strict=True):
            d = self.durations.get(e)
            if d is None or len(d) <= done or not d[done:].sum() > 0:
                continue
            shares.append(float(d[done] / d[done:].sum()))
            w.append(max(float(weight), 0.0))
        if not shares:
            return 1.0
        ws = np.asarray(w)
        return float(np.average(shares, weights=ws) if ws.sum() > 0 else np.mean(shares))


def wall_clock_history(iterations: pd.DataFrame, executions: pd.DataFrame) -> WallClockHistory:
    """Read the wall-clock structure of a history.

    Parameters
    ----------
    iterations
        Iteration frame (``execution, iteration, duration_s`` and optional
        ``finished_at``).
    executions
        Execution frame (``external_id`` or ``execution_id``, ``started_at``,
        ``finished_at``, ``gross_runtime``) as the repository returns it.

    Returns
    -------
    WallClockHistory
    """
    runs: dict[Any, tuple[pd.Timestamp | None, float]] = {}
    keys = executions["external_id"].where(
        executions["external_id"].notna(), executions["execution_id"].astype(str)
    )
    starts = pd.to_datetime(executions["started_at"], utc=True, errors="coerce")
    ends = pd.to_datetime(executions["finished_at"], utc=True, errors="coerce")
    spans = (ends - starts).dt.total_seconds().to_numpy(dtype=np.float64)
    gross = pd.to_numeric(executions["gross_runtime"], errors="coerce").to_numpy(np.float64)
    for key, begin, span, g in zip(keys.tolist(), starts.tolist(), spans, gross, strict=True):
        run_length = float(span) if np.isfinite(span) and span > 0 else float(g)
        runs[key] = (begin if pd.notna(begin) else None, run_length)
    durations: dict[Any, np.ndarray] = {}
    finish: dict[Any, np.ndarray | None] = {}
    length: dict[Any, float] = {}
    for key, group in iterations.sort_values(["execution", "iteration"]).groupby(
        "execution", sort=False
    ):
        durations[key] = group["duration_s"].to_numpy(dtype=np.float64)
        origin, run_length = runs.get(key, (None, float("nan")))
        length[key] = run_length
        finish[key] = None
        if origin is not None and "finished_at" in group.columns:
            offsets = _seconds(group["finished_at"], origin)
            if np.isfinite(offsets).any():
                finish[key] = offsets
    return WallClockHistory(durations=durations, finish=finish, length=length)


def pace_warning(
    history: WallClockHistory, done: int, own_wall: float | None, own_busy: float
) -> str | None:
    """A warning where a run is far slower or faster than every earlier run so far.

    Its first ``done`` iterations took longer (shorter) than any earlier run's by
    :data:`PACE_MARGIN` beyond the history's range.

    ``own_wall`` is the wall-clock time from the run's start to the end of iteration
    ``done`` (None: unknown, then iteration time ``own_busy`` is compared); None where
    fewer than two earlier runs got that far.
    """
    if done <= 0:
        return None
    runs, wall = history.elapsed_at(done, wall=own_wall is not None)
    own = own_wall if wall and own_wall is not None else own_busy
    if runs.size < 2 or not own > 0:
        return None
    low, high = float(runs.min()), float(runs.max())
    if low <= own * PACE_MARGIN and own <= high * PACE_MARGIN:
        return None
    what = "elapsed" if wall else "of iteration time"
    pace = "slower" if own > high else "faster"
    return (
        f"the run is {pace} {PACE_WORDS}: {own:.1f} s {what} to the end of "
        f"iteration {done}, the {runs.size} earlier runs took {low:.1f}-{high:.1f} s; the "
        "estimate extrapolates from them and may be far off"
    )


def with_end(
    ended: tuple[float, float, float],
    since: float,
    remaining: float,
    interval: tuple[float, float],
    level: float,
) -> tuple[float, tuple[float, float]]:
    """The ETA as a mixture: the run ends now (with ``ended``'s share) or goes on.

    ``ended`` is ``(share, tail, longest tail)`` of the similar runs that ended after
    the iteration just done (``WallClockEstimator._ended_here``); the point is the
    mixture's mean, the interval reaches down to the ended runs' end (or up to where the longer
    runs end) only where that branch holds more than the interval's tail share.
    """
    share, tail, longest = ended
    end_now = max(tail - since, 0.0)
    end_high = max(longest - since, end_now)
    point = share * end_now + (1.0 - share) * remaining
    outside = (1.0 - level) / 2.0
    low = min(interval[0], end_now) if share > outside else interval[0]
    high = interval[1] if 1.0 - share > outside else min(interval[1], end_high)
    low, high = min(low, point), max(high, point)
    return point, (low, high)
