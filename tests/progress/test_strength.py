"""The trained scale-out strength: damping the per-iteration scale-out models' conversions."""

import numpy as np
import pandas as pd
import pytest

from jobcast.errors import InputError
from jobcast.progress.arrays import to_arrays
from jobcast.progress.combine import mean_total_error
from jobcast.progress.estimator import ProgressEstimator
from jobcast.progress.parameters import ProgressParameters
from jobcast.progress.scaling import fit_scale_out_table
from jobcast.progress.simulation import STRENGTH_GRID, simulate_cases, simulate_strengths
from jobcast.progress.training import train_on_cases
from tests.progress.synthetic import make_history


def confounded_history(n_exec: int = 30, n_iter: int = 12, *, seed: int = 0) -> pd.DataFrame:
    """Runtimes that do not depend on the scale-out, which is confounded with the speed.

    Slow executions mostly ran on few executors and fast ones on many, so a scale-out
    model fitted per iteration across executions attributes the speed to the
    scale-out; some executions change scale-out mid-run without running faster or
    slower.
    """
    rng = np.random.default_rng(seed)
    j = np.arange(n_iter)
    frames = []
    for e in range(n_exec):
        fast = bool(rng.random() < 0.5)
        speed = 0.5 if fast else 1.0
        scale = np.full(n_iter, 16 if fast else 4)
        if rng.random() < 0.5:
            scale[int(rng.integers(2, n_iter - 2)):] = int(rng.choice([4, 8, 16]))
        profile = 10.0 + 4.0 * np.sin(j)
        runtime = profile * speed * rng.lognormal(0.0, 0.05, n_iter)
        frames.append(
            pd.DataFrame(
                {
                    "execution": f"run-{e}",
                    "iteration": j,
                    "duration_s": runtime,
                    "scale_out": scale,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_powered_table_damps_conversions():
    history = make_history(n_exec=12, n_iter=6, seed=4)
    arrays = to_arrays(history)
    table = fit_scale_out_table(arrays.runtime, arrays.scale_out, kind="ernest")
    assert table.powered(1.0) is table
    assert np.all(table.powered(0.0).table == 1.0)
    half = table.powered(0.5)
    ratio = table.table[:, 4] / table.table[:, 16]
    assert half.table[:, 4] / half.table[:, 16] == pytest.approx(np.sqrt(ratio))
    with pytest.raises(InputError):
        table.powered(1.5)


def test_strength_zero_converts_nothing():
    history = make_history(n_exec=12, n_iter=8, seed=5)
    current = history[(history["execution"] == "run-3") & (history["iteration"] < 5)]
    history = history[history["execution"] != "run-3"]
    off = ProgressEstimator(ProgressParameters(scale_out_strength=0.0), scale_out_model="ernest")
    none = ProgressEstimator(scale_out_model="none")
    a = off.fit(history).estimate(current)
    b = none.fit(history).estimate(current)
    assert a.remaining_s == pytest.approx(b.remaining_s)
    full = ProgressEstimator(scale_out_model="ernest").fit(history).estimate(current)
    assert full.remaining_s != pytest.approx(a.remaining_s)


def test_parameters_store_the_strength():
    p = ProgressParameters(scale_out_strength=0.25)
    assert ProgressParameters.from_dict(p.to_dict()) == p
    stored_before = {k: v for k, v in p.to_dict().items() if k != "scale_out_strength"}
    assert ProgressParameters.from_dict(stored_before).scale_out_strength == 1.0
    with pytest.raises(InputError):
        ProgressParameters(scale_out_strength=-0.1)


def test_simulations_per_strength_match_single_simulations():
    arrays = to_arrays(make_history(n_exec=8, n_iter=8, seed=6))
    both = simulate_strengths(arrays, scale_out_model="ernest", strengths=(0.5, 1.0))
    single = simulate_cases(arrays, scale_out_model="ernest", scale_out_strength=0.5)
    assert set(both) == {0.5, 1.0}
    assert both[0.5].strength == 0.5
    assert np.allclose(both[0.5].raw_remaining, single.raw_remaining)
    assert np.allclose(both[0.5].factors, single.factors)
    assert not np.allclose(both[1.0].raw_remaining, single.raw_remaining)
    with pytest.raises(InputError):
        simulate_strengths(arrays, strengths=(2.0,))


def test_training_damps_a_misleading_scale_out_model():
    arrays = to_arrays(confounded_history(seed=1))
    cases = simulate_strengths(arrays, scale_out_model="ernest", strengths=STRENGTH_GRID)
    trained = train_on_cases(cases, random_state=0, n_starts=1, maxfun=60)
    paper = train_on_cases(cases[1.0], random_state=0, n_starts=1, maxfun=60)
    assert paper.scale_out_strength == 1.0
    assert trained.scale_out_strength < 1.0
    # the matching's own estimates (the learned blend with the pace-scaled history mean
    # would otherwise stand in for both)
    plain = {"fallback": 0.0, "scaled_share": 0.0, "scale": 1.0}
    err = mean_total_error(cases[trained.scale_out_strength], trained.with_values(**plain))
    assert err < 0.8 * mean_total_error(cases[1.0], paper.with_values(**plain))


def test_training_keeps_a_scale_out_model_that_holds():
    # runtimes follow Ernest's model exactly up to noise: converting fully is right
    arrays = to_arrays(make_history(n_exec=24, n_iter=12, seed=7, noise=0.03, rescale_share=0.6))
    cases = simulate_strengths(arrays, scale_out_model="ernest", strengths=(0.0, 1.0))
    trained = train_on_cases(cases, random_state=0, n_starts=1, maxfun=60)
    assert trained.scale_out_strength == 1.0
