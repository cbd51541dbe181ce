import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from jobcast.errors import InputError, NotEnoughDataError
from jobcast.progress import ProgressEstimate, ProgressEstimator, ProgressParameters
from tests.progress.synthetic import make_history

COLUMNS = ["execution", "iteration", "duration_s", "scale_out"]


def test_empty_history_is_a_clear_error():
    with pytest.raises(NotEnoughDataError, match="empty"):
        ProgressEstimator().fit(pd.DataFrame(columns=COLUMNS))


def test_too_small_history_is_a_clear_error():
    one = make_history(n_exec=1, n_iter=5)
    with pytest.raises(NotEnoughDataError, match="at least 2"):
        ProgressEstimator().fit(one)


def test_current_execution_in_history_is_never_its_own_match():
    history = make_history(n_exec=2, n_iter=6, seed=4)
    est = ProgressEstimator(scale_out_model="none").fit(history)
    current = history[(history["execution"] == "run-0") & (history["iteration"] < 3)]
    result = est.estimate(current)
    assert [e for e, _ in result.similar] == ["run-1"]
    only_itself = ProgressEstimator(scale_out_model="none", min_executions=1).fit(
        history[history["execution"] == "run-0"]
    )
    with pytest.raises(NotEnoughDataError, match="No other execution"):
        only_itself.estimate(current)


def test_longer_than_any_history_is_a_clear_error():
    history = make_history(n_exec=3, n_iter=4)
    est = ProgressEstimator(scale_out_model="none").fit(history)
    longer = make_history(n_exec=1, n_iter=6).assign(execution="new")
    with pytest.raises(NotEnoughDataError, match="ran 6 iterations"):
        est.estimate(longer)


def test_bad_current_frames():
    history = make_history(n_exec=3, n_iter=4)
    est = ProgressEstimator(scale_out_model="none").fit(history)
    with pytest.raises(InputError, match="no finished iteration"):
        est.estimate(pd.DataFrame(columns=COLUMNS))
    with pytest.raises(InputError, match="holds 3 executions"):
        est.estimate(history)
    with pytest.raises(InputError, match="scale_out_model"):
        ProgressEstimator(scale_out_model="magic").fit(history)


def test_estimate_value_object_and_json():
    history = make_history(n_exec=20, n_iter=12, seed=5, with_records=True, with_input=True)
    params = ProgressParameters(weights=(1, 1, 0, 1, 1), exponent=4.0).to_dict()
    est = ProgressEstimator(params, scale_out_model="ernest").fit(history)
    assert clone(est).get_params()["scale_out_model"] == "ernest"
    current = (
        make_history(n_exec=1, n_iter=12, seed=99, with_records=True, with_input=True)
        .assign(execution="now")
        .query("iteration < 5")
    )
    result = est.estimate(current)
    assert isinstance(result, ProgressEstimate)
    assert result.iteration == 5
    assert result.total_s == pytest.approx(result.elapsed_s + result.remaining_s)
    assert sum(w for _, w in result.similar) == pytest.approx(1.0)
    weights = [w for _, w in result.similar]
    assert weights == sorted(weights, reverse=True)
    payload = json.loads(json.dumps(result.to_dict()))
    assert set(payload) == {
        "iteration", "elapsed_s", "remaining_s", "total_s", "similar", "spread", "best_similarity"
    }
    assert len(result.estimates_s) == len(result.similar)
    assert set(payload["similar"][0]) == {"execution", "weight", "remaining_s"}
    from dataclasses import FrozenInstanceError

    with pytest.raises(FrozenInstanceError):
        result.remaining_s = 1.0  # type: ignore[misc]


def test_estimate_is_accurate_on_clustered_history():
    history = make_history(n_exec=40, n_iter=15, seed=6, noise=0.03)
    truth = make_history(n_exec=1, n_iter=15, seed=7, noise=0.03).assign(execution="now")
    est = ProgressEstimator(ProgressParameters(exponent=20.0), scale_out_model="ernest")
    result = est.fit(history).estimate(truth[truth["iteration"] < 6])
    actual = truth["duration_s"].sum()
    assert abs(result.total_s - actual) / actual < 0.05


def test_hardware_samples_enter_the_similarity():
    history = make_history(n_exec=6, n_iter=6, seed=8)
    rng = np.random.default_rng(0)
    samples = pd.DataFrame(
        {
            "execution": np.repeat([f"run-{e}" for e in range(6)], 4),
            "node": np.tile(["a", "a", "b", "b"], 6),
            "timestamp": np.tile(np.arange(4), 6),
            "cpu": rng.uniform(0.1, 0.9, 24),
            "net_rx": rng.uniform(1, 10, 24),
        }
    )
    params = ProgressParameters(weights=(0, 0, 1, 0, 0), exponent=50.0)
    est = ProgressEstimator(params, scale_out_model="none").fit(history, hardware=samples)
    current = history[(history["execution"] == "run-3") & (history["iteration"] < 3)].assign(
        execution="now"
    )
    own = samples[samples["execution"] == "run-3"].assign(execution="now")
    result = est.estimate(current, hardware=own)
    assert result.similar[0][0] == "run-3"
    assert result.similar[0][1] > 0.5


def test_a_scale_out_far_outside_the_history_is_named():
    history = make_history(n_exec=4, n_iter=6, seed=4)
    low, high = history["scale_out"].min(), history["scale_out"].max()
    est = ProgressEstimator(scale_out_model="ernest").fit(history)
    assert est.scale_out_warning(float(high)) is None
    assert est.scale_out_warning(2.0 * high) is None
    far = est.scale_out_warning(1000.0 * high)
    assert far is not None and f"({low:g}-{high:g})" in far
    assert "check the running execution's scale_out" in far
    assert est.scale_out_warning(low / 4.0) is not None


def test_learned_state_ends_in_an_underscore_and_clone_drops_it():
    history = make_history(n_exec=3, n_iter=4)
    with pytest.raises(NotFittedError):
        check_is_fitted(ProgressEstimator())
    est = ProgressEstimator(scale_out_model="none").fit(history)
    check_is_fitted(est)
    assert est.row_of_ == {"run-0": 0, "run-1": 1, "run-2": 2}
    learned = {k for k in vars(est) if k not in est.get_params()}
    assert learned and all(k.endswith("_") for k in learned)
    assert not hasattr(clone(est), "row_of_")
