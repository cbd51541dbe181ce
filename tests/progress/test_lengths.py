"""Runs of different lengths: candidates converted to the running execution's expected count."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jobcast.progress.arrays import to_arrays
from jobcast.progress.context import ContextAttributes
from jobcast.progress.estimator import ProgressEstimator
from jobcast.progress.lengths import length_pairs, length_ratios, length_relevance
from jobcast.progress.parameters import ProgressParameters
from jobcast.progress.simulation import simulate_strengths
from jobcast.progress.training import train_history, train_report
from tests.progress.synthetic import make_history

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from bench_progress_generalise import capped  # noqa: E402


def capped_history(n_exec: int, seed: int, stop_share: float = 0.15) -> pd.DataFrame:
    """Runs whose ``cap`` attribute sets their length (the benchmark's synthetic:capped)."""
    return capped(seed, n_runs=n_exec, stop_share=stop_share)


def test_length_ratios_without_lengths_to_learn_are_all_one() -> None:
    ctx = ContextAttributes(("cap",), {"cap": np.array([12.0, 8.0, 12.0])})
    now = ContextAttributes(("cap",), {"cap": np.array([8.0])})
    counts = np.array([12, 8, 12])
    assert length_ratios(now, ctx, counts, 4, None) is None
    assert length_ratios(None, ctx, counts, 4, np.array([0.5])) is None
    # a run capped at 8 expects 8: the 12-iteration candidates have 8 left where it has 4
    ratio = length_ratios(now, ctx, counts, 4, np.array([0.5]))
    assert ratio is not None and ratio.round(3).tolist() == [0.5, 1.0, 0.5]
    # equal lengths, or no attribute that orders them: nothing to learn
    assert length_relevance(to_arrays(make_history(n_exec=8, n_iter=6, seed=0))) is None
    noise = capped_history(12, seed=0).drop(columns=["cap", "size"])
    assert length_relevance(to_arrays(noise)) is None
    arrays = to_arrays(capped_history(12, seed=0, stop_share=0.0))
    relevance = length_relevance(arrays)
    assert relevance is not None and arrays.context is not None
    by_name = dict(zip(arrays.context.names, relevance.tolist(), strict=True))
    assert by_name["cap"] > 0.3 and by_name["data_seed"] < 0.1


def test_candidates_alike_in_context_keep_their_own_counts() -> None:
    # two candidates capped at 12 (one converged after 9), one capped at 8; the run is
    # capped at 12 and has finished 6 iterations
    ctx = ContextAttributes(("cap",), {"cap": np.array([12.0, 12.0, 8.0])})
    now = ContextAttributes(("cap",), {"cap": np.array([12.0])})
    counts = np.array([9, 12, 8])
    relevance = np.array([1.0])
    pairs = length_pairs(ctx, relevance, 3)
    assert pairs is not None and pairs.shape == (3, 3)
    # each to the run's expected 10.5: the converged one's 3 left count as 4.5
    plain = length_ratios(now, ctx, counts, 6, relevance)
    assert plain is not None and plain.round(3).tolist() == [1.5, 0.75, 2.25]
    # relative to their own context: the cap-12 ones stay as they ran, the cap-8 one,
    # which ran its context's whole count, is stretched to the run's 10.5
    relative = length_ratios(now, ctx, counts, 6, relevance, pairs)
    assert relative is not None and relative.round(3).tolist() == [1.0, 1.0, 2.25]
    assert length_pairs(None, relevance, 3) is None and length_pairs(ctx, None, 3) is None


def test_simulations_carry_ratios_only_where_lengths_vary() -> None:
    plain = simulate_strengths(to_arrays(make_history(n_exec=6, n_iter=8, seed=1)),
                               strengths=(1.0,))[1.0]
    assert plain.length_ratio is None and plain.converted() is plain
    arrays = to_arrays(capped_history(12, seed=1, stop_share=0.0))
    cases = simulate_strengths(arrays, strengths=(1.0,))[1.0]
    assert cases.length_ratio is not None and cases.length_ratio.shape == cases.valid.shape
    # in the middle of a run capped at 12, a candidate capped at 8 has 2 of its 8 left
    # where the run has 6 of 12: converted, its remaining runtime triples
    n = arrays.n_iter
    case = np.flatnonzero((n[cases.current] == 12) & (cases.iteration == 6))[0]
    shorter = np.flatnonzero(cases.valid[case] & (n == 8))
    assert shorter.size and np.allclose(cases.length_ratio[case, shorter], 3.0, rtol=0.05)
    same = np.flatnonzero(cases.valid[case] & (n == 12))
    assert np.allclose(cases.length_ratio[case, same], 1.0, rtol=0.05)
    converted = cases.converted()
    assert converted.length_ratio is None
    assert np.allclose(converted.raw_remaining, cases.raw_remaining * cases.length_ratio)
    assert np.allclose(cases.remaining(1.0, 1.0), converted.remaining(1.0))


@pytest.mark.parametrize("seed", [1, 2])
def test_training_converts_where_an_attribute_sets_the_length(seed: int) -> None:
    history = capped_history(16, seed=seed)
    report = train_history(history, n_jobs=1, random_state=0)
    assert report.params.length_strength == 1.0
    cases = simulate_strengths(to_arrays(history))
    plain = train_report(cases, random_state=0, lengths=False)
    assert plain.params.length_strength == 0.0
    # clearly lower, though a run that stops before its cap is not foreseen
    assert report.error_after < 0.92 * plain.error_after
    # equal lengths: nothing to convert, the parameters stay the paper's
    same = train_history(make_history(n_exec=12, n_iter=8, seed=seed), n_jobs=1, random_state=0)
    assert same.params.length_strength == 0.0


def test_the_estimator_converts_a_running_execution() -> None:
    history = capped_history(16, seed=2, stop_share=0.0)
    running = capped_history(20, seed=3, stop_share=0.0)
    current = running[(running["execution"] == "run-19") & (running["iteration"] < 4)]
    assert current["cap"].iloc[0] == 12  # 8 iterations remain
    remaining = {}
    for strength in (0.0, 1.0):
        params = ProgressParameters(length_strength=strength)
        estimator = ProgressEstimator(params, scale_out_model="none").fit(history)
        remaining[strength] = estimator.estimate(current.assign(execution="now")).remaining_s
    pace = current["duration_s"].iloc[1:].mean()
    assert remaining[1.0] == pytest.approx(8 * pace, rel=0.2)
    # as they ran, the candidates capped at 6 and 9 pull the estimate far down
    assert remaining[0.0] < 0.8 * remaining[1.0]
