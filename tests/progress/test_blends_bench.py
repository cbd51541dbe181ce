"""benchmarks/bench_progress_blends.py: the case-dependent blends are fitted out of fold."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from bench_progress_blends import out_of_fold  # noqa: E402
from bench_progress_generalise import load, random_lengths, subset  # noqa: E402


def _cases(seed: int, n_runs: int = 30) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(n_runs), 3)
    actual = np.exp(rng.normal(3.0, 0.5, groups.size))
    feature = rng.uniform(0.0, 1.0, groups.size)
    return rng, groups, actual, feature


@pytest.mark.parametrize("seed", range(3))
def test_a_scale_that_depends_on_the_feature_is_found_only_by_the_binned_blend(seed: int) -> None:
    rng, groups, actual, feature = _cases(seed)
    # the estimate is twice too high where the feature is below 0.5, right above it
    estimate = actual * np.where(feature < 0.5, 2.0, 1.0) * np.exp(rng.normal(0, 0.02, actual.size))
    cols = np.column_stack([estimate, np.full(actual.size, actual.mean())])
    binned = out_of_fold("spread2", cols, actual, groups, feature, feature, 5)
    pooled = out_of_fold("global", cols, actual, groups, feature, feature, 5)
    plain = out_of_fold("none", cols, actual, groups, feature, feature, 5)
    assert binned < 0.1 < pooled < plain


@pytest.mark.parametrize("seed", range(3))
def test_a_feature_without_signal_gains_nothing_out_of_fold(seed: int) -> None:
    rng, groups, actual, feature = _cases(seed, n_runs=12)
    estimate = actual * np.exp(rng.normal(0, 0.3, actual.size))
    cols = np.column_stack([estimate, actual.mean() * np.exp(rng.normal(0, 0.3, actual.size))])
    assert out_of_fold("frac3", cols, actual, groups, feature, feature, 4) > out_of_fold(
        "global", cols, actual, groups, feature, feature, 4) - 0.01


def test_random_lengths_vary_and_records_announce_them() -> None:
    frame = random_lengths(0, records=True)
    lengths = frame.groupby("execution")["iteration"].size()
    assert lengths.min() >= 8 and lengths.max() <= 40 and lengths.nunique() > 5
    last = frame.groupby("execution")["records"].last()
    assert np.allclose(last, 1e6 * np.exp(-4.0 * (lengths - 1) / lengths))


def test_subsets_of_runs_are_seeded_and_whole() -> None:
    # bench_progress_generalise.py --runs N: N whole runs, the same for the same seed
    _, frame, _ = load("synthetic:random,1")
    five = subset(frame, 5, 0)
    assert five["execution"].nunique() == 5
    assert subset(frame, 5, 0).equals(five) and not subset(frame, 5, 1).equals(five)
    sizes = frame.groupby("execution").size()
    got = five.groupby("execution").size()
    assert got.to_dict() == sizes[got.index].to_dict()
    with pytest.raises(SystemExit, match="only 16 runs"):
        subset(frame, 17, 0)
    with pytest.raises(SystemExit, match="synthetic:random,SEED"):
        load("synthetic:other,1")
