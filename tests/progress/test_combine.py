"""Combining the similar executions' estimates: weighted mean, weighted median, robust blend."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jobcast.progress import ProgressEstimator
from jobcast.progress.arrays import to_arrays
from jobcast.progress.combine import (
    case_estimates,
    combine,
    mean_remaining_error,
    remaining_error,
    remaining_errors,
    weighted_median,
)
from jobcast.progress.matching import match_masks
from jobcast.progress.parameters import ProgressParameters
from jobcast.progress.simulation import simulate_cases
from jobcast.progress.training import training_subset
from tests.progress.synthetic import make_history


@pytest.fixture(scope="module")
def cases():
    return simulate_cases(to_arrays(make_history(n_exec=16, n_iter=10, seed=3)),
                          scale_out_model="ernest")


def test_weighted_median_matches_the_repeated_sample() -> None:
    rng = np.random.default_rng(0)
    values = rng.lognormal(size=(200, 9))
    counts = rng.integers(0, 4, size=(200, 9))
    counts[:, 0] += 1  # every row keeps some weight
    got = weighted_median(values, counts.astype(float))
    for v, c, g in zip(values, counts, got, strict=True):
        sample = np.sort(np.repeat(v, c))
        assert g == sample[(len(sample) - 1) // 2]  # the lower median
    assert np.isnan(weighted_median(np.ones((1, 3)), np.zeros((1, 3))))[0]


def _papers_estimates(cases, params: ProgressParameters) -> np.ndarray:
    """The paper's sim^b-weighted mean (plain mean when no weight), blended with robust."""
    mask, sim_final, _ = match_masks(cases.similarities, cases.valid, params)
    remaining = cases.remaining(params.adjustment)
    weights = np.power(np.clip(sim_final, 0.0, 1.0), params.exponent) * mask
    total = weights.sum(axis=1)
    plain = np.where(mask, remaining, 0.0).sum(axis=1) / np.maximum(mask.sum(axis=1), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        weighted = (np.where(mask, remaining, 0.0) * weights).sum(axis=1) / total
    out = np.where(total > 0, weighted, plain)
    if params.blend > 0:
        out = (1.0 - params.blend) * out + params.blend * cases.robust(params.adjustment)
    return out


def test_the_mean_alone_is_the_papers_weighted_average(cases) -> None:
    for params in (ProgressParameters(), ProgressParameters(exponent=8.0, blend=0.4,
                                                            adjustment=0.5)):
        assert np.allclose(case_estimates(cases, params), _papers_estimates(cases, params))


def test_the_median_minimises_the_relative_error_of_the_set() -> None:
    # estimates of the similar executions as a distribution of the actual remaining time:
    # the combined estimate with median_share 1 has the lowest mean relative error to them
    rng = np.random.default_rng(1)
    remaining = rng.lognormal(3.0, 0.6, size=(50, 12))
    mask = np.ones_like(remaining, dtype=bool)
    sim = rng.uniform(0.2, 1.0, size=remaining.shape)
    params = ProgressParameters(exponent=2.0, median_share=1.0)
    best = combine(remaining, mask, sim_final=sim, params=params, robust=0.0)
    weights = sim**2.0
    for c in range(50):
        grid = np.linspace(remaining[c].min(), remaining[c].max(), 400)
        risk = [(weights[c] * np.abs(g - remaining[c]) / remaining[c]).sum() for g in grid]
        got = (weights[c] * np.abs(best[c] - remaining[c]) / remaining[c]).sum()
        assert got <= min(risk) + 1e-9


def test_median_share_resists_one_slow_similar_execution() -> None:
    rows = [(f"run-{e}", i, 10.0 * (30.0 if (e == 5 and i == 8) else 1.0), 4)
            for e in range(6) for i in range(10)]
    history = pd.DataFrame(rows, columns=["execution", "iteration", "duration_s", "scale_out"])
    current = history[(history["execution"] == "run-0") & (history["iteration"] < 4)]
    current = current.assign(execution="now")
    flat = ProgressParameters(exponent=1.0001)
    mean = ProgressEstimator(flat, scale_out_model="none").fit(history).estimate(current)
    median = ProgressEstimator(flat.with_values(median_share=1.0), scale_out_model="none")
    assert mean.remaining_s > 60.0 * 1.5
    assert median.fit(history).estimate(current).remaining_s == pytest.approx(60.0)


def test_training_learns_the_median_where_outliers_pull_the_mean() -> None:
    from jobcast.progress.training import train_on_cases

    rng = np.random.default_rng(2)
    rows = []
    for e in range(20):
        spikes = rng.random(12) < 0.08
        for i in range(12):
            rows.append((f"run-{e}", i, 10.0 * rng.lognormal(0, 0.03) * (1 + 20 * spikes[i]), 4))
    history = pd.DataFrame(rows, columns=["execution", "iteration", "duration_s", "scale_out"])
    spiky = simulate_cases(to_arrays(history), scale_out_model="none")
    trained = train_on_cases(spiky, random_state=0, n_starts=1, maxfun=60)
    assert trained.median_share + trained.blend > 0.3
    assert mean_remaining_error(spiky, trained) < 0.8 * mean_remaining_error(
        spiky, ProgressParameters(scale_out_strength=spiky.strength)
    )


def test_training_subset_spreads_over_the_history() -> None:
    history = make_history(n_exec=30, n_iter=4, seed=0)
    hardware = pd.DataFrame({"execution": history["execution"].unique(), "node": "a", "cpu": 1.0})
    kept, hw, note = training_subset(history, hardware, 10)
    ids = kept["execution"].unique().tolist()
    assert len(ids) == 10 and ids[0] == "run-0" and ids[-1] == "run-29"
    assert set(hw["execution"]) == set(ids) and note and "10 of the 30" in note
    assert training_subset(history, None, None)[2] is None
    assert training_subset(history, None, 30)[0] is history


def test_one_definition_of_the_papers_metric(cases) -> None:
    actual = np.array([10.0, 10.0, 4.0, 0.0])
    errors = remaining_errors(np.array([12.0, np.nan, 2.0, 0.0]), actual)
    # a case without an estimate counts as 0 s remaining; 0 s actual divides by the floor
    assert errors.tolist() == pytest.approx([0.2, 1.0, 0.5, 0.0])
    assert remaining_errors(np.array([1e-3]), np.array([0.0]))[0] == pytest.approx(1e6)
    assert np.isnan(remaining_error(np.empty(0), np.empty(0)))
    params = ProgressParameters()
    assert mean_remaining_error(cases, params) == remaining_error(
        case_estimates(cases, params), cases.actual_remaining
    )
