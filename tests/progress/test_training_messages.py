"""What ``train progress`` says beside its parameters: the history mean, the length rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jobcast.evaluation.progress import baseline_estimates
from jobcast.progress.lengths import MIN_LENGTH_GAIN, chosen_length
from jobcast.progress.parameters import ProgressParameters
from jobcast.progress.report import TrainingReport, history_mean_error
from jobcast.progress.simulation import simulate_history
from tests.progress.synthetic import make_history


def _report(error: float, notes: tuple[str, ...] = ()) -> TrainingReport:
    return TrainingReport(ProgressParameters(), 0.3, error, 0.1, 0.05, 30, 15, notes)


def test_a_conversion_not_kept_is_said_with_both_errors_and_the_rule() -> None:
    plain = _report(0.1576, ("earlier note",))
    kept = chosen_length(plain, _report(0.1637))
    assert kept.params.length_strength == 0
    assert kept.notes[0] == "earlier note"
    assert "0.1637" in kept.notes[-1] and "0.1576" in kept.notes[-1]
    assert f"{MIN_LENGTH_GAIN:.0%}" in kept.notes[-1]
    # kept: the parameters say so, and no such note
    better = chosen_length(plain, _report(0.1576 * (1 - 2 * MIN_LENGTH_GAIN)))
    assert better.params.length_strength == 1
    assert not any("conversion is kept only" in n for n in better.notes)


def test_history_mean_error_is_the_evaluation_baseline_on_the_same_points() -> None:
    history = make_history(n_exec=9, n_iter=8, seed=4)
    arrays, cases = simulate_history(history)
    some = next(iter(cases.values()))
    estimate = baseline_estimates(arrays, some.current, some.iteration)["history_mean"]
    expected = np.mean(
        np.abs(estimate - some.actual_remaining) / np.maximum(some.actual_remaining, 1e-9)
    )
    assert history_mean_error(arrays, some) == pytest.approx(expected)


def test_two_kinds_of_runs_only_where_the_totals_split_clearly() -> None:
    from jobcast.progress.report import two_kinds

    rng = np.random.default_rng(0)
    mixed = np.concatenate([rng.uniform(200, 400, 13), rng.uniform(750, 1800, 13)])
    groups = two_kinds(mixed)
    assert groups is not None and [len(g) for g in groups] == [13, 13]
    # one job's spread of speeds, with or without a few slow outliers: one kind
    assert two_kinds(rng.uniform(700, 1800, 60)) is None
    assert two_kinds(np.concatenate([rng.uniform(750, 1000, 19), [2000, 2100, 2190]])) is None
    assert two_kinds(mixed[:5]) is None  # too few runs to tell


def test_the_two_kinds_note_needs_the_defaults_to_err_far_more() -> None:
    from jobcast.progress.arrays import IterationArrays
    from jobcast.progress.report import with_baseline

    rng = np.random.default_rng(1)
    history = pd.DataFrame(
        [
            {"execution": f"r{e}", "iteration": i, "scale_out": 4,
             "duration_s": (4 if e < 6 else 1) * 10 * rng.uniform(0.9, 1.1)}
            for e in range(12)
            for i in range(8)
        ]
    )
    arrays, cases = simulate_history(history)
    some = next(iter(cases.values()))
    assert isinstance(arrays, IterationArrays)

    def notes(before: float) -> list[str]:
        report = TrainingReport(ProgressParameters(), before, 0.1, 0.1, 0.05, 36, 12)
        return [n for n in with_baseline(report, arrays, some).notes if "two different" in n]

    assert len(notes(0.5)) == 1 and "0.5000 against 0.1000" in notes(0.5)[0]
    assert notes(0.2) == []
