import json

import numpy as np
import pandas as pd
import pytest

from jobcast.errors import NotEnoughDataError
from jobcast.evaluation.progress import (
    baseline_estimates,
    evaluate_progress,
    evaluate_similarity,
    plot_progress_errors,
    read_ellis_trace,
)
from jobcast.progress import ProgressEstimator, ProgressParameters, to_arrays
from jobcast.progress.quality import plot_quality, similarity_quality
from jobcast.progress.simulation import simulate_cases
from tests.conftest import shared_file
from tests.progress.synthetic import make_history


def test_baselines_on_a_tiny_history():
    history = make_history(n_exec=3, n_iter=4, seed=1, rescale_share=0.0)
    arrays = to_arrays(history)
    out = baseline_estimates(arrays, np.array([0]), np.array([2]))
    others = arrays.runtime[1:, 2:].sum(axis=1).mean()
    assert out["history_mean"][0] == pytest.approx(others)
    assert out["linear"][0] == pytest.approx(arrays.runtime[0, :2].sum())  # 2 of 4 done


@pytest.mark.slow
def test_evaluate_progress_protocol_and_json(tmp_path):
    history = make_history(n_exec=15, n_iter=12, seed=2, noise=0.05)
    result = evaluate_progress(
        history,
        job="synthetic",
        training="nested",
        scale_out_model="ernest",
        train_options={"n_starts": 1, "maxfun": 40},
    )
    assert result.estimates == 15 * 3
    payload = json.loads(json.dumps(result.to_dict()))
    assert set(payload) == {
        "job", "training", "estimates", "mre_remaining", "baselines_remaining", "mre",
        "baselines", "by_position", "interval", "without_estimate",
    }
    assert payload["without_estimate"] == 0  # every run the same length
    assert set(payload["baselines"]) == {"history_mean", "linear"}
    assert set(payload["baselines_remaining"]) == {"history_mean", "linear"}
    assert set(payload["by_position"]) == {"early", "middle", "late"}
    assert sum(p["estimates"] for p in payload["by_position"].values()) == result.estimates
    # the remaining-runtime error is the larger one on the same estimates
    assert result.mre_remaining > result.mre
    # on clustered executions SMiPE beats the history mean, on both metrics
    assert result.mre < result.baselines["history_mean"]
    assert result.mre_remaining < result.baselines_remaining["history_mean"]
    assert 0.6 <= payload["interval"]["coverage"] <= 1.0
    covered = result.cases["covered"]
    lows, highs = result.cases["interval_low_s"], result.cases["interval_high_s"]
    assert (lows <= highs).all() and covered.dtype == bool
    assert set(result.cases["iteration"]) == {2, 6, 10}  # 15% .. 85% of 12
    png = plot_progress_errors(result, tmp_path / "errors.png")
    assert png.stat().st_size > 1000
    given = evaluate_progress(
        history, training="given", params=ProgressParameters(exponent=10.0),
        scale_out_model="ernest",
    )
    assert given.training == "given" and given.estimates == result.estimates
    with pytest.raises(NotEnoughDataError):
        evaluate_progress(history[history["execution"].isin(["run-0", "run-1"])])


def test_ellis_traces_with_the_estimator_and_quality(tmp_path):
    path = shared_file("ellis", "logisticregression.csv")
    history = read_ellis_trace(path)
    assert set(history.columns) >= {"execution", "iteration", "duration_s", "scale_out"}
    runs = history["execution"].unique()
    assert len(runs) == 65
    current = history[(history["execution"] == runs[10]) & (history["iteration"] < 13)]
    est = ProgressEstimator(scale_out_model="ernest").fit(history)
    result = est.estimate(current)
    assert runs[10] not in [e for e, _ in result.similar]
    actual = history.loc[history["execution"] == runs[10], "duration_s"].sum()
    assert 0.5 * actual < result.total_s < 2.0 * actual
    cases = simulate_cases(to_arrays(history), scale_out_model="none")
    curves = similarity_quality(cases)
    assert plot_quality(curves, tmp_path / "quality.png").exists()
    via_evaluation = evaluate_similarity(
        history, job="lr", scale_out_model="none", plot=tmp_path / "q2.png"
    )
    assert (tmp_path / "q2.png").exists()
    assert np.allclose(via_evaluation["runtime"].n, curves["runtime"].n)
    assert set(via_evaluation["final"].to_dict()) >= {"t", "h", "n", "x", "q"}


