import numpy as np
import pandas as pd
import pytest

from jobcast.progress.estimator import ProgressEstimator
from jobcast.progress.inference import (
    KIND_POWER,
    adjustment_factors,
    combine_estimates,
    kind_factors,
    kind_weights,
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
    now = table.lookup(np.arange(i, 10), np.array(cut.scale_out[0, -1]))
    expected = kind_factors(
        runtime / table.lookup(np.arange(i), cut.scale_out[0]), prepared.base[rows], i=i,
        past_model=table.lookup(np.arange(i), np.array(cut.scale_out[0, -1])), future_model=now,
        raw=(prepared.base[rows, i:] * now).sum(axis=1),
    )
    assert cand.factors == pytest.approx(expected)


def _kinds(rng: np.random.Generator, n_exec: int, carry: float) -> np.ndarray:
    """Runtimes of ``n_exec`` runs: 3 long, 10 short, 2 long iterations.

    Each run's short iterations share one random slowdown; its long ones another, of
    which the final two keep the share ``carry`` (the rest is fresh noise).
    """
    long_dev = rng.normal(0.0, 0.2, n_exec)
    short_dev = rng.normal(0.0, 0.5, n_exec)
    final_dev = carry * long_dev + (1 - carry) * rng.normal(0.0, 0.2, n_exec)
    long_ = 100.0 * np.exp(long_dev)[:, None] * np.ones((1, 3))
    short = 2.0 * np.exp(short_dev)[:, None] * np.ones((1, 10))
    final = 100.0 * np.exp(final_dev)[:, None] * np.ones((1, 2))
    return np.hstack([long_, short, final])


def _factors(runtime: np.ndarray, i: int, power: float = KIND_POWER) -> np.ndarray:
    model = np.median(runtime, axis=0)
    base = runtime / model
    raw = (base[1:, i:] * model[i:]).sum(axis=1)
    return kind_factors(
        base[0, :i], base[1:], i=i, past_model=model[:i], future_model=model[i:], raw=raw,
        power=power,
    )


def test_kind_factors_recover_a_slowdown_that_carries_over_exactly():
    rng = np.random.default_rng(0)
    runtime = _kinds(rng, 40, carry=1.0)
    i = 8
    factors = _factors(runtime, i)
    estimates = (runtime[1:, i:]).sum(axis=1) * factors
    assert estimates == pytest.approx(runtime[0, i:].sum(), rel=0.01)
    # the paper's single factor mixes the short iterations' slowdown into the long ones
    plain = adjustment_factors(runtime[0, :i], runtime[1:, :i])
    assert np.abs(runtime[1:, i:].sum(axis=1) * plain - runtime[0, i:].sum()).mean() > 1.0


def test_kind_factors_leave_iterations_that_do_not_follow_their_kind_unadjusted():
    # the final long iterations keep nothing of the early long ones' deviation: their
    # estimate is the candidate's own (factor 1), not scaled by the current run's
    rng = np.random.default_rng(1)
    runtime = _kinds(rng, 200, carry=0.0)
    i = 13
    factors = _factors(runtime, i)
    assert np.abs(factors - 1.0).max() < 0.1
    plain = adjustment_factors(runtime[0, :i], runtime[1:, :i])
    assert np.abs(plain - 1.0).max() > 0.3


def test_kind_factors_shrink_slopes_few_candidates_do_not_support():
    # 7 candidates, deviations that do not carry over: a plain least-squares slope
    # would follow the noise; the t-statistic shrinkage keeps the factors near 1
    spread = []
    for seed in range(20):
        runtime = _kinds(np.random.default_rng(seed), 8, carry=0.0)
        spread.append(np.abs(np.log(_factors(runtime, 13))).mean())
    assert np.mean(spread) < 0.035  # about 0.025; 0.05 without the shrinkage


def test_kind_weights_judge_each_iteration_by_its_kind():
    w = kind_weights(np.array([100.0, 2.0, 2.0]), np.array([100.0, 2.0]), KIND_POWER)
    assert w.sum(axis=1) == pytest.approx([1.0, 1.0])
    assert w[0, 0] > 0.99
    assert w[1, 0] < 0.01
    # power 0: the recency weights alone
    w0 = kind_weights(np.array([100.0, 2.0, 2.0]), np.array([100.0]), 0.0)
    assert w0[0] == pytest.approx(recency_weights(3) / recency_weights(3).sum())
