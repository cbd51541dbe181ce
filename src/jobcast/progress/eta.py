"""Wall-clock ETA of a running execution: remaining time, finish time, interval, deadline risk."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from jobcast.errors import InputError, JobcastError, NotEnoughDataError
from jobcast.progress.estimator import ProgressEstimator
from jobcast.progress.eta_calibration import calibrate_interval
from jobcast.progress.interval import log_spread, miss_probability
from jobcast.progress.parameters import ProgressParameters
from jobcast.progress.wallclock import WallClockHistory, pace_warning, wall_clock_history, with_end

__all__ = ["WallClockEstimate", "WallClockEstimator"]

logger = logging.getLogger(__name__)

# Pseudo-count of the history's gap ratio against the running execution's own so far:
# after 3 observed gaps the run's own pauses count as much as the history's.
_GAP_PRIOR = 3.0


@dataclass(frozen=True)
class WallClockEstimate:
    """A running execution's wall-clock ETA at one moment.

    Attributes
    ----------
    iterations_done
        Finished iterations.
    elapsed_s
        Wall-clock seconds since the run started.
    remaining_s
        Estimated wall-clock seconds until the run ends.
    finish_at
        ``now + remaining_s``.
    interval_s
        Central prediction interval of ``remaining_s`` (``level``, 80 % by default).
    progress
        ``elapsed / (elapsed + remaining)`` in [0, 1].
    deadline_risk
        Probability of ending after the deadline (None without one).
    similar
        The most similar earlier executions, most similar first.
    basis
        ``"iterations"`` (matched iteration by iteration) or ``"history"`` (no
        iteration yet or nothing to match: the history's run lengths).
    warnings
        What makes this estimate less trustworthy than its interval says (a
        scale-out far outside the history's, a pace far outside the history's runs',
        an iteration overrunning).
    """

    iterations_done: int
    elapsed_s: float
    remaining_s: float
    finish_at: datetime
    interval_s: tuple[float, float]
    progress: float
    deadline_risk: float | None
    similar: tuple[str, ...]
    basis: str = "iterations"
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``watch --json``; the service's ETA adds job and execution)."""
        return {
            "iterations_done": self.iterations_done,
            "elapsed_s": self.elapsed_s,
            "remaining_s": self.remaining_s,
            "finish_at": self.finish_at.isoformat(),
            "interval_s": list(self.interval_s),
            "progress": self.progress,
            "deadline_risk": self.deadline_risk,
            "similar": list(self.similar),
            "basis": self.basis,
            "warnings": list(self.warnings),
        }

    def __post_init__(self) -> None:
        lo, hi = self.interval_s
        if not 0.0 <= self.progress <= 1.0:
            raise InputError(f"progress must lie in [0, 1], got {self.progress}.")
        if not (0.0 <= lo <= hi):
            raise InputError(f"interval_s must be 0 <= low <= high, got {self.interval_s}.")


class WallClockEstimator(BaseEstimator):
    """SMiPE's remaining iteration time turned into remaining wall-clock time with an interval.

    ``fit`` fits a :class:`ProgressEstimator`, reads the history's gaps between
    iterations and tails after them (:mod:`jobcast.progress.wallclock`) and
    calibrates the prediction interval on the estimator's leave-one-out errors
    over the history (:mod:`jobcast.progress.interval`).

    Parameters
    ----------
    params
        Progress parameters (or their stored dict); None for defaults.
    scale_out_model
        Per-iteration scale-out model of the :class:`ProgressEstimator`.
    level
        Coverage of the prediction interval.
    n_samples
        Leave-one-out estimates per history execution for the calibration.

    Attributes
    ----------
    typical_scale_out_
        The history's median scale-out at the first iteration: what the app layer takes
        for a running execution that reports none (:func:`jobcast.progress.usable.finished_prefix`).
    """

    def __init__(
        self,
        params: ProgressParameters | Mapping[str, Any] | None = None,
        *,
        scale_out_model: str = "bell",
        level: float = 0.8,
        n_samples: int = 6,
    ) -> None:
        self.params = params
        self.scale_out_model = scale_out_model
        self.level = level
        self.n_samples = n_samples

    def fit(
        self,
        history: pd.DataFrame,
        executions: pd.DataFrame,
        hardware: pd.DataFrame | None = None,
    ) -> WallClockEstimator:
        """Fit on finished executions.

        Parameters
        ----------
        history
            Iteration frame of finished executions.
        executions
            Their execution frame (start, end, gross runtime).
        hardware
            Optional hardware samples.

        Returns
        -------
        WallClockEstimator

        Raises
        ------
        jobcast.errors.InputError
            When ``level`` is not a number in (0, 1) (checked before the long fit).
        """
        level = self.level
        if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
            raise InputError(
                f"level must be the prediction interval's coverage, a number in (0, 1) such "
                f"as 0.8; got {level!r}."
            )
        self.estimator_ = ProgressEstimator(
            self.params,
            scale_out_model=self.scale_out_model,  # type: ignore[arg-type]
        ).fit(history, hardware)
        first = self.estimator_.prepared_.arrays.scale_out[:, 0]
        #: what a running execution reported without any scale-out is taken to run with
        self.typical_scale_out_ = float(np.round(np.nanmedian(first))) if first.size else 1.0
        self.wall_clock_: WallClockHistory = wall_clock_history(history, executions)
        self.calibration_ = calibrate_interval(
            self.estimator_,
            level=self.level,
            n_samples=self.n_samples,
            scale_out_model=self.scale_out_model,  # type: ignore[arg-type]
        )
        lengths = np.array([v for v in self.wall_clock_.length.values() if np.isfinite(v)])
        self.lengths_ = (
            lengths
            if lengths.size
            else history.groupby("execution")["duration_s"].sum().to_numpy(dtype=np.float64)
        )
        return self

    def predict(
        self,
        current: pd.DataFrame,
        *,
        started_at: datetime,
        now: datetime,
        deadline_s: float | None = None,
        lag_s: float = 0.0,
    ) -> WallClockEstimate:
        """The ETA of a running execution at ``now``.

        Parameters
        ----------
        current
            Its finished iterations so far (may be empty); ``finished_at`` of the
            iterations, if present, lets the estimate count down between them.
        started_at
            When the run started (aware datetime).
        now
            The moment of the estimate.
        deadline_s
            Deadline in seconds after ``started_at``.
        lag_s
            How long an iteration's end may go unseen (a follower that reads a log or a
            UI sees each end a little late): an iteration is called late, and its
            interval widened, only this much after its interval's upper end.

        Returns
        -------
        WallClockEstimate
        """
        check_is_fitted(self, "estimator_")
        if deadline_s is not None and not (np.isfinite(deadline_s) and deadline_s > 0):
            raise InputError(
                f"deadline_s must be a finite number of seconds > 0, got {deadline_s!r}."
            )
        elapsed = max((now - started_at).total_seconds(), 0.0)
        done = int(len(current))
        est = None
        if done:
            try:
                est = self.estimator_.estimate(current)
            except NotEnoughDataError as e:
                logger.info("No iteration-wise estimate: %s", e)
        if est is None:
            return self._from_lengths(done, elapsed, now, deadline_s)
        ids = [e for e, _ in est.similar]
        weights = np.array([w for _, w in est.similar])
        gap, tail = self.wall_clock_.combined(ids, weights, done)
        own = _own_gap(current, started_at)
        if own is not None and done >= 2:
            gap = (_GAP_PRIOR * gap + (done - 1) * own) / (_GAP_PRIOR + done - 1)
        lo_it, hi_it = self.calibration_.interval(est.remaining_s, est.spread)
        wall = est.remaining_s * gap + tail
        lo, hi = lo_it * gap + tail, hi_it * gap + tail
        since = _since_last(current, started_at, elapsed)
        # counting down never goes below what the iterations after the one in progress
        # still take: an iteration that overruns holds the estimate there
        later = 1.0 - self.wall_clock_.next_share(ids, weights, done)
        floor = est.remaining_s * later * gap + tail
        remaining = max(wall - since, floor)
        interval = (
            max(lo - since, lo_it * later * gap + tail),
            max(hi - since, hi_it * later * gap + tail),
        )
        # an iteration past its interval's upper end may run on as long again as it has
        overrun = since - max(lag_s, 0.0) > next_upper(est.remaining_s, hi_it, 1.0 - later) * gap
        upper = remaining + since if overrun else interval[1]
        interval = (min(interval[0], remaining), max(interval[1], remaining, upper))
        ended = self._ended_here(current, done)
        if ended is not None:
            remaining, interval = with_end(ended, since, remaining, interval, self.level)
        result = self._result(
            done,
            elapsed,
            remaining,
            interval,
            now,
            deadline_s,
            tuple(str(e) for e in ids[:10]),
            "iterations",
        )
        checks = (self.scale_out_warning(current), self.pace_warning(current, started_at))
        warnings = [w for w in checks if w is not None]
        if overrun:
            warnings.append(
                f"the running iteration (index {done}, after {done} finished) is taking "
                "longer than the similar runs took for it; "
                "the estimate counts only the iterations after it, the interval that it "
                "may run on as long again"
            )
        return replace(result, warnings=tuple(warnings)) if warnings else result

    def _ended_here(self, current: pd.DataFrame, done: int) -> tuple[float, float, float] | None:
        """How likely the run ends after iteration ``done``, and the tails of runs that ended.

        The iteration-wise estimate after ``done`` iterations compares only runs that went
        on past it (the run is taken to go on): where the runs most similar one iteration
        earlier all ended after exactly ``done`` iterations, only longer, less similar runs
        are left, and their remaining iterations would count in full at the moment the
        run most likely ends. Returns ``(share, tail, longest tail)``: the weight, one
        iteration earlier, of the similar runs that ended here, and their weighted mean
        and longest tail; None where no such run is among them.
        """
        lengths = self.wall_clock_.durations
        if done < 2 or not any(len(d) == done for d in lengths.values()):
            return None
        try:
            before = self.estimator_.estimate(current.iloc[: done - 1])
        except JobcastError:
            return None
        ids = [e for e, _ in before.similar]
        weights = np.array([w for _, w in before.similar], dtype=np.float64)
        here = np.array([len(lengths.get(e, ())) == done for e in ids], dtype=bool)
        if not here.any() or not weights.sum() > 0:
            return None
        share = float(weights[here].sum() / weights.sum())
        ended = [e for e, h in zip(ids, here, strict=True) if h]
        _, tail = self.wall_clock_.combined(ended, weights[here], done)
        tails = [self.wall_clock_.gap_and_tail(e, done) for e in ended]
        longest = max((t[1] for t in tails if t is not None), default=tail)
        return share, tail, longest

    def pace_warning(self, current: pd.DataFrame, started_at: datetime | None = None) -> str | None:
        """A warning where the run so far is far slower or faster than every earlier run.

        Compares how long the run took to the end of its latest iteration with how long
        each history run that got that far took (wall-clock from the run's start where
        ``started_at``, the iterations' ``finished_at`` and the history's timestamps give
        it, else the iteration time): outside the history's range by a factor
        :data:`~jobcast.progress.wallclock.PACE_MARGIN`, the estimate extrapolates
        from runs unlike this one (:func:`~jobcast.progress.wallclock.pace_warning`).

        Parameters
        ----------
        current
            The running execution's finished iterations.
        started_at
            When it started (None: compare iteration time).

        Returns
        -------
        str or None
            None within the range, or with fewer than two history runs that far.
        """
        check_is_fitted(self, "estimator_")
        offsets = None if started_at is None else _finish_offsets(current, started_at)
        own_wall = None if offsets is None else float(offsets[-1])
        busy = float(current["duration_s"].sum()) if len(current) else 0.0
        return pace_warning(self.wall_clock_, int(len(current)), own_wall, busy)

    def scale_out_warning(self, current: pd.DataFrame) -> str | None:
        """The warning of :meth:`ProgressEstimator.scale_out_warning` for the latest scale-out.

        Parameters
        ----------
        current
            The running execution's finished iterations.

        Returns
        -------
        str or None
            None when the scale-out lies within reach of the history's, or ``current``
            has no rows or no ``scale_out`` column.
        """
        check_is_fitted(self, "estimator_")
        if not len(current) or "scale_out" not in current.columns:
            return None
        ordered = current.sort_values("iteration") if "iteration" in current else current
        latest = ordered["scale_out"].iloc[-1]
        return self.estimator_.scale_out_warning(float(latest))

    def _from_lengths(
        self, done: int, elapsed: float, now: datetime, deadline_s: float | None
    ) -> WallClockEstimate:
        lengths = self.lengths_
        median = float(np.median(lengths))
        tail = (1.0 - self.level) / 2.0
        lo_len, hi_len = np.quantile(lengths, [tail, 1.0 - tail])
        # the history spread, at least one MIN_SPREAD-wide, for runs not yet under way
        s = float(log_spread(lengths, np.ones(len(lengths))))
        lo_len, hi_len = min(lo_len, median * np.exp(-s)), max(hi_len, median * np.exp(s))
        remaining = max(median - elapsed, 0.0)
        interval = (max(lo_len - elapsed, 0.0), max(hi_len - elapsed, 0.0))
        interval = (min(interval[0], remaining), max(interval[1], remaining))
        return self._result(done, elapsed, remaining, interval, now, deadline_s, (), "history")

    def _result(
        self,
        done: int,
        elapsed: float,
        remaining: float,
        interval: tuple[float, float],
        now: datetime,
        deadline_s: float | None,
        similar: tuple[str, ...],
        basis: str,
    ) -> WallClockEstimate:
        risk = None if deadline_s is None else miss_probability(
            elapsed, remaining, interval, float(deadline_s), level=self.level
        )
        total = elapsed + remaining
        return WallClockEstimate(
            iterations_done=done,
            elapsed_s=elapsed,
            remaining_s=remaining,
            finish_at=now + timedelta(seconds=remaining),
            interval_s=(float(interval[0]), float(interval[1])),
            progress=float(elapsed / total) if total > 0 else 0.0,
            deadline_risk=risk,
            similar=similar,
            basis=basis,
        )


def next_upper(remaining: float, upper: float, share: float) -> float:
    """The upper end of the next iteration's time alone, from the remaining ones' interval.

    ``share`` is the next iteration's expected share of ``remaining``. One iteration
    varies more than the sum of the ``k = 1 / share`` still to run: were they
    independent, its log spread would be ``sqrt(k)`` times the sum's, and so is taken
    here (with the sum's share of ``upper`` a 3 s iteration of a 4-iteration rest was
    called late after 4.5 s, its usual time plus the event log's and the poll's delay).
    """
    if not (remaining > 0 and upper > remaining and 0 < share <= 1):
        return upper * share
    return remaining * share * (upper / remaining) ** np.sqrt(1.0 / share)


def _finish_offsets(current: pd.DataFrame, started_at: datetime) -> np.ndarray | None:
    if "finished_at" not in current.columns or not len(current):
        return None
    stamps = pd.to_datetime(current["finished_at"], utc=True, errors="coerce")
    offsets = np.asarray((stamps - pd.Timestamp(started_at)).dt.total_seconds(), dtype=float)
    return offsets if np.isfinite(offsets).all() else None


def _own_gap(current: pd.DataFrame, started_at: datetime) -> float | None:
    """Wall-clock per iteration second of the run between its first and last iteration end."""
    offsets = _finish_offsets(current, started_at)
    if offsets is None or len(offsets) < 2:
        return None
    busy = float(current["duration_s"].iloc[1:].sum())
    span = float(offsets[-1] - offsets[0])
    return float(np.clip(span / busy, 0.5, 20.0)) if busy > 0 and span > 0 else None


def _since_last(current: pd.DataFrame, started_at: datetime, elapsed: float) -> float:
    """Seconds since the last iteration ended (0 when unknown)."""
    offsets = _finish_offsets(current, started_at)
    if offsets is None:
        return 0.0
    return float(max(elapsed - offsets[-1], 0.0))
