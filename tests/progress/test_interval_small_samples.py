"""The prediction interval on few similar executions, few past executions and extrapolation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from jobcast.progress.estimator import ProgressEstimator
from jobcast.progress.interval import MIN_SPREAD, calibrate, effective_size, log_spread, widen
from jobcast.progress.parameters import ProgressParameters
from tests.progress.synthetic import make_history


def _covers(cal, score: float) -> bool:
    return cal.low <= score <= cal.high


def test_effective_size_counts_weighted_executions() -> None:
    assert float(effective_size(np.array([1.0, 1.0, 1.0, 1.0]))) == 4.0
    assert float(effective_size(np.array([1.0, 0.0, 0.0]))) == 1.0
    assert 1.0 < float(effective_size(np.array([1.0, 0.1, 0.1]))) < 1.5


def test_a_single_match_takes_its_spread_from_all_candidates() -> None:
    rng = np.random.default_rng(7)
    est = np.exp(rng.normal(np.log(400.0), 0.3, 40))
    one = np.zeros(40)
    one[3] = 1.0
    pool = np.ones(40, dtype=bool)
    alone = float(log_spread(est, one))  # the floor only: it cannot show any disagreement
    pooled = float(log_spread(est, one, pool=pool))
    everyone = float(log_spread(est, np.ones(40)))
    assert alone == MIN_SPREAD
    # half the pool's variance: sqrt(0.5) of its standard deviation
    np.testing.assert_allclose(pooled - MIN_SPREAD, np.sqrt(0.5) * (everyone - MIN_SPREAD))
    # a large set keeps (nearly) its own spread; the pool never narrows one
    many = np.where(np.arange(40) < 30, 1.0, 0.0)
    own, shrunk = float(log_spread(est, many)), float(log_spread(est, many, pool=pool))
    assert own <= shrunk < own + 0.1 * (everyone - MIN_SPREAD)
    # the spread falls as the set grows (the pool's share fades)
    sizes = [1, 2, 4, 8, 16]
    tight = np.full(40, 400.0)
    tight[20:] = est[20:]  # the first 20 agree exactly, the rest disagree
    spreads = [float(log_spread(tight, (np.arange(40) < k) * 1.0, pool=pool)) for k in sizes]
    assert all(a > b for a, b in zip(spreads, spreads[1:], strict=False))


def test_widen_adds_in_quadrature_above_the_floor() -> None:
    assert float(widen(MIN_SPREAD, 0.0)) == MIN_SPREAD
    np.testing.assert_allclose(widen(0.35, 0.4), 0.5 + MIN_SPREAD)


def test_estimator_with_one_match_is_not_the_narrowest() -> None:
    history = make_history(n_exec=24, n_iter=16, seed=3, noise=0.1)
    done = history[history["execution"] != "run-0"]
    current = history[(history["execution"] == "run-0") & (history["iteration"] < 6)]
    # thresholds no run passes: lowered until the single closest one does
    strict = ProgressParameters(thresholds=(0.9999,) * 6)
    loose = ProgressParameters()
    one = ProgressEstimator(strict).fit(done).estimate(current)
    many = ProgressEstimator(loose).fit(done).estimate(current)
    assert len(one.similar) == 1 and len(many.similar) > 5
    assert one.spread > MIN_SPREAD + 0.5 * (many.spread - MIN_SPREAD)


def _rescaled(current: pd.DataFrame, scale_out: int) -> pd.DataFrame:
    """The run rescaled to ``scale_out`` for its latest iteration (and all to come)."""
    last = current["iteration"] == current["iteration"].max()
    return current.assign(scale_out=np.where(last, scale_out, current["scale_out"]))


def test_an_extrapolated_scale_out_widens_and_keeps_the_estimate() -> None:
    from jobcast.progress.arrays import check_current

    history = make_history(n_exec=24, n_iter=16, seed=4, noise=0.05)  # scale-outs 4-16
    done = history[history["execution"] != "run-0"]
    current = history[(history["execution"] == "run-0") & (history["iteration"] < 6)]
    est = ProgressEstimator().fit(done)
    inside = est.estimate(_rescaled(current, 16))
    far = est.estimate(_rescaled(current, 200))
    # the point estimate is the extrapolated one, as before
    plain = est._estimate_arrays(check_current(_rescaled(current, 200)), None)
    assert far.remaining_s == plain.remaining_s
    moved = abs(np.log(far.remaining_s / inside.remaining_s))
    assert moved > 0.1  # the Ernest-like runs are faster on more executors
    assert far.spread > max(plain.spread, inside.spread)  # wider than both
    np.testing.assert_allclose(far.spread, widen(max(plain.spread, inside.spread), moved))
    # a scale-out the history ran with is untouched
    within = _rescaled(current, 8)
    assert est.estimate(within).spread == est._estimate_arrays(check_current(within), None).spread


def test_calibration_on_few_grouped_executions_reaches_its_level() -> None:
    # 4 past executions of 3 sample points each: their scores hardly differ within one
    # execution, so the 12 scores are worth 4; conformal ranks over 12 covered ~60 %
    rng = np.random.default_rng(11)
    hits = []
    for _ in range(2000):
        runs = rng.normal(0.0, 1.0, 5)
        s = np.repeat(runs, 3) + rng.normal(0.0, 0.02, 15)
        groups = np.repeat(np.arange(5), 3)
        cal = calibrate(s[:12], groups=groups[:12])
        hits.append(_covers(cal, float(s[13])))
    assert np.mean(hits) >= 0.8


def test_calibration_on_few_scores_uses_their_scale() -> None:
    # 6 independent scores of sd 3: the earlier fallback (2 z = 2.56 either side) covered
    # about 60 %; the t prediction interval reads the scale from the scores
    rng = np.random.default_rng(12)
    hits = [
        _covers(calibrate(x[:6]), float(x[6]))
        for x in rng.normal(0.5, 3.0, (3000, 7))
    ]
    assert 0.78 <= np.mean(hits) <= 0.9


def test_calibration_on_many_independent_scores_is_unchanged_by_groups() -> None:
    rng = np.random.default_rng(13)
    s = rng.standard_t(3, 200)
    plain = calibrate(s)
    grouped = calibrate(s, groups=np.arange(200))
    assert (plain.low, plain.high) == (grouped.low, grouped.high)
    # conformal ranks: ceil((n + 1) 0.9) of n
    ordered = np.sort(s)
    assert plain.high == ordered[int(np.ceil(201 * 0.9)) - 1]


def test_groups_must_match_scores() -> None:
    import pytest

    from jobcast.errors import InputError

    with pytest.raises(InputError):
        calibrate(np.zeros(12), groups=np.zeros(11))


def test_wall_clock_interval_widens_on_few_matches() -> None:
    from jobcast.progress.eta import WallClockEstimator

    history = make_history(n_exec=14, n_iter=12, seed=5, noise=0.1)
    totals = history.groupby("execution")["duration_s"].sum()
    executions = pd.DataFrame({
        "external_id": totals.index, "execution_id": range(len(totals)),
        "started_at": pd.NaT, "finished_at": pd.NaT, "gross_runtime": totals.to_numpy(),
    })
    done = history[history["execution"] != "run-0"]
    current = history[(history["execution"] == "run-0") & (history["iteration"] < 5)]
    width = {}
    for name, params in (("one", ProgressParameters(thresholds=(0.9999,) * 6)),
                         ("many", ProgressParameters())):
        model = WallClockEstimator(params).fit(
            done, executions[executions["external_id"] != "run-0"]
        )
        est = model.estimator_.estimate(current)
        low, high = model.calibration_.interval(est.remaining_s, est.spread)
        width[name] = (len(est.similar), np.log(high / low))
    assert width["one"][0] == 1 and width["many"][0] > 5
    # one similar run shows no disagreement; its interval must not be the narrowest
    assert width["one"][1] > 0.5 * width["many"][1]
