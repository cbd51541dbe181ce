"""benchmarks/bench_progress_turbulence.py: corrections are scored out of fold, from the past."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from bench_progress_turbulence import corrections, features, nearby  # noqa: E402


def _history() -> pd.DataFrame:
    # run-2 is rescaled after iteration 1 and twice as slow from there on
    rows = []
    for e in range(4):
        for i in range(6):
            slow = e == 2 and i >= 2
            rows.append((f"run-{e}", i, 10.0 * (2.0 if slow else 1.0), 8 if slow else 4))
    return pd.DataFrame(rows, columns=["execution", "iteration", "duration_s", "scale_out"])


def test_features_see_only_the_finished_iterations() -> None:
    cases = pd.DataFrame({"execution": ["run-2", "run-2", "run-0"], "iteration": [2, 4, 4]})
    x = features(_history(), cases)
    assert x[0].tolist() == [0.0, 0.0, 0.0, 0.0]  # iterations 0 and 1: nothing yet
    assert x[1, :2].tolist() == [1.0, pytest.approx(np.log(2.0))]
    assert x[1, 3] == pytest.approx(np.log(60.0 / 40.0))  # 10 + 10 + 20 + 20 against 40
    assert x[2].tolist() == [0.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize("seed", range(3))
def test_a_slowdown_the_features_announce_is_learned_and_noise_is_not(seed: int) -> None:
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(30), 3)
    actual = np.exp(rng.normal(3.0, 0.3, groups.size))
    rescaled = (rng.uniform(size=30) < 0.3)[groups].astype(float)
    x = np.column_stack([rescaled, rescaled, rng.normal(size=(groups.size, 2))])
    noise = np.exp(rng.normal(0.0, 0.05, groups.size))
    # rescaled runs are underestimated by half: the flag explains it
    estimate = actual * np.where(rescaled > 0, 0.5, 1.0) * noise
    out = corrections(x, estimate, actual, groups)
    none = float(np.mean(np.abs(estimate - actual) / actual))
    assert out["rescaled"]["loro"] < 0.5 * none
    assert out["recent pace"]["loro"] > 0.8 * none  # a feature of pure noise gains little
    assert out["all four"]["hindsight"] <= out["all four"]["loro"] + 1e-9


def test_nearby_uses_only_runs_started_before() -> None:
    cases = pd.DataFrame({"execution": ["a", "b", "c"], "iteration": [3, 3, 3]})
    starts = {"a": 0.0, "b": 600.0, "c": 1200.0}
    actual = np.array([100.0, 100.0, 100.0])
    # a and b were underestimated by half; c, estimated right, must not be "corrected"
    # unless it follows them, and a, the first, has nothing before it
    estimate = np.array([50.0, 50.0, 100.0])
    out = nearby(cases, starts, estimate, actual)
    # shrink k multiplies b and c by 2 ** k (the median residual before them is log 2):
    # errors 0.5, 1 - 2 ** (k - 1) and 2 ** k - 1, least at k = 0.25 of the grid
    assert out["shrink"] == 0.25
    assert out["hindsight"] == pytest.approx((0.5 + (1 - 2**-0.75) + (2**0.25 - 1)) / 3)
