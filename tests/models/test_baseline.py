"""The median baseline: as a model, as auto's last candidate, and in the evaluation's report."""

from __future__ import annotations

import numpy as np
import pandas as pd

from jobcast.evaluation.models import baseline_notes, evaluate_models
from jobcast.evaluation.models_results import HoldoutEvaluation, TrainingSizeEvaluation
from jobcast.models import AutoModel, MedianModel, make_model


def _outliers(rng: np.random.Generator, n_per: int = 10) -> tuple[pd.DataFrame, np.ndarray]:
    """Runtimes that zig-zag over the scale-out, every fifth run five times as long."""
    level = {2: 100.0, 4: 300.0, 6: 60.0, 8: 240.0}
    m = np.repeat(list(level), n_per)
    y = np.array([level[k] for k in m]) * np.where(np.arange(len(m)) % 5 == 0, 5.0, 1.0)
    X = pd.DataFrame({"scale_out": m, "noise": rng.uniform(1, 2, len(m))})
    return X, y


def test_median_per_scale_out_and_overall_elsewhere() -> None:
    X = pd.DataFrame({"scale_out": [2, 2, 2, 4, 4], "size": [1, 2, 3, 4, 5]})
    model = make_model("median", random_state=0).fit(X, np.array([10.0, 12.0, 30.0, 5.0, 7.0]))
    query = pd.DataFrame({"scale_out": [2, 4, 3], "size": [9, 9, 9]})
    assert list(model.predict(query)) == [12.0, 6.0, 10.0]


def test_auto_falls_back_to_the_baseline_when_models_lose(rng: np.random.Generator) -> None:
    """Was: auto chose among models that all lost to the median per scale-out."""
    X, y = _outliers(rng)
    auto = AutoModel(random_state=0).fit(X, y)
    assert auto.chosen_ == "median"
    assert isinstance(auto.estimator_, MedianModel)


def test_the_evaluation_reports_the_baseline_and_auto_choices(rng: np.random.Generator) -> None:
    """Was: no baseline row, and not a word about which model auto chose."""
    X, y = _outliers(rng)
    result = evaluate_models(
        X, y, models=["auto", "ernest"], repeats=2, train_sizes=[6, 12], random_state=0
    )
    out = result.to_dict()
    holdout = out["holdout"]
    assert holdout["baseline"]["model"] == "median"
    assert len(holdout["baseline"]["mape_per_repeat"]) == 2
    assert sum(holdout["auto_chosen"].values()) == 2
    sizes = out["training_sizes"]
    assert set(sizes["baseline"]["mape_per_size"]) == {"6", "12"}
    assert sum(sizes["auto_chosen"].values()) == 4
    assert holdout["mape"]["ernest"] > holdout["baseline"]["mape"]
    assert any("ernest (" in w and "did worse than the baseline" in w for w in result.warnings)


def test_auto_worse_than_the_baseline_on_few_rows_is_said() -> None:
    sizes = TrainingSizeEvaluation(
        train_sizes=(3, 6),
        skipped_sizes=(),
        test_size=0.2,
        repeats=1,
        n_rows=30,
        mapes={"auto": {3: (0.7,), 6: (0.3,)}},
        baseline={3: (0.5,), 6: (0.4,)},
        chosen={3: ("loglinear",), 6: ("loglinear",)},
    )
    holdout = HoldoutEvaluation(0.2, 1, 30, {"auto": (0.1,)}, baseline=(0.2,))
    (note,) = baseline_notes(holdout, sizes, job="j")
    assert note.startswith("job 'j': with 3 (MAPE 0.700 against 0.500) training rows, auto did")
    assert sizes.to_dict()["auto_chosen_per_size"] == {"3": {"loglinear": 1}, "6": {"loglinear": 1}}


def test_a_model_equal_to_the_baseline_as_shown_is_not_called_worse() -> None:
    """Was: "ernest did worse than the baseline" where both showed MAPE 0.176."""
    from types import SimpleNamespace

    from jobcast.evaluation.models import baseline_notes

    means = {"median": 0.17604, "ernest": 0.17641, "gbm": 0.2}
    holdout = SimpleNamespace(
        baseline=[0.17604], mapes=dict.fromkeys(means), mean=means.__getitem__
    )
    (note,) = baseline_notes(holdout, None, job="kmeans")  # type: ignore[arg-type]
    assert "gbm (0.200) did worse" in note and "ernest" not in note
