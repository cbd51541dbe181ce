"""Small histories: trained parameters against the defaults' simple choices, out of fold."""

from __future__ import annotations

import re

import numpy as np
import pytest

from jobcast.progress.arrays import to_arrays
from jobcast.progress.combine import mean_remaining_error
from jobcast.progress.few_runs import (
    SMALL_HISTORY,
    deployed_error,
    out_of_fold_errors,
    simple_options,
)
from jobcast.progress.parameters import ProgressParameters
from jobcast.progress.simulation import STRENGTH_GRID, SimulationCases, simulate_strengths
from jobcast.progress.training import train_report
from tests.progress.synthetic import make_history

GUARD = "parameters trained without a run estimated it worse"


def strengths(n_exec: int, seed: int, **history: object) -> dict[float, SimulationCases]:
    frame = make_history(n_exec=n_exec, n_iter=10, seed=seed, **history)  # type: ignore[arg-type]
    return simulate_strengths(to_arrays(frame), strengths=STRENGTH_GRID)


def test_out_of_fold_errors_leave_each_execution_out() -> None:
    by_strength = strengths(5, seed=0)
    chosen = by_strength[1.0]
    fixed = ProgressParameters(exponent=3.0)
    seen: list[set[int]] = []

    def fit(cases: SimulationCases) -> ProgressParameters:
        # neither as the current execution nor as a candidate of any case
        candidates = set(np.flatnonzero(cases.valid.any(axis=0)).tolist())
        seen.append(set(np.unique(cases.current).tolist()) | candidates)
        return fixed

    trained, simple = out_of_fold_errors(by_strength, chosen, fit)
    every = set(np.unique(chosen.current).tolist())
    assert len(seen) == 5 and sorted(len(every - s) for s in seen) == [1] * 5
    assert {min(every - s) for s in seen} == every  # each execution left out once
    # parameters that do not depend on the runs fitted on err as on the whole history
    # (5 executions: too few for the blend)
    assert trained == pytest.approx(mean_remaining_error(chosen, fixed))
    assert np.isfinite(simple) and simple > 0


def test_deployed_error_blends_only_where_training_would() -> None:
    big = strengths(8, seed=1)[1.0]
    small = strengths(5, seed=1)[1.0]
    for cases in (big, small):
        assert deployed_error(cases.actual_remaining.copy(), cases) == 0.0
    # three times too much: the blend (fitted without each run) scales it back, where
    # training would blend at all (two executions per fold of the blend's three)
    tripled = 3.0 * big.actual_remaining
    assert deployed_error(tripled, big) < 0.5
    assert deployed_error(3.0 * small.actual_remaining, small) == pytest.approx(2.0)
    # a case without an estimate counts as 0 s remaining (error 1)
    missing = small.actual_remaining.copy()
    missing[0] = np.nan
    assert deployed_error(missing, small) == pytest.approx(1.0 / small.n_cases)


@pytest.mark.parametrize("seed", [0, 1, 5, 7])
def test_small_history_keeps_training_where_it_predicts_better(seed: int) -> None:
    # runs in clusters of speed and profile: the similarity measures find the cluster,
    # which the defaults' simple choices do not weigh
    by_strength = strengths(6, seed=seed, noise=0.15)
    report = train_report(by_strength, n_starts=1, maxfun=60, random_state=0)
    assert not any(GUARD in n for n in report.notes)
    assert report.params not in simple_options(by_strength).values()
    assert report.executions < SMALL_HISTORY


@pytest.mark.parametrize("seed", [2, 3])
def test_small_history_keeps_the_simple_choice_where_training_errs_more(seed: int) -> None:
    # one cluster, noisy iterations: nothing for a dozen parameters to learn from 6 runs
    by_strength = strengths(6, seed=seed, speeds=(1.0,), noise=0.3, rescale_share=0.0)
    report = train_report(by_strength, n_starts=1, maxfun=60, random_state=0)
    (note,) = [n for n in report.notes if GUARD in n]
    trained, simple = (float(x) for x in re.findall(r"\((\d\.\d+) against (\d\.\d+)", note)[0])
    assert simple < trained
    plain = report.params.with_values(fallback=0.0, scaled_share=0.0, scale=1.0)
    assert plain in simple_options(by_strength).values()
    assert report.error_after == pytest.approx(
        mean_remaining_error(by_strength[report.params.scale_out_strength], report.params)
    )
