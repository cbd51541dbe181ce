"""The context measure: attributes per execution, their learned relevance, the similarity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jobcast.progress import ProgressEstimator
from jobcast.progress.arrays import check_current, to_arrays
from jobcast.progress.context import (
    NUMERIC_SHARPNESS,
    ContextAttributes,
    context_attributes,
    context_relevance,
    context_similarity,
)
from jobcast.progress.parameters import ProgressParameters
from jobcast.progress.prepared import learn_relevance
from jobcast.progress.similarity import MEASURES
from jobcast.progress.simulation import simulate_cases
from jobcast.progress.training import train_report

CONTEXT = MEASURES.index("context")


def capped_history(n_exec: int, *, seed: int) -> pd.DataFrame:
    """Runs whose ``cap`` attribute fixes their number of iterations; ``seed`` is noise.

    Every iteration costs about the same, so the runs' iterations so far say nothing
    about how many remain: only the cap does.
    """
    rng = np.random.default_rng(seed)
    frames = []
    for e in range(n_exec):
        cap = int(rng.choice([4, 8, 12]))
        frames.append(
            pd.DataFrame({
                "execution": f"run-{e}",
                "iteration": np.arange(cap),
                "duration_s": 5.0 * rng.lognormal(0.0, 0.1, cap),
                "scale_out": 4,
                "cap": float(cap),
                "seed": float(rng.integers(1000)),
                "mode": "a" if e % 2 else "b",
            })
        )
    return pd.concat(frames, ignore_index=True)


def test_attributes_one_value_per_execution_canonical_columns_left_out() -> None:
    frame = pd.DataFrame({
        "execution": ["x", "x", "y"], "iteration": [0, 1, 0], "duration_s": 1.0,
        "scale_out": 2, "records": 5.0, "input_size": 3.0,
        "k": [np.nan, 4.0, 7.0], "mode": ["fast", "fast", None],
    })
    ctx = context_attributes(frame, np.array([0, 0, 1]), 2)
    assert ctx is not None and ctx.names == ("k", "mode")
    assert ctx.values["k"].tolist() == [4.0, 7.0]
    assert ctx.values["mode"].tolist() == ["fast", None]
    assert ctx.is_numeric("k") and not ctx.is_numeric("mode")
    assert context_attributes(frame[["execution", "iteration", "duration_s"]],
                              np.array([0, 0, 1]), 2) is None


def test_relevance_is_zero_for_noise_and_constants_seeded() -> None:
    """Over many seeds, an attribute unrelated to the targets rarely gets any relevance."""
    rng = np.random.default_rng(7)
    hits = []
    for _ in range(200):
        n = 16
        target = rng.lognormal(0.0, 0.5, n)
        ctx = ContextAttributes(
            ("seed", "constant", "cat", "signal"),
            {
                "seed": rng.permutation(n).astype(float),
                "constant": np.full(n, 3.0),
                "cat": np.array(list("abcd" * 4), dtype=object)[rng.permutation(n)],
                "signal": np.log(target) + rng.normal(0.0, 0.1, n),
            },
        )
        rel = context_relevance(ctx, [target])
        hits.append(rel > 0)
        assert rel[1] == 0.0 and rel[3] > 0.3
    share = np.mean(hits, axis=0)
    assert share[0] < 0.1 and share[2] < 0.1


def test_categorical_attribute_that_splits_the_runs_is_relevant() -> None:
    groups = np.array(["slow"] * 8 + ["fast"] * 8, dtype=object)
    target = np.where(groups == "slow", 10.0, 1.0) + np.arange(16) * 0.01
    rel = context_relevance(ContextAttributes(("g",), {"g": groups}), [target])
    assert rel[0] > 0.3


def test_similarity_ratio_for_numbers_equality_for_categories_weighted_by_relevance() -> None:
    history = ContextAttributes(
        ("k", "mode"),
        {"k": np.array([5.0, 10.0, np.nan]), "mode": np.array(["a", "b", "a"], dtype=object)},
    )
    current = ContextAttributes(
        ("k", "mode"), {"k": np.array([5.0]), "mode": np.array(["a"], dtype=object)}
    )
    sims = context_similarity(current, history, np.array([1.0, 1.0]))
    assert sims is not None
    # k: (5 / 10) ** 4 = 0.0625; then (1 + 1)/2, (0.0625 + 0)/2, mode only
    np.testing.assert_allclose(sims, [1.0, 0.03125, 1.0])
    only_k = context_similarity(current, history, np.array([1.0, 0.0]))
    assert only_k is not None
    np.testing.assert_allclose(only_k[:2], [1.0, 0.5**NUMERIC_SHARPNESS])
    assert np.isnan(only_k[2])
    assert context_similarity(current, history, np.zeros(2)) is None
    unknown = ContextAttributes(("k",), {"k": np.array([np.nan])})
    assert context_similarity(unknown, history, np.ones(2)) is None


def test_similarity_of_non_positive_numbers_uses_the_range() -> None:
    history = ContextAttributes(("t",), {"t": np.array([-1.0, 0.0, 1.0])})
    current = ContextAttributes(("t",), {"t": np.array([0.0])})
    sims = context_similarity(current, history, np.ones(1))
    assert sims is not None
    np.testing.assert_allclose(sims, [0.5**NUMERIC_SHARPNESS, 1.0, 0.5**NUMERIC_SHARPNESS])


def test_an_iteration_cap_of_8_is_unlike_one_of_12_and_like_itself() -> None:
    history = ContextAttributes(("iterations",), {"iterations": np.array([8.0, 10.0, 12.0])})
    current = ContextAttributes(("iterations",), {"iterations": np.array([12.0])})
    sims = context_similarity(current, history, np.ones(1))
    assert sims is not None
    assert sims[0] < 0.25 < sims[1] < 0.5 < sims[2] == 1.0  # (2/3)^4, (5/6)^4, 1


def test_history_and_current_carry_the_attributes_and_relevance_finds_the_cap() -> None:
    history = capped_history(24, seed=1)
    arrays = to_arrays(history)
    assert arrays.context is not None
    learned = learn_relevance(arrays)
    assert learned is not None
    rel = dict(zip(arrays.context.names, learned, strict=True))
    assert rel["cap"] > 0.3 and rel["seed"] == 0.0 and rel["mode"] == 0.0
    assert arrays.subset(np.array([2, 0])).context.values["cap"].tolist() == [  # type: ignore[union-attr]
        arrays.context.values["cap"][2], arrays.context.values["cap"][0]
    ]
    current = check_current(history[history["execution"] == "run-3"].drop(columns="execution"))
    assert current.context is not None
    assert current.context.values["cap"].tolist() == [arrays.context.values["cap"][3]]


def test_untrained_and_older_parameters_ignore_the_context_measure() -> None:
    assert ProgressParameters().weights[CONTEXT] == 0.0
    old = {"weights": {m: 1.0 for m in MEASURES[:5]}, "thresholds": {}}
    assert ProgressParameters.from_dict(old).weights[CONTEXT] == 0.0
    assert ProgressParameters(weights=(1, 1, 1, 1, 1)).weights == (1, 1, 1, 1, 1, 0)
    history = capped_history(12, seed=2)
    current = history[(history["execution"] == "run-0") & (history["iteration"] < 2)]
    done = history[history["execution"] != "run-0"]
    bare = done.drop(columns=["cap", "seed", "mode"])
    plain = ProgressEstimator(scale_out_model="none").fit(bare)
    with_context = ProgressEstimator(scale_out_model="none").fit(done)
    assert with_context.estimate(current).remaining_s == pytest.approx(
        plain.estimate(current.drop(columns=["cap", "seed", "mode"])).remaining_s
    )


def test_live_estimate_uses_the_running_executions_attributes() -> None:
    history = capped_history(30, seed=3)
    done = history[history["execution"] != "run-0"]
    run = history[history["execution"] == "run-0"]
    cap = int(run["cap"].iloc[0])
    current = run[run["iteration"] < 2]
    params = ProgressParameters.from_dict({
        "weights": {"runtime": 0.0, "scale_out": 0.0, "context": 1.0},
        "thresholds": {"context": 1.0}, "exponent": 2.0,
    })
    est = ProgressEstimator(params, scale_out_model="none").fit(done)
    got = est.estimate(current)
    caps = done.groupby("execution")["cap"].first()
    assert all(caps[e] == cap for e, _ in got.similar)
    actual = float(run["duration_s"].iloc[2:].sum())
    assert got.remaining_s == pytest.approx(actual, rel=0.25)
    # attributes unknown for the running execution: the measure is skipped
    blind = est.estimate(current.drop(columns=["cap", "seed", "mode"]))
    assert {caps[e] for e, _ in blind.similar} != {cap}


def test_training_weighs_the_context_and_beats_the_estimator_without_it() -> None:
    history = capped_history(20, seed=4)
    with_context = simulate_cases(to_arrays(history), scale_out_model="none")
    without = simulate_cases(
        to_arrays(history.drop(columns=["cap", "seed", "mode"])), scale_out_model="none"
    )
    assert "context" in with_context.available_measures
    assert "context" not in without.available_measures
    trained = train_report(with_context, n_starts=1, maxfun=60, random_state=0)
    plain = train_report(without, n_starts=1, maxfun=60, random_state=0)
    assert trained.params.weights[CONTEXT] > 0.0
    assert trained.error_after < 0.8 * plain.error_after


def test_train_history_reports_each_attributes_relevance() -> None:
    from jobcast.progress.training import train_history

    report = train_history(
        capped_history(16, seed=5), scale_out_model="none", strengths=(0.5,),
        n_starts=1, maxfun=40, random_state=0,
    )
    relevance = dict(report.context_relevance)
    assert set(relevance) == {"cap", "seed", "mode"}
    assert relevance["cap"] > 0.3
    assert relevance["seed"] == 0.0
    assert report.to_dict()["context_relevance"] == relevance
    plain = train_history(
        capped_history(16, seed=5).drop(columns=["cap", "seed", "mode"]),
        scale_out_model="none", strengths=(0.5,), n_starts=1, maxfun=40, random_state=0,
    )
    assert plain.context_relevance == ()
