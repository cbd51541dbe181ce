"""Training reports: errors before/after, regularised bounds, too few executions, blend."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from jobcast.progress import ProgressEstimator
from jobcast.progress.arrays import to_arrays
from jobcast.progress.combine import mean_remaining_error
from jobcast.progress.parameters import ProgressParameters
from jobcast.progress.report import regularise
from jobcast.progress.simulation import simulate_cases
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
