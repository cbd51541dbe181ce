"""benchmarks/bench_progress_mix.py: the mixing weight chosen on the other runs is honest."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from bench_progress_mix import mixes  # noqa: E402


def test_a_perfect_regressor_is_chosen() -> None:
    rng = np.random.default_rng(0)
    actual = np.exp(rng.normal(5.0, 0.3, 90))
    smipe = actual * np.exp(rng.normal(0.0, 0.2, 90))
    out = mixes(smipe, actual.copy(), actual, np.repeat(np.arange(30), 3))
    assert out["alone"] == 0.0 and out["hindsight"] == 0.0 and out["chosen"] == 0.0
    assert out["hindsight_w"] == 1.0 and out["chosen_w_median"] == 1.0


@pytest.mark.parametrize("seed", range(4))
def test_a_gain_on_few_runs_shrinks_when_chosen_on_the_others(seed: int) -> None:
    # the regressor is worse than SMiPE except on three runs, where it is exact and
    # SMiPE twice too high: the weight they earn in hindsight does not carry over to
    # the runs left out, so the honest (chosen) error lies clearly above the hindsight one
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(30), 3)
    actual = np.exp(rng.normal(5.0, 0.3, 90))
    smipe = actual * np.exp(rng.normal(0.0, 0.05, 90))
    other = actual * np.exp(rng.normal(0.0, 0.15, 90))
    lucky = groups < 3
    smipe[lucky] = 2.0 * actual[lucky]
    other[lucky] = actual[lucky]
    out = mixes(smipe, other, actual, groups)
    assert out["hindsight_w"] > 0.0
    assert out["chosen"] > out["hindsight"] + 0.02
