import numpy as np
import pandas as pd
import pytest

from jobcast.progress.estimator import ProgressEstimator
from jobcast.progress.inference import (
    adjustment_factors,
    combine_estimates,
    recency_weights,
    remaining_estimates,
)
from tests.progress.synthetic import ernest_runtime


def test_adjustment_factor_recency_weighted():
    cur = np.array([10.0, 10.0, 30.0])
    sim = np.array([[10.0, 10.0, 10.0]])
    w = recency_weights(3)  # 1/3, 1/2, 1
    expected = (1 * w[0] + 1 * w[1] + 3 * w[2]) / w.sum()
    assert adjustment_factors(cur, sim) == pytest.approx([expected])


def test_remaining_and_combination():
    base = np.array([[1.0, 2.0, 0.0], [1.0, 1.0, 1.0]])  # first similar had one less iteration
    model = np.array([10.0, 10.0, 10.0])
    rem = remaining_estimates(base, model, np.array([1.0, 2.0]))
    assert rem.tolist() == [30.0, 60.0]
    assert combine_estimates(rem, np.array([1.0, 0.0]), 2.0) == 30.0
    assert combine_estimates(rem, np.array([0.0, 0.0]), 2.0) == 45.0


def _frame(execution, scale):
    profile = 5.0 + np.arange(len(scale), dtype=float)
    return pd.DataFrame(
        {
            "execution": execution,
            "iteration": np.arange(len(scale)),
            "duration_s": ernest_runtime(profile, np.asarray(scale, float)),
            "scale_out": scale,
        }
    )


@pytest.mark.parametrize("kind", ["ernest", "bell"])
def test_mid_run_scale_out_change_is_handled(kind):
    n = 12
    history = pd.concat(
        [_frame(f"h{s}-{k}", [s] * n) for s in (2, 4, 8, 16, 32) for k in range(2)]
        # one history execution itself rescaled mid-run
        + [_frame("h-rescaled", [4] * 5 + [16] * (n - 5))],
        ignore_index=True,
    )
    truth = _frame("current", [4] * 6 + [16] * (n - 6))
    current = truth[truth["iteration"] < 8]  # rescaled at iteration 6, now at 8
    actual_remaining = truth["duration_s"].iloc[8:].sum()
    est = ProgressEstimator(scale_out_model=kind).fit(history).estimate(current)
    assert est.iteration == 8
    assert est.remaining_s == pytest.approx(actual_remaining, rel=0.02)
    # without the scale-out model, runtimes at other scale-outs are taken as they are
    naive = ProgressEstimator(scale_out_model="none").fit(history).estimate(current)
    assert abs(naive.remaining_s - actual_remaining) > 5 * abs(est.remaining_s - actual_remaining)


def test_prepared_candidates_match_the_public_definitions():
    from jobcast.progress.arrays import to_arrays
    from jobcast.progress.prepared import prepare_history
    from jobcast.progress.scaling import fit_scale_out_table
    from jobcast.progress.similarity import runtime_similarity, scale_out_similarity
    from tests.progress.synthetic import make_history

    arrays = to_arrays(make_history(n_exec=8, n_iter=10, seed=11, rescale_share=0.6))
    table = fit_scale_out_table(arrays.runtime, arrays.scale_out, kind="ernest")
    prepared = prepare_history(arrays, table)
    current = arrays.row(0)
    i = 6
    cut = type(current)(
        executions=current.executions,
        n_iter=np.array([i]),
        runtime=current.runtime[:, :i],
        scale_out=current.scale_out[:, :i],
    )
    exclude = np.arange(8) == 0
    cand = prepared.candidates(cut, exclude=exclude)
    rows = cand.indices
    comparable = prepared.base[rows, :i] * table.lookup(np.arange(i), cut.scale_out[0])
    runtime = cut.runtime[0]
    assert cand.similarities[0] == pytest.approx(runtime_similarity(runtime, comparable))
    assert cand.similarities[4] == pytest.approx(
        scale_out_similarity(cut.scale_out[0], arrays.scale_out[rows, :i])
    )
    assert cand.factors == pytest.approx(adjustment_factors(runtime, comparable))