def test_history_mean_baseline_uses_executions_that_reached_the_iteration():
    history = make_history(n_exec=4, n_iter=6, seed=3, rescale_share=0.0)
    # run-3 stopped after 2 iterations: it has no remaining runtime at iteration 3
    history = history[(history["execution"] != "run-3") | (history["iteration"] < 2)]
    arrays = to_arrays(history)
    out = baseline_estimates(arrays, np.array([0]), np.array([3]))
    reached = arrays.runtime[1:3, 3:].sum(axis=1).mean()
    assert out["history_mean"][0] == pytest.approx(reached)


def test_nested_trainings_notes_are_summed_up_not_logged_each(caplog):
    # 5 executions: each nested training sees 4, fewer than training needs, and notes it
    history = make_history(n_exec=5, n_iter=6, seed=3, rescale_share=0.0)
    with caplog.at_level("INFO"):
        evaluate_progress(
            history, job="synthetic", training="nested", scale_out_model="ernest",
            train_options={"n_starts": 1, "maxfun": 20}, n_jobs=1,
        )
    training = [r for r in caplog.records if r.name == "jobcast.progress.training"]
    assert not [r for r in training if r.levelname == "WARNING"]
    summary = [r.getMessage() for r in caplog.records if "Nested training:" in r.getMessage()]
    assert len(summary) == 1 and "5 of 5 trainings left notes" in summary[0]
    assert "execution(s) to train on" in summary[0]


def test_a_held_out_execution_never_reaches_its_own_training():
    # run-0's last iteration lies after every sample of it, so its estimates may depend
    # on it only through the training; nested training must not see it at all
    history = make_history(n_exec=8, n_iter=12, seed=4, noise=0.1)
    changed = history.copy()
    last = (changed["execution"] == "run-0") & (changed["iteration"] == 11)
    changed.loc[last, "duration_s"] *= 8.0
    options = {
        "job": "synthetic", "training": "nested", "scale_out_model": "ernest",
        "train_options": {"n_starts": 1, "maxfun": 30}, "n_jobs": 1,
    }
    before = evaluate_progress(history, **options).cases
    after = evaluate_progress(changed, **options).cases
    own = before["execution"] == "run-0"
    assert np.array_equal(before.loc[own, "smipe_total_s"], after.loc[own, "smipe_total_s"])
    # the change is seen where run-0 is a candidate of the others' estimates
    assert not np.array_equal(before.loc[~own, "smipe_total_s"], after.loc[~own, "smipe_total_s"])


def _runs(lengths: list[int]) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = [
        {"execution": e, "iteration": i, "duration_s": float(rng.uniform(1, 3)), "scale_out": 4}
        for e, n in enumerate(lengths)
        for i in range(n)
    ]
    return pd.DataFrame(rows)


def test_a_sample_point_no_other_run_reached_counts_against_smipe():
    # The longest run's late sample (iteration 34 of 40) lies past every other run's
    # end: SMiPE has nothing to compare with (a user gets no ETA), which must count as
    # an error of 1, as the history mean's 0 s there, not leave SMiPE's mean.
    result = evaluate_progress(_runs([10, 12, 14, 16, 18, 20, 40]), training="none")
    cases = result.cases
    longest = cases[cases["n_iter"] == 40]
    assert result.without_estimate == 1 and result.to_dict()["without_estimate"] == 1
    late = longest[longest["iteration"] == 34].iloc[0]
    assert late["smipe_error_remaining"] == pytest.approx(1.0) and not late["covered"]
    assert late["history_mean_error_remaining"] == pytest.approx(1.0)
    assert cases["smipe_error_remaining"].notna().all()
    assert result.mre_remaining == pytest.approx(cases["smipe_error_remaining"].mean())


def test_runs_of_one_iteration_get_a_clear_error_and_nested_training_keeps_defaults():
    with pytest.raises(NotEnoughDataError, match="two or more iterations"):
        evaluate_progress(_runs([1, 1, 1]), training="none")
    # Held out, the one run of three iterations leaves nothing to train on: its
    # training keeps the default parameters (as `train progress` does) instead of failing.
    result = evaluate_progress(_runs([1, 1, 3]), training="nested")
    assert result.estimates == 2
