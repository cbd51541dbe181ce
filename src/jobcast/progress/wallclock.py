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

__all__ = ["WallClockHistory", "wall_clock_history"]

# A run whose iterations overlap (concurrent jobs) may spend less wall-clock time than
# iteration time; a run that mostly waits may spend far more. Outside these bounds the
# timestamps are more likely wrong than the run.
_GAP_BOUNDS = (0.5, 20.0)


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
