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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["LeftOut", "MIN_DURATION_S", "UsableHistory", "finished_prefix", "usable_history"]

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


def _fill_scale_out(frame: pd.DataFrame, run_scale_out: Mapping[str, float | None]) -> pd.Series:
    scale = pd.to_numeric(frame["scale_out"], errors="coerce").astype("float64")
    if not scale.isna().any():
        return scale
    by_run = frame["execution"].astype(str).map(
        {str(k): v for k, v in run_scale_out.items() if v is not None and v > 0}
    ).astype("float64")
    groups = scale.groupby(frame["execution"], sort=False)
    filled = groups.ffill().fillna(by_run)
    return filled.groupby(frame["execution"], sort=False).bfill()


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
    scale = _fill_scale_out(frame, run_scale_out or {})
    if scale.isna().all():
        scale = pd.Series(1.0, index=frame.index)
    duration = pd.to_numeric(frame["duration_s"], errors="coerce").astype("float64")
    frame["duration_s"] = duration.where(duration.isna(), duration.clip(lower=MIN_DURATION_S))
    frame["scale_out"] = scale
    index = pd.to_numeric(frame["iteration"], errors="coerce").to_numpy(dtype=np.float64)
    codes, executions = pd.factorize(frame["execution"], sort=False)
    dur, sc = frame["duration_s"].to_numpy(dtype=np.float64), scale.to_numpy(dtype=np.float64)
    # rows in execution order, iterations ascending: each one's rank within its execution
    order = np.lexsort((index, codes))
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
    run_scale_out: Mapping[str, float | None] | None = None,
    *,
    default_scale_out: float | None = None,
) -> pd.DataFrame:
    """A running execution's finished iterations 0, 1, 2, ... up to its first hole.

    Scale-outs and durations are filled in as in :func:`usable_history`, iterations
    without any scale-out get ``default_scale_out`` (None: they end the prefix, pass 1
    when the job's history records none); the iteration that is still running (no
    duration yet) and whatever follows a hole are dropped.
    """
    if current.empty:
        return current
    frame = current.sort_values("iteration", kind="stable").copy()
    scale = _fill_scale_out(frame, run_scale_out or {})
    frame["scale_out"] = scale if default_scale_out is None else scale.fillna(default_scale_out)
    duration = pd.to_numeric(frame["duration_s"], errors="coerce").astype("float64")
    frame["duration_s"] = duration.clip(lower=MIN_DURATION_S)
    index = pd.to_numeric(frame["iteration"], errors="coerce").to_numpy(dtype=np.float64)
    ok = (index == np.arange(len(frame))) & duration.notna().to_numpy()
    ok &= frame["scale_out"].notna().to_numpy()
    stop = int(np.argmin(ok)) if not ok.all() else len(frame)
    out = frame.iloc[:stop]
    return out.assign(scale_out=out["scale_out"].round().astype("int64")).reset_index(drop=True)
