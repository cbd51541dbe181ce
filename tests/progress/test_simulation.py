"""Leave-one-out simulations: one joblib path whatever runs them, results as dataclasses."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pandas as pd
import pytest

from jobcast.progress.arrays import to_arrays
from jobcast.progress.parallel import dask_backend
from jobcast.progress.simulation import (
    SimulationCases,
    sample_iterations,
    simulate_cases,
    simulate_history,
    simulate_strengths,
)

from .synthetic import make_history


def _same(a: SimulationCases, b: SimulationCases) -> None:
    for f in fields(SimulationCases):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), f.name
        else:
            assert x == y, f.name


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return make_history(n_exec=6, n_iter=8, seed=3)


def test_one_report_per_simulated_execution(history: pd.DataFrame) -> None:
    history = history[~((history["execution"] == "run-5") & (history["iteration"] > 0))]
    calls: list[tuple[int, int]] = []
    cases = simulate_cases(
        to_arrays(history), scale_out_model="ernest", callback=lambda d, t: calls.append((d, t))
    )
    # run-5 has one iteration: nothing to sample, so 5 executions are simulated
    assert calls == [(d, 5) for d in range(1, 6)]
    assert cases.n_cases == 5 * sample_iterations(8).size
    assert cases.robust_remaining is not None and cases.robust_factor is not None
    assert cases.robust_remaining.shape == cases.robust_factor.shape == (cases.n_cases,)
    assert np.all(cases.robust_factor > 0)


def test_options_reach_simulate_strengths(history: pd.DataFrame) -> None:
    arrays = to_arrays(history)
    options = {"n_samples": 2, "padding": 0.1, "scale_out_model": "ernest"}
    one = simulate_cases(arrays, scale_out_strength=0.5, **options)
    both = simulate_strengths(arrays, strengths=(0.5, 1.0), **options)
    _same(one, both[0.5])
    assert one.n_cases == 6 * sample_iterations(8, 2, 0.1).size
    got_arrays, by_strength = simulate_history(history, strengths=(0.5,), **options)
    assert np.array_equal(got_arrays.executions, arrays.executions)
    _same(by_strength[0.5], one)


def test_a_dask_cluster_set_at_the_edge_gives_the_serial_results(
    history: pd.DataFrame,
) -> None:
    distributed = pytest.importorskip("dask.distributed")
    arrays = to_arrays(history)
    serial = simulate_strengths(arrays, scale_out_model="ernest", strengths=(0.0, 1.0))
    calls: list[tuple[int, int]] = []
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        with dask_backend(cluster.scheduler_address):
            remote = simulate_strengths(
                arrays,
                scale_out_model="ernest",
                strengths=(0.0, 1.0),
                callback=lambda d, t: calls.append((d, t)),
            )
    assert calls == [(d, 6) for d in range(1, 7)]
    for s in (0.0, 1.0):
        _same(serial[s], remote[s])


@pytest.mark.slow
def test_a_process_pool_gives_the_serial_results(history: pd.DataFrame) -> None:
    arrays = to_arrays(history)
    serial = simulate_cases(arrays, scale_out_model="ernest")
    pooled = simulate_cases(arrays, scale_out_model="ernest", n_jobs=2)
    _same(serial, pooled)


def test_an_unknown_scale_out_model_is_refused_before_any_simulation(
    history: pd.DataFrame,
) -> None:
    # a typo used to fall through to BELL here and be stored by training
    from jobcast.errors import InputError
    from jobcast.progress.training import train_history

    with pytest.raises(InputError, match=r"scale_out_model must be one of .*'foo'"):
        simulate_strengths(to_arrays(history), scale_out_model="foo")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="scale_out_model"):
        train_history(history, scale_out_model="BELL")  # type: ignore[arg-type]
