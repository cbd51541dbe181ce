"""The learned fallback towards the history mean: baseline, estimator, storage and training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jobcast.errors import InputError
from jobcast.evaluation.progress import baseline_estimates
from jobcast.progress import ProgressEstimator
from jobcast.progress.arrays import to_arrays
from jobcast.progress.combine import case_estimates
from jobcast.progress.fallback import LARGE_FALLBACK, learn_fallback
from jobcast.progress.parameters import ProgressParameters
from jobcast.progress.simulation import simulate_cases
from jobcast.progress.training import train_report
from tests.progress.synthetic import make_history


def uninformative_history(n_exec: int, n_iter: int, seed: int) -> pd.DataFrame:
    """Runs whose finished iterations say nothing about what remains.

    Every run draws each iteration's runtime independently from the same
    distribution: the run most similar so far is no better a guide to the rest than
    any other, and the mean of all is a better one than a few.
    """
    rng = np.random.default_rng(seed)
    frames = [
        pd.DataFrame({
            "execution": f"run-{e}", "iteration": np.arange(n_iter),
            "duration_s": 10.0 * rng.lognormal(0.0, 0.3, n_iter), "scale_out": 4,
        })
        for e in range(n_exec)
    ]
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def ragged():
    history = make_history(n_exec=8, n_iter=9, seed=3)
    # runs of different lengths: the baseline uses those that reached the iteration
    history = history[~((history["execution"] == "run-1") & (history["iteration"] >= 4))]
    history = history[~((history["execution"] == "run-2") & (history["iteration"] >= 6))]
    return history, simulate_cases(to_arrays(history), scale_out_model="ernest")


def test_cases_history_mean_is_the_evaluation_baseline(ragged) -> None:
    history, cases = ragged
    base = baseline_estimates(to_arrays(history), cases.current, cases.iteration)
    np.testing.assert_allclose(cases.history_mean(), base["history_mean"])


def test_fallback_zero_is_the_estimate_and_one_the_history_mean(ragged) -> None:
    _, cases = ragged
    params = ProgressParameters(exponent=2.0, median_share=0.3, blend=0.2)
    plain = case_estimates(cases, params)
    assert np.array_equal(case_estimates(cases, params.with_values(fallback=0.0)), plain)
    np.testing.assert_allclose(
        case_estimates(cases, params.with_values(fallback=1.0)), cases.history_mean()
    )
    half = case_estimates(cases, params.with_values(fallback=0.5))
    np.testing.assert_allclose(half, 0.5 * plain + 0.5 * cases.history_mean())
    assert not np.allclose(plain, cases.history_mean())


def test_estimator_falls_back_to_the_mean_of_the_runs_that_reached_the_iteration(ragged) -> None:
    history, _ = ragged
    done = history[history["execution"] != "run-0"]
    current = history[(history["execution"] == "run-0") & (history["iteration"] < 5)]
    est = ProgressEstimator(params=ProgressParameters(fallback=1.0)).fit(done)
    reached = done.groupby("execution").filter(lambda g: g["iteration"].max() >= 5)
    expected = reached[reached["iteration"] >= 5].groupby("execution")["duration_s"].sum()
    assert est.estimate(current).remaining_s == pytest.approx(expected.mean())
    assert reached["execution"].nunique() == 6  # run-1 stopped at 4, run-2 ran on


def test_older_stored_parameters_load_without_fallback() -> None:
    stored = ProgressParameters(blend=0.3).to_dict()
    del stored["fallback"]
    loaded = ProgressParameters.from_dict(stored)
    assert loaded.fallback == 0.0 and loaded.blend == 0.3
    assert ProgressParameters.from_dict({"fallback": 0.4}).fallback == 0.4
    with pytest.raises(InputError, match="fallback"):
        ProgressParameters(fallback=1.5)


def test_fallback_needs_the_history_mean() -> None:
    from jobcast.progress.combine import combine

    ones = np.ones((1, 3))
    with pytest.raises(InputError, match="history_mean"):
        combine(ones, ones > 0, ones, ProgressParameters(fallback=0.5), robust=1.0)


SEEDS = range(8)


def test_training_falls_back_where_similar_runs_are_uninformative() -> None:
    gammas = []
    for seed in SEEDS:
        history = uninformative_history(15, 8, seed)
        cases = simulate_cases(to_arrays(history), scale_out_model="none")
        report = train_report(cases, n_starts=1, maxfun=40, random_state=seed)
        says = any("falls back towards the history mean" in n for n in report.notes)
        assert says == (report.params.fallback >= LARGE_FALLBACK)
        gammas.append(report.params.fallback)
    # a statement on the seeds, not one draw: most histories fall back, and far
    assert sum(g > 0 for g in gammas) >= len(gammas) // 2
    assert np.mean(gammas) >= 0.3


def test_training_keeps_the_estimate_where_similarity_is_informative() -> None:
    for seed in SEEDS:
        history = make_history(n_exec=15, n_iter=8, seed=seed, noise=0.03)
        cases = simulate_cases(to_arrays(history), scale_out_model="ernest")
        report = train_report(cases, n_starts=1, maxfun=40, random_state=seed)
        assert report.params.fallback <= 0.1, seed
        assert not any("history mean" in n for n in report.notes)


def test_too_few_executions_per_fold_keep_no_fallback(ragged) -> None:
    _, cases = ragged
    calls = []

    def fit(c):
        calls.append(c)
        return ProgressParameters()

    params, _, notes = learn_fallback(cases, ProgressParameters(fallback=0.7), fit=fit, folds=5)
    assert params.fallback == 0.0 and notes == [] and calls == []
    params, _, _ = learn_fallback(cases, ProgressParameters(), fit=fit, folds=3)
    assert len(calls) == 3
    held = [set(np.unique(cases.current)) - set(np.unique(c.current)) for c in calls]
    assert sorted(r for h in held for r in h) == sorted(np.unique(cases.current).tolist())
    assert all(not c.valid[:, sorted(h)].any() for c, h in zip(calls, held, strict=True))
