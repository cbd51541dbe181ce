"""The wall-clock ETA of live executions (app.progress) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from jobcast.app.progress import Eta, eta, running
from jobcast.errors import InputError
from jobcast.evaluation.progress import read_ellis_trace
from jobcast.history import HistoryRepository, JobSpec
from jobcast.progress.eta import WallClockEstimator
from jobcast.progress.interval import (
    IntervalCalibration,
    calibrate,
    log_spread,
    miss_probability,
)
from tests.conftest import shared_file

T0 = datetime(2026, 1, 1, tzinfo=UTC)
GAP = 2.0  # seconds the driver pauses after every iteration
TAIL = 5.0  # seconds the run goes on after its last iteration


def _record(
    repo: HistoryRepository,
    run: str,
    durations: list[float],
    *,
    start: datetime,
    finish: bool,
    scale_out: int = 4,
) -> datetime:
    """Record a live run whose iterations are separated by GAP seconds; returns its end."""
    repo.start_execution(JobSpec("loop"), run, scale_out=scale_out, started_at=start)
    t = start
    for i, d in enumerate(durations):
        end = t + timedelta(seconds=d)
        repo.record_iteration(
            "loop", run, i, values={"started_at": t, "finished_at": end, "duration_s": d}
        )
        t = end + timedelta(seconds=GAP)
    end = t - timedelta(seconds=GAP) + timedelta(seconds=TAIL)
    if finish:
        repo.finish_execution("loop", run, finished_at=end)
    return end


def _history(repo: HistoryRepository, n_runs: int = 6, n_iter: int = 10) -> list[float]:
    rng = np.random.default_rng(0)
    durations = [10.0 * float(x) for x in rng.lognormal(0.0, 0.05, n_iter)]
    for r in range(n_runs):
        scale = float(rng.lognormal(0.0, 0.05))
        _record(repo, f"old-{r}", [d * scale for d in durations], start=T0, finish=True)
    return durations


def test_eta_counts_gaps_and_tail_and_counts_down(repo: HistoryRepository) -> None:
    durations = _history(repo)
    start = T0 + timedelta(days=1)
    # the run has finished 4 of 10 iterations; the 4th ended at 4*10 + 3*GAP seconds
    _record(repo, "now", durations[:4], start=start, finish=False)
    last_end = start + timedelta(seconds=sum(durations[:4]) + 3 * GAP)
    actual_end = start + timedelta(seconds=sum(durations) + 9 * GAP + TAIL)
    first = eta(repo, "loop", "now", now=last_end)
    assert isinstance(first, Eta)
    assert first.iterations_done == 4
    assert first.elapsed_s == pytest.approx((last_end - start).total_seconds())
    true_remaining = (actual_end - last_end).total_seconds()
    # iteration time alone would be 60 s; with gaps and tail it is 77 s
    assert first.remaining_s == pytest.approx(true_remaining, rel=0.08)
    assert abs((first.finish_at - actual_end).total_seconds()) < 0.08 * true_remaining
    lo, hi = first.interval_s
    assert lo <= first.remaining_s <= hi
    assert 0.0 < first.progress < 1.0
    assert first.similar and first.deadline_risk is None
    later = eta(repo, "loop", "now", now=last_end + timedelta(seconds=5))
    assert later.elapsed_s == pytest.approx(first.elapsed_s + 5)
    assert later.remaining_s == pytest.approx(first.remaining_s - 5)
    assert later.finish_at == first.finish_at


def test_an_overrunning_iteration_holds_the_later_ones(repo: HistoryRepository) -> None:
    durations = _history(repo)
    start = T0 + timedelta(days=1)
    _record(repo, "now", durations[:4], start=start, finish=False)
    last_end = start + timedelta(seconds=sum(durations[:4]) + 3 * GAP)
    # the fifth iteration (about 10 s) has run 10 minutes: five more follow it
    stalled = eta(repo, "loop", "now", now=last_end + timedelta(seconds=600))
    after = sum(durations[5:]) + 5 * GAP + TAIL
    assert stalled.remaining_s == pytest.approx(after, rel=0.15)
    lo, hi = stalled.interval_s
    assert lo < stalled.remaining_s < hi
    (warning,) = stalled.warnings
    # numbered as the API numbers iterations (from 0), and counted as the CLI counts them
    assert (
        "the running iteration (index 4, after 4 finished) is taking longer than the similar "
        "runs took for it" in warning
    )
    on_time = eta(repo, "loop", "now", now=last_end + timedelta(seconds=durations[4]))
    assert on_time.warnings == ()
    # in the last iteration only the tail follows
    _record(repo, "end", durations[:9], start=start, finish=False)
    last = start + timedelta(seconds=sum(durations[:9]) + 8 * GAP)
    stuck = eta(repo, "loop", "end", now=last + timedelta(seconds=600))
    assert stuck.remaining_s == pytest.approx(TAIL, rel=0.15)
    # it may run on as long again: the interval is not the tail alone (a zero width made
    # the deadline risk jump from 0 % to 100 % the moment the deadline passed the tail)
    assert stuck.interval_s[1] >= stuck.remaining_s + 600
    elapsed = stuck.elapsed_s
    risks = [
        eta(repo, "loop", "end", now=last + timedelta(seconds=600), deadline_s=elapsed + d)
        .deadline_risk
        for d in (2 * TAIL, 60.0, 600.0, 6000.0)
    ]
    assert all(r is not None for r in risks), risks
    assert risks == sorted(risks, reverse=True) and 0.1 < risks[1] < 0.9 and risks[3] < 0.1


def test_an_iteration_somewhat_slower_than_usual_is_not_called_late(
    repo: HistoryRepository,
) -> None:
    """Was: the next iteration got the remaining ones' relative interval, so one a quarter
    slower than usual, seen a poll late, was "taking longer" (a real paused PySpark run
    on track to 0.1 % was warned of); one iteration varies more than six together."""
    durations = _history(repo)
    start = T0 + timedelta(days=1)
    _record(repo, "now", durations[:4], start=start, finish=False)
    last_end = start + timedelta(seconds=sum(durations[:4]) + 3 * GAP)
    usual = GAP + durations[4]  # the fifth iteration's finish-to-finish time
    slow = eta(repo, "loop", "now", now=last_end + timedelta(seconds=1.25 * usual + 1.0))
    assert slow.warnings == ()
    late = eta(repo, "loop", "now", now=last_end + timedelta(seconds=3 * usual))
    assert any("taking longer" in w for w in late.warnings)


def test_an_end_seen_late_is_not_called_an_overrun(repo: HistoryRepository) -> None:
    """A follower sees each end a second or two late (a poll, Spark's log writer)."""
    from jobcast.app.progress import fit_wall_clock

    durations = _history(repo)
    start = T0 + timedelta(days=1)
    _record(repo, "now", durations[:4], start=start, finish=False)
    rows = repo.iterations("loop", include_running=True)
    current = rows[rows["execution"].astype(str) == "now"].sort_values("iteration")
    current = current.assign(scale_out=4)  # as `eta` reads it from the run
    model = fit_wall_clock(repo, "loop")
    last_end = start + timedelta(seconds=sum(durations[:4]) + 3 * GAP)
    step = 0.5
    t = 0.0
    while not model.predict(
        current, started_at=start, now=last_end + timedelta(seconds=t)
    ).warnings:
        t += step  # the first moment it is called late
    at = last_end + timedelta(seconds=t + 1.5)
    assert model.predict(current, started_at=start, now=at).warnings
    assert model.predict(current, started_at=start, now=at, lag_s=2.0).warnings == ()


def test_next_upper_widens_one_iteration_by_the_root_of_the_iterations_left() -> None:
    from jobcast.progress.eta import next_upper

    assert next_upper(100.0, 130.0, 1.0) == pytest.approx(130.0)  # the last: as the sum
    assert next_upper(100.0, 130.0, 0.25) == pytest.approx(25.0 * 1.3**2)
    assert next_upper(100.0, 90.0, 0.25) == pytest.approx(22.5)  # no interval above: as is
    assert next_upper(0.0, 0.0, 0.5) == 0.0


def test_deadline_risk_and_running(repo: HistoryRepository) -> None:
    durations = _history(repo)
    start = T0 + timedelta(days=1)
    _record(repo, "now", durations[:5], start=start, finish=False)
    at = start + timedelta(seconds=sum(durations[:5]) + 4 * GAP)
    total = sum(durations) + 9 * GAP + TAIL
    tight = eta(repo, "loop", "now", deadline_s=0.8 * total, now=at)
    loose = eta(repo, "loop", "now", deadline_s=1.5 * total, now=at)
    assert tight.deadline_risk is not None and loose.deadline_risk is not None
    assert tight.deadline_risk > 0.9 and loose.deadline_risk < 0.1
    # a deadline that is no duration is refused wherever it comes from, not read as risk 0
    for bad in (float("nan"), float("inf"), -5.0, 0.0):
        with pytest.raises(InputError, match="deadline_s must be a finite number"):
            eta(repo, "loop", "now", deadline_s=bad, now=at)
    found = running(repo, now=at)
    assert [(e.job, e.execution) for e in found] == [("loop", "now")]
    assert found[0].to_dict()["finish_at"].startswith(str(found[0].finish_at.date()))


def test_eta_warns_of_a_scale_out_far_outside_the_history(repo: HistoryRepository) -> None:
    durations = _history(repo)
    start = T0 + timedelta(days=1)
    at = start + timedelta(seconds=sum(durations[:4]) + 3 * GAP)
    _record(repo, "near", durations[:4], start=start, finish=False, scale_out=8)
    _record(repo, "far", durations[:4], start=start, finish=False, scale_out=9000)
    assert eta(repo, "loop", "near", now=at).warnings == ()
    far = eta(repo, "loop", "far", now=at)
    (warning,) = far.warnings
    assert "scale-out 9000 lies far outside the history's (4-4)" in warning
    assert far.to_dict()["warnings"] == [warning]


def test_eta_before_the_first_iteration_uses_run_lengths(repo: HistoryRepository) -> None:
    durations = _history(repo)
    start = T0 + timedelta(days=1)
    repo.start_execution(JobSpec("loop"), "fresh", scale_out=4, started_at=start)
    got = eta(repo, "loop", "fresh", now=start + timedelta(seconds=3))
    total = sum(durations) + 9 * GAP + TAIL
    assert got.iterations_done == 0
    assert got.remaining_s == pytest.approx(total - 3, rel=0.1)


def test_eta_of_unknown_execution_says_so(repo: HistoryRepository) -> None:
    _history(repo, n_runs=3)
    with pytest.raises(InputError, match="no execution 'nope'"):
        eta(repo, "loop", "nope")


def test_interval_calibration_covers_at_its_level() -> None:
    rng = np.random.default_rng(1)
    past = rng.normal(0.0, 1.0, 2000)
    cal = calibrate(past, level=0.8)
    fresh = rng.normal(0.0, 1.0, 2000)
    covered = np.mean((fresh >= cal.low) & (fresh <= cal.high))
    assert 0.77 <= covered <= 0.83
    assert float(log_spread(np.array([5.0, 20.0]), np.array([1.0, 1.0]))) > 0.5
    # at the upper end of an 80 % interval the risk is 10 %, at the estimate 50 %
    assert miss_probability(0.0, 20.0, (10.0, 40.0), 40.0) == pytest.approx(0.1)
    assert miss_probability(0.0, 20.0, (10.0, 40.0), 20.0) == pytest.approx(0.5)
    assert miss_probability(0.0, 20.0, (10.0, 40.0), 10.0) == pytest.approx(0.9)
    assert miss_probability(50.0, 20.0, (10.0, 40.0), 40.0) == 1.0


def test_deadline_risk_ignores_an_interval_reaching_down_to_zero() -> None:
    # the run may end now (the interval's low end 0 s): a deadline ten times the
    # interval's upper end is all but safe (one log-normal over (0, high) said 19 %)
    assert miss_probability(16.6, 12.5, (0.0, 25.0), 300.0) < 1e-3
    assert miss_probability(16.6, 12.5, (0.0, 25.0), 16.6 + 25.0) == pytest.approx(0.1)
    # the risk falls as the deadline moves out, and rises with the upper end
    risks = [miss_probability(0.0, 12.5, (0.0, 25.0), d) for d in (5.0, 12.5, 25.0, 50.0)]
    assert risks == sorted(risks, reverse=True)
    assert miss_probability(0.0, 12.5, (0.0, 50.0), 30.0) > risks[2]


def test_one_outlying_run_among_few_does_not_blow_up_the_interval() -> None:
    # three runs: one missed by a factor 4 where its similar runs agreed (spread at the
    # floor: score 28); the others' scores within one spread
    score = np.array([0.5, -0.4, 0.3, -0.6, np.log(4.0) / 0.05, 0.2])
    spread = np.array([0.1, 0.1, 0.1, 0.1, 0.05, 0.05])
    runs = np.array([0, 0, 1, 1, 2, 2])
    cal = calibrate(score, groups=runs, spreads=spread)
    # winsorised: the outlying score no longer sets the width (the ±2 z floor does)
    assert cal.high == pytest.approx(2 * 1.2815515655446004)
    assert cal.interval(10.0, 0.7)[1] < 10.0 * np.exp(3 * 0.7)
    # the scores stay one-sided when every run missed the same way (not winsorised away)
    late = calibrate(np.array([3.0, 3.5, 4.0, 3.2, 3.8, 3.6]), groups=runs)
    assert late.high > 3.6 and late.low < 0


def test_few_runs_interval_reaches_at_most_twice_their_largest_miss() -> None:
    # every run missed by 2.5-3.5 times where its similar runs agreed: scores 18-30
    score = np.array([20.0, -25.0, 28.0, -22.0, 30.0, -18.0])
    runs = np.array([0, 0, 1, 1, 2, 2])
    spread = np.full(6, 0.05)
    cal = calibrate(score, groups=runs, spreads=spread)
    assert cal.max_log == pytest.approx(2 * 30.0 * 0.05)
    low, high = cal.interval(10.0, 0.7)
    assert high == pytest.approx(10.0 * np.exp(3.0)) and low == pytest.approx(10.0 / np.exp(3.0))
    # unbounded without the spreads: the live spread times the score reached 10^13
    assert calibrate(score, groups=runs).interval(10.0, 0.7)[1] > 1e10
    # within the bound the interval is as before, and ten or more runs are not bounded
    assert cal.interval(10.0, 0.01) == calibrate(score, groups=runs).interval(10.0, 0.01)
    many = calibrate(np.tile(score, 4), groups=np.arange(24), spreads=np.tile(spread, 4))
    assert many.max_log is None
    assert IntervalCalibration.from_dict(cal.to_dict()) == cal


def test_deadline_risk_matches_draws_from_its_distribution() -> None:
    # seeded: the two-piece log-normal's quantiles are the interval's ends
    rng = np.random.default_rng(7)
    point, low, high = 20.0, 12.0, 45.0
    z = 1.2815515655446004
    side = rng.random(200_000) < 0.5
    draws = np.where(
        side,
        point * np.exp(-np.abs(rng.normal(0, np.log(point / low) / z, side.size))),
        point * np.exp(np.abs(rng.normal(0, np.log(high / point) / z, side.size))),
    )
    for deadline in (8.0, 15.0, 30.0, 60.0):
        expected = float(np.mean(draws > deadline))
        got = miss_probability(0.0, point, (low, high), deadline)
        assert got == pytest.approx(expected, abs=0.005)



@pytest.mark.parametrize("runs", [[1, 2], [1, 2, 3]])
def test_interval_is_calibrated_on_held_out_runs(runs: list[int]) -> None:
    # Ellis gbt runs 1 and 2 ran at 36 and 20 executors: the scale-out model fits both
    # exactly, so calibrated on estimates whose models had seen the run, the 80 %
    # interval had width 0.
    ellis = read_ellis_trace(shared_file("ellis", "gbt.csv"))
    history = ellis[ellis["execution"].isin(runs)].assign(
        execution=lambda f: f["execution"].astype(str)
    )
    totals = history.groupby("execution")["duration_s"].sum()
    executions = pd.DataFrame({
        "external_id": totals.index, "execution_id": range(len(totals)),
        "started_at": pd.NaT, "finished_at": pd.NaT, "gross_runtime": totals.to_numpy(),
    })
    model = WallClockEstimator().fit(history, executions)
    low, high = model.calibration_.interval(300.0, 0.05)
    assert high / low > 1.05
    assert low < 300.0 < high


@pytest.mark.parametrize("level", [0.0, 1.0, 1.5, -0.2, True, "0.8", float("nan")])
def test_a_bad_level_is_refused_before_the_long_fit(level: object) -> None:
    # an empty history would stop the ProgressEstimator's fit with NotEnoughDataError:
    # the level is checked before it starts
    empty = pd.DataFrame(columns=["execution", "iteration", "duration_s", "scale_out"])
    with pytest.raises(InputError, match=r"level must .* \(0, 1\)"):
        WallClockEstimator(level=level).fit(empty, pd.DataFrame())  # type: ignore[arg-type]
