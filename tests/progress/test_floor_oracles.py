"""The learned oracles of benchmarks/bench_progress_floor.py: they learn, and they do not peek."""

from __future__ import annotations

import numpy as np
import pytest
from benchmarks.bench_progress_floor import LEARNED, known_at, learned_floors, learned_parts

from jobcast.progress.simulation import sample_iterations


def synthetic_runs(
    seed: int, *, tail_from_pace: bool, n_runs: int = 20, n_iter: int = 12
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Runs with three long first iterations, short middle ones and two long last ones.

    ``tail_from_pace``: the last two iterations are 100 s times the run's pace (seen in
    its first iterations); else they are noise independent of everything before.
    """
    rng = np.random.default_rng(seed)
    runs, scale = [], []
    for _ in range(n_runs):
        pace = float(np.exp(rng.normal(0.0, 0.3)))
        head = 50.0 * pace * np.exp(rng.normal(0.0, 0.02, 3))
        body = np.exp(rng.normal(0.0, 0.1, n_iter - 5))
        if tail_from_pace:
            tail = np.array([60.0, 40.0]) * pace
        else:
            tail = np.array([60.0, 40.0]) * float(np.exp(rng.normal(0.0, 0.3)))
        runs.append(np.concatenate([head, body, tail]))
        scale.append(np.full(n_iter, 8.0))
    return runs, scale


def median_oracle(runs: list[np.ndarray], k: int) -> float:
    """The floor bench's ``median`` oracle: the other runs' median last-k sum."""
    tails = np.array([d[-k:].sum() for d in runs])
    errs = []
    for r, d in enumerate(runs):
        for i in sample_iterations(len(d)):
            actual = d[i:].sum()
            guess = d[i : len(d) - k].sum() + np.median(np.delete(tails, r))
            errs.append(abs(guess - actual) / actual)
    return float(np.mean(errs))


def test_known_at_sees_only_the_finished_iterations() -> None:
    d = np.arange(1.0, 11.0)
    s = np.full(10, 4.0)
    changed = d.copy()
    changed[5:] *= 3.0
    np.testing.assert_array_equal(known_at(d, s, 5), known_at(changed, s, 5))
    assert known_at(d, s, 5).size == 5 + 3


@pytest.mark.parametrize("seed", [0, 1])
def test_learned_oracles_find_a_tail_the_pace_predicts(seed: int) -> None:
    runs, scale = synthetic_runs(seed, tail_from_pace=True)
    learned = learned_floors(runs, scale, 2, ("ridge",))
    assert set(learned) == {"ridge 2"}
    # the tail varies by ~30 % between runs: the median misses it, ridge reads it off
    assert median_oracle(runs, 2) > 0.1
    assert learned["ridge 2"] < 0.3 * median_oracle(runs, 2)


def test_learned_oracles_do_not_beat_noise() -> None:
    # tails independent of everything known: no learner can do much better than the
    # median, unless it peeks at the future
    runs, scale = synthetic_runs(3, tail_from_pace=False)
    learned = learned_floors(runs, scale, 2)
    assert set(learned) == {f"{n} 2" for n in LEARNED}
    base = median_oracle(runs, 2)
    assert min(learned.values()) > 0.85 * base


def test_without_oracle_every_remaining_iteration_is_predicted() -> None:
    runs, scale = synthetic_runs(4, tail_from_pace=True)
    learned = learned_floors(runs, scale, None, ("ridge",))
    assert set(learned) == {"ridge all"}
    # the whole remainder is pace-driven but the middle iterations add noise
    assert 0.0 < learned["ridge all"] < 0.1


def test_parts_learned_apart_add_up() -> None:
    # last two iterations from the pace, the body noise: the body oracle (last two told)
    # errs by the body's noise only, the parts summed by about as much, the pair is named
    runs, scale = synthetic_runs(5, tail_from_pace=True)
    out = learned_parts(runs, scale, 2, ("ridge",))
    assert set(out) == {"body ridge", "parts ridge+ridge", "parts"}
    assert out["parts"] == out["parts ridge+ridge"]
    assert 0.0 < out["body ridge"] < 0.02
    assert out["parts"] < 0.05
    # told nothing of the tail, a median-only body and tail errs far more
    assert out["parts"] < 0.5 * median_oracle(runs, 2)
