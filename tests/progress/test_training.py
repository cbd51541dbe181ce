import numpy as np
import pytest

from jobcast.errors import NotEnoughDataError
from jobcast.progress.arrays import to_arrays
from jobcast.progress.combine import case_estimates, mean_total_error
from jobcast.progress.parallel import dask_backend
from jobcast.progress.parameters import ProgressParameters
from jobcast.progress.quality import similarity_quality
from jobcast.progress.similarity import MEASURES
from jobcast.progress.simulation import sample_iterations, simulate_cases
from jobcast.progress.training import thresholds_from_quality, train_on_cases, train_parameters
from tests.progress.synthetic import make_history


@pytest.fixture(scope="module")
def cases():
    history = make_history(n_exec=24, n_iter=15, seed=1, noise=0.08)
    return simulate_cases(to_arrays(history), scale_out_model="ernest")


def test_sample_iterations_protocol():
    assert sample_iterations(35).tolist() == [5, 18, 30]
    assert sample_iterations(100).tolist() == [15, 50, 85]
    assert sample_iterations(1).size == 0


def test_simulation_never_uses_the_estimated_execution(cases):
    assert cases.n_cases == 24 * 3
    assert not cases.valid[np.arange(cases.n_cases), cases.current].any()
    batched = case_estimates(cases, ProgressParameters())
    from jobcast.progress.simulation import combined_estimate

    assert batched[5] == pytest.approx(combined_estimate(cases, 5, ProgressParameters()))


def test_training_lowers_the_error(cases):
    untrained = ProgressParameters(exponent=1.01)
    trained = train_on_cases(cases, random_state=0, n_starts=2, maxfun=80)
    assert mean_total_error(cases, trained) < 0.8 * mean_total_error(cases, untrained)
    # the runtime measure carries the cluster structure of the synthetic history
    assert trained.weights[0] > 0
    again = ProgressParameters.from_dict(trained.to_dict())
    assert mean_total_error(cases, again) == pytest.approx(mean_total_error(cases, trained))


def test_thresholds_from_quality(cases):
    thresholds = thresholds_from_quality(cases, a_min=0.0, n_min=1.0)
    assert thresholds[0] == 0.0  # everything already meets a_min = 0
    strict = thresholds_from_quality(cases, a_min=0.99999, n_min=0.9)
    assert strict == (0.0,) * len(MEASURES)  # unattainable: no filtering
    curves = similarity_quality(cases)
    assert {"runtime", "scale_out", "final"} <= set(curves)
    # the runtime similarity predicts accuracy on this history
    assert np.nanmean(curves["runtime"].q[:5]) > 0.2


@pytest.mark.slow
def test_train_parameters_end_to_end_with_joblib():
    history = make_history(n_exec=10, n_iter=10, seed=2)
    params = train_parameters(
        history, scale_out_model="ernest", n_jobs=2, n_starts=1, maxfun=40, random_state=0
    )
    assert isinstance(params, ProgressParameters)
    with pytest.raises(NotEnoughDataError):
        train_parameters(history[history["execution"] == "run-0"], scale_out_model="none")


def test_dask_scheduler_runs_simulations():
    distributed = pytest.importorskip("dask.distributed")
    history = make_history(n_exec=6, n_iter=8, seed=3)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        serial = simulate_cases(to_arrays(history), scale_out_model="ernest")
        with dask_backend(cluster.scheduler_address):
            remote = simulate_cases(to_arrays(history), scale_out_model="ernest")
    assert np.allclose(serial.raw_remaining, remote.raw_remaining)


def test_notes_not_logged_holds_for_its_own_thread_only(caplog):
    import threading

    from jobcast.progress.training import notes_not_logged, train_report

    few = simulate_cases(to_arrays(make_history(n_exec=3, n_iter=10, seed=2)))
    inside, done = threading.Event(), threading.Event()

    def quiet() -> None:
        with notes_not_logged():
            train_report(few)
            inside.set()
            done.wait(30)  # still within it while the other thread trains

    def noted() -> None:
        inside.wait(30)
        train_report(few)
        done.set()

    with caplog.at_level("WARNING", logger="jobcast.progress.training"):
        threads = [threading.Thread(target=quiet), threading.Thread(target=noted)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        train_report(few)  # and after it, in the thread that used it
    notes = [r for r in caplog.records if "execution(s) to train on" in r.getMessage()]
    assert [r.threadName for r in notes] == [threads[1].name, "MainThread"]
