"""benchmarks/bench_progress_noise_floor.py: the noise of the last iterations and its floor."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from bench_progress_noise_floor import (  # noqa: E402
    ELLIS,
    best_relative_error,
    durations,
    noise_floor,
    noise_variances,
)


def test_the_best_estimate_is_the_median_weighted_by_the_inverse() -> None:
    assert best_relative_error(np.array([3.0, 3.0, 3.0])) == 0.0
    # estimating 1 errs 0 and 0.5, estimating 2 errs 1 and 0: 1 is best
    assert best_relative_error(np.array([2.0, 1.0])) == pytest.approx(0.25)


def test_noise_variances_separate_what_the_columns_share_from_their_own_noise() -> None:
    rng = np.random.default_rng(7)
    shared = rng.normal(0.0, 0.3, size=(20000, 1))
    logs = shared + rng.normal(0.0, [0.1, 0.2], size=(20000, 2))
    assert noise_variances(logs) == pytest.approx([0.01, 0.04], rel=0.15)
    with pytest.raises(ValueError, match="at least two"):
        noise_variances(logs[:, :1])


def _runs(n_runs: int, shared_sd: float, noise_sd: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    head = np.full((n_runs, 8), 1e-3)
    tail = 100.0 * np.exp(rng.normal(0.0, shared_sd, (n_runs, 1))
                          + rng.normal(0.0, noise_sd, (n_runs, 2)))
    return np.hstack([head, tail])


def test_independent_last_iterations_cost_their_noise_and_shared_ones_nothing() -> None:
    # two independent log-normal iterations of sd 0.2: the sum's relative noise is about
    # 0.2 / sqrt(2), and the best estimate errs by about sqrt(2 / pi) of that (0.113)
    floor, sds = noise_floor(_runs(3000, 0.0, 0.2, seed=1))
    assert sds == pytest.approx([0.2, 0.2], rel=0.1)
    assert 0.10 < floor < 0.125
    # the same spread shared by both: all of it is foreseeable, nothing is noise
    floor, _ = noise_floor(_runs(3000, 0.2, 0.0, seed=2))
    assert floor < 0.01


def test_runs_of_different_lengths_are_refused_with_the_file_named(tmp_path: Path) -> None:
    lines = ["ID|APP_ID|STARTED_AT|FINISHED_AT|APP_EVENT_ID|JOB_ID|STARTED_AT|FINISHED_AT"
             "|DURATION_MS|SCALE_OUT"]
    for run, jobs in ((1, 3), (2, 4)):
        lines += [f"{run}|A|2021-07-04 19:00:00|2021-07-04 19:10:00|{job}|{job}"
                  f"|2021-07-04 19:00:00|2021-07-04 19:00:01|1000|4" for job in range(jobs)]
    path = tmp_path / "short.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(SystemExit, match="short.csv.*2 different lengths"):
        durations(path)


@pytest.mark.skipif(not (ELLIS / "gbt.csv").exists(), reason="../shared/data/ellis is not here")
def test_gbt_runs_are_read_as_one_row_per_run() -> None:
    runtimes = durations(ELLIS / "gbt.csv")
    assert runtimes.shape == (65, 35)
    # gbt's last two iterations are its long ones (about 150 s each)
    assert np.median(runtimes[:, -2:]) > 50 * np.median(runtimes[:, 3:-2])
