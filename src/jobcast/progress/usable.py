"""Which recorded executions progress estimation can learn from, as they were stored.

A history recorded live (the collector, ``watch``, a job's own reports) can hold what a
file import refuses: iterations reported without a scale-out (the run's own then
applies), an iteration whose end was never recorded, an index that was never reported,
a duration of 0 s (a start and an end within the clock's resolution). One such execution
used to make every training and evaluation of its job fail. :func:`usable_history`
applies the rules below and says which executions it left out and why, so that the rest
of the history still serves:

* an iteration without a scale-out ran with the one before it in the same execution,
  else with the execution's recorded scale-out, else with the next iteration's; when no
  execution of the job records any scale-out, all count as 1 (it then plays no part);
* a duration of 0 s or less than :data:`MIN_DURATION_S` counts as that minimum;
* an execution is left out when an iteration has no duration (it never finished), its
  iterations do not run 0, 1, 2, ... without gaps, or it has no scale-out while others do.

A running execution is cut instead (:func:`finished_prefix`, and on arrays
:func:`filled_scale_out` with :func:`prefix_length` for the service's one-query read): its
iterations count up to the first one that has not finished or was not reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "LeftOut",
    "MIN_DURATION_S",
    "UsableHistory",
    "filled_scale_out",
    "finished_prefix",
    "prefix_length",
    "usable_history",
]

#: Shortest iteration duration (s): event logs and the collector's clocks count milliseconds.
MIN_DURATION_S = 1e-3

#: Executions named in :meth:`UsableHistory.note` (the rest are counted).
_NAMED = 3


@dataclass(frozen=True)
class LeftOut:
    """An execution :func:`usable_history` left out, and why."""

    execution: str
    reason: str


@dataclass(frozen=True, eq=False)
class UsableHistory:
    """The usable executions' iterations and the executions left out.

    Attributes
    ----------
    iterations
        The iteration frame of the usable executions (scale-outs filled in, durations at
        least :data:`MIN_DURATION_S`), in the input's order.
    left_out
        The executions left out, in the input's order.
    """

    iterations: pd.DataFrame
    left_out: tuple[LeftOut, ...] = ()

    def note(self) -> str | None:
        """One sentence naming what was left out (None when nothing was)."""
        if not self.left_out:
            return None
        named = "; ".join(f"{x.execution!r} ({x.reason})" for x in self.left_out[:_NAMED])
        more = len(self.left_out) - _NAMED
        rest = f"; and {more} more" if more > 0 else ""
        return (
            f"left out {len(self.left_out)} recorded execution(s) whose iterations are "
            f"incomplete: {named}{rest}"
        )


def filled_scale_out(
    scale: np.ndarray, run: float | np.ndarray | None = None, groups: np.ndarray | None = None
) -> np.ndarray:
    """Scale-outs with the gaps filled, NaN where none is known.

    From the iteration before, else the run's, else the iteration after (in the same
    execution).

    Parameters
    ----------
    scale
        Scale-out per row (NaN: not reported), rows in iteration order within each
        execution.
    run
        The run's recorded scale-out (NaN or None: unknown), per row or for all rows.
    groups
        Execution code per row, each execution's rows contiguous (None: one execution).
    """
    scale = np.asarray(scale, dtype=np.float64)
    n = len(scale)
    if n == 0 or not np.isnan(scale).any():
        return scale
    pos = np.arange(n)
    if groups is None:
        first, last = np.zeros(n, dtype=np.int64), np.full(n, n - 1)
    else:
        starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
        sizes = np.diff(np.r_[starts, n])
        first = np.repeat(starts, sizes)
        last = np.repeat(starts + sizes - 1, sizes)
    known = ~np.isnan(scale)
    before = np.maximum.accumulate(np.where(known, pos, -1))
    after = np.minimum.accumulate(np.where(known, pos, n)[::-1])[::-1]
    runs = np.full(n, np.nan) if run is None else np.broadcast_to(
        np.asarray(run, dtype=np.float64), (n,)
    )
    runs = np.where(runs > 0, runs, np.nan)
    out = np.where(before >= first, scale[np.clip(before, 0, n - 1)], np.nan)
    out = np.where(np.isnan(out), runs, out)
    later = np.where(after <= last, scale[np.clip(after, 0, n - 1)], np.nan)
    return np.where(np.isnan(out), later, out)


def prefix_length(index: np.ndarray, duration: np.ndarray, scale: np.ndarray) -> int:
    """How many rows, in iteration order, run 0, 1, 2, ... finished and with a scale-out."""
    ok = (np.asarray(index, dtype=np.float64) == np.arange(len(index)))
    ok &= ~np.isnan(duration) & ~np.isnan(scale)
    return int(len(ok) if ok.all() else np.argmin(ok))


def _problem(iterations: np.ndarray, durations: np.ndarray, scale: np.ndarray) -> str | None:
    order = np.argsort(iterations, kind="stable")
    idx = iterations[order]
    if len(idx) and (idx[0] != 0 or np.any(np.diff(idx) != 1)):
        expected = np.arange(len(idx))
        first = int(np.flatnonzero(idx != expected)[0])
        return f"iteration {first} was never recorded"
    unfinished = np.flatnonzero(np.isnan(durations[order]))
    if unfinished.size:
        return f"iteration {int(idx[unfinished[0]])} has no duration: its end was not recorded"
    if np.isnan(scale).any():
        return "no scale-out recorded for it or its iterations"
    return None


def usable_history(
    iterations: pd.DataFrame, run_scale_out: Mapping[str, float | None] | None = None
) -> UsableHistory:
    """The executions of ``iterations`` that progress estimation can use.

    Parameters
    ----------
    iterations
        Iteration frame of finished executions (``execution, iteration, duration_s,
        scale_out``, more columns kept), as the history stores it.
    run_scale_out
        Each execution's recorded scale-out by execution id (for iterations without one).

    Returns
    -------
    UsableHistory
        The usable executions and those left out (see the module's rules).
    """
    if iterations.empty:
        return UsableHistory(iterations)
    frame = iterations.copy()
    index = pd.to_numeric(frame["iteration"], errors="coerce").to_numpy(dtype=np.float64)
    codes, executions = pd.factorize(frame["execution"], sort=False)
    raw = pd.to_numeric(frame["scale_out"], errors="coerce").to_numpy(dtype=np.float64)
    runs = {str(k): v for k, v in (run_scale_out or {}).items() if v is not None}
    run = np.array([runs.get(str(e), np.nan) for e in executions], dtype=np.float64)[codes]
    # rows in execution order, iterations ascending: each one's rank within its execution
    order = np.lexsort((index, codes))
    sc = np.empty(len(frame))
    sc[order] = filled_scale_out(raw[order], run[order], groups=codes[order])
    if np.isnan(sc).all():
        sc[:] = 1.0
    duration = pd.to_numeric(frame["duration_s"], errors="coerce").to_numpy(dtype=np.float64)
    dur = np.maximum(duration, MIN_DURATION_S)  # NaN (never finished) stays NaN
    frame["duration_s"], frame["scale_out"] = dur, sc
    starts = np.r_[0, np.flatnonzero(np.diff(codes[order])) + 1]
    sizes = np.diff(np.r_[starts, len(order)])
    rank = np.arange(len(order)) - np.repeat(starts, sizes)
    flawed = (index[order] != rank) | np.isnan(dur[order]) | np.isnan(sc[order])
    bad_codes = np.unique(codes[order][flawed])
    left: list[LeftOut] = []
    for code in bad_codes:  # few: only the flawed executions are looked at one by one
        rows = np.flatnonzero(codes == code)
        reason = _problem(index[rows], dur[rows], sc[rows])
        left.append(LeftOut(str(executions[code]), reason or "incomplete iterations"))
    keep = ~np.isin(codes, bad_codes)
    usable = frame[keep]
    if len(usable):
        usable = usable.assign(scale_out=usable["scale_out"].round().astype("int64"))
    return UsableHistory(usable, tuple(left))


def finished_prefix(
    current: pd.DataFrame,
    run_scale_out: float | None = None,
    *,
    default_scale_out: float | None = None,
) -> pd.DataFrame:
    """A running execution's finished iterations 0, 1, 2, ... up to its first hole.

    Scale-outs and durations are filled in as in :func:`usable_history` (``run_scale_out``:
    the run's recorded one), iterations without any scale-out get ``default_scale_out``
    (None: they end the prefix); the iteration that is still running (no duration yet)
    and whatever follows a hole are dropped.
    """
    if current.empty:
        return current
    frame = current.sort_values("iteration", kind="stable")
    scale = filled_scale_out(
        pd.to_numeric(frame["scale_out"], errors="coerce").to_numpy(dtype=np.float64),
        run_scale_out,
    )
    if default_scale_out is not None:
        scale = np.where(np.isnan(scale), default_scale_out, scale)
    duration = pd.to_numeric(frame["duration_s"], errors="coerce").to_numpy(dtype=np.float64)
    index = pd.to_numeric(frame["iteration"], errors="coerce").to_numpy(dtype=np.float64)
    n = prefix_length(index, duration, scale)
    return frame.iloc[:n].assign(
        duration_s=np.maximum(duration[:n], MIN_DURATION_S),
        scale_out=np.round(scale[:n]).astype(np.int64),
    ).reset_index(drop=True)
