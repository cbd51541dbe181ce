"""Training reports: errors before/after, regularised bounds, too few executions, blend."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from jobcast.progress import ProgressEstimator
from jobcast.progress.arrays import to_arrays
from jobcast.progress.combine import case_estimates, mean_remaining_error
from jobcast.progress.parameters import ProgressParameters
from jobcast.progress.report import regularise
from jobcast.progress.simulation import STRENGTH_GRID, simulate_cases, simulate_strengths
from jobcast.progress.training import EXPONENT_BOUNDS, train_report
from tests.progress.synthetic import make_history


@pytest.fixture(scope="module")
def cases():
    history = make_history(n_exec=14, n_iter=10, seed=4, noise=0.08)
    return simulate_cases(to_arrays(history), scale_out_model="ernest")


def test_report_holds_errors_before_and_after(cases) -> None:
    report = train_report(cases, n_starts=1, maxfun=40, random_state=0)
    assert report.error_after <= report.error_before + 1e-12
    assert report.executions == 14 and report.estimates == cases.n_cases
    assert report.error_after == pytest.approx(mean_remaining_error(cases, report.params))
    payload = json.loads(json.dumps(report.to_dict()))
    assert {"parameters", "error_before", "error_after", "notes"} <= set(payload)
    assert 0.0 <= report.params.blend <= 1.0


def test_exponent_at_its_bound_is_regularised_and_said(cases) -> None:
    at_bound = ProgressParameters(exponent=EXPONENT_BOUNDS[1])
    err = mean_remaining_error(cases, at_bound)
    params, new_err, notes = regularise(cases, at_bound, err, bounds=EXPONENT_BOUNDS)
    assert notes and "bound" in notes[0]
    assert params.exponent < EXPONENT_BOUNDS[1]
    assert new_err <= err * 1.02 + 1e-12


def test_too_few_executions_keep_the_defaults() -> None:
    small = simulate_cases(
        to_arrays(make_history(n_exec=3, n_iter=8, seed=1)), scale_out_model="none"
    )
    report = train_report(small, n_starts=1, maxfun=20, random_state=0)
    assert report.params == ProgressParameters(scale_out_strength=small.strength)
    assert report.notes and "kept the default" in report.notes[0]


@pytest.mark.parametrize("seed", [1, 3])
def test_too_few_executions_convert_between_scale_outs_only_where_it_helps(seed) -> None:
    # 4 runs at 4, 8 or 16 executors: runtimes that follow Ernest's curve need the
    # conversion (strength 1); runtimes that do not depend on the scale-out are
    # estimated better without the models fitted on three runs (strength 0).
    history = make_history(n_exec=4, n_iter=10, seed=seed, speeds=(1.0,), rescale_share=0.0)
    assert history.groupby("execution")["scale_out"].first().nunique() > 1
    flat = history.assign(
        duration_s=10.0 * np.random.default_rng(seed).lognormal(0.0, 0.15, len(history))
    )
    chosen = {}
    for name, frame in (("ernest", history), ("flat", flat)):
        by_strength = simulate_strengths(
            to_arrays(frame), scale_out_model="ernest", strengths=(0.0, 1.0)
        )
        report = train_report(by_strength, n_starts=1, maxfun=20, random_state=0)
        strength = report.params.scale_out_strength
        assert report.params == ProgressParameters(
            scale_out_strength=strength, median_share=report.params.median_share
        )
        assert report.error_after == pytest.approx(
            mean_remaining_error(by_strength[strength], report.params)
        )
        assert report.error_after <= report.error_before
        assert ("scale-out strength 0" in report.notes[0]) == (strength == 0.0)
        chosen[name] = strength
    assert chosen == {"ernest": 1.0, "flat": 0.0}


def test_too_few_executions_at_one_scale_out_keep_the_full_conversion() -> None:
    # one scale-out: every strength converts runtimes to themselves, so the errors tie
    # up to rounding, and the note must not name a strength the user has no reason for
    rows = [
        (f"r{e}", i, 10.0 + e + i, 4) for e in range(4) for i in range(6)
    ]
    history = pd.DataFrame(rows, columns=["execution", "iteration", "duration_s", "scale_out"])
    by_strength = simulate_strengths(to_arrays(history), strengths=STRENGTH_GRID)
    report = train_report(by_strength, n_starts=1, maxfun=20, random_state=0)
    assert report.params == ProgressParameters()
    assert "strength" not in report.notes[0]


def _one_run_longest(n_exec: int, seed: int) -> pd.DataFrame:
    # run 0 runs 20 iterations, the others 8-12: its late sample points (iteration 17)
    # have no other execution to compare with, whatever the parameters
    rng = np.random.default_rng(seed)
    rows = []
    for e in range(n_exec):
        n = 20 if e == 0 else int(rng.integers(8, 13))
        speed = rng.lognormal(0.0, 0.1)
        rows += [
            (f"r{e}", i, speed * (3 + 2 * np.exp(-i / 3)) * rng.lognormal(0, 0.05), 4)
            for i in range(n)
        ]
    return pd.DataFrame(rows, columns=["execution", "iteration", "duration_s", "scale_out"])


@pytest.mark.parametrize("n_exec", [4, 10])
def test_a_run_longer_than_all_others_leaves_training_errors_finite(n_exec: int) -> None:
    by_strength = simulate_strengths(to_arrays(_one_run_longest(n_exec, seed=0)))
    cases = by_strength[1.0]
    assert not np.isfinite(case_estimates(cases, ProgressParameters())).all()
    report = train_report(by_strength, n_starts=1, maxfun=60, random_state=0)
    # scored as evaluate progress scores them: 0 s remaining, error 1 in the paper's metric
    assert np.isfinite(report.error_before) and np.isfinite(report.error_after)
    assert report.error_after <= report.error_before + 1e-12
    defaults = ProgressParameters(scale_out_strength=1.0)
    est = case_estimates(cases, defaults)
    expected = np.where(
        np.isfinite(est), np.abs(est - cases.actual_remaining) / cases.actual_remaining, 1.0
    ).mean()
    assert report.error_before == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(3))
def test_too_few_executions_of_varying_length_take_the_weighted_median(seed: int) -> None:
    # 4 runs of 6-14 iterations: near the end of a short run, the mean of the others'
    # remaining runtimes is pulled up by the long ones; the weighted median, which
    # minimises the relative error, is not, and the leave-one-out error says so
    rng = np.random.default_rng(seed)
    rows = []
    for e, n in enumerate(rng.permutation([6, 8, 11, 14])):
        rows += [(f"r{e}", i, 3.0 * rng.lognormal(0, 0.05), 4) for i in range(n)]
    history = pd.DataFrame(rows, columns=["execution", "iteration", "duration_s", "scale_out"])
    by_strength = simulate_strengths(to_arrays(history), strengths=STRENGTH_GRID)
    report = train_report(by_strength, n_starts=1, maxfun=20, random_state=0)
    assert report.params.median_share == 1.0
    assert "weighted median" in report.notes[0]
    every = [
        mean_remaining_error(c, ProgressParameters(scale_out_strength=k, median_share=r))
        for k, c in by_strength.items()
        for r in (0.0, 1.0)
    ]
    assert report.error_after == pytest.approx(min(every))
    assert report.error_after < report.error_before


def test_blend_with_the_robust_estimate_ignores_outlier_iterations() -> None:
    rows = []
    for e in range(7):
        for i in range(10):
            slow = 20.0 if (e == 6 and i == 7) else 1.0  # one outlier iteration
            rows.append((f"run-{e}", i, 10.0 * slow, 4))
    history = pd.DataFrame(rows, columns=["execution", "iteration", "duration_s", "scale_out"])
    current = history[(history["execution"] == "run-0") & (history["iteration"] < 4)]
    current = current.assign(execution="now")
    flat = ProgressParameters(exponent=1.0001)
    plain = ProgressEstimator(flat, scale_out_model="none").fit(history)
    robust = ProgressEstimator(flat.with_values(blend=1.0), scale_out_model="none").fit(history)
    assert plain.estimate(current).remaining_s > 60.0 * 1.2  # the outlier pulls the mean
    assert robust.estimate(current).remaining_s == pytest.approx(60.0)
    assert ProgressParameters.from_dict(ProgressParameters(blend=0.3).to_dict()).blend == 0.3
