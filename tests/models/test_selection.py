from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from jobcast.errors import InputError
from jobcast.models import MODEL_NAMES, AutoModel, make_model
from jobcast.models.selection import cv_splits

from .helpers import ernest_data, load_c3o_paper


def test_make_model_knows_every_name() -> None:
    assert {"auto", "ernest", "bell", "gbm", "optimistic", "optimistic-gbm"} <= set(MODEL_NAMES)
    for name in MODEL_NAMES:
        model = make_model(name, random_state=1)
        assert clone(model).get_params() == model.get_params()
    assert make_model("optimistic-gbm").kind == "gbm"
    with pytest.raises(InputError, match="Unknown model"):
        make_model("magic")
    with pytest.raises(InputError, match="does not take"):
        make_model("ernest", colour="red")


def test_cv_splits_suit_the_size() -> None:
    assert cv_splits(1) == []
    loo = cv_splits(3)
    assert [t.tolist() for _, t in loo] == [[0], [1], [2]]
    folds = cv_splits(50, n_folds=5, random_state=0)
    assert len(folds) == 5
    tested = np.sort(np.concatenate([t for _, t in folds]))
    np.testing.assert_array_equal(tested, np.arange(50))
    for train, test in folds:
        assert not set(train) & set(test)


def test_picks_the_power_law_on_power_law_data(rng: np.random.Generator) -> None:
    m = rng.choice([2.0, 4, 8, 16], size=40)
    size = rng.uniform(10, 100, size=40)
    y = 3.0 * size**0.9 * m**-0.7 * (1 + 0.01 * rng.standard_normal(40))
    X = pd.DataFrame({"scale_out": m, "size": size})
    model = AutoModel(candidates=("ernest", "bell", "loglinear"), rule="min").fit(X, y)
    assert model.chosen_ == "loglinear"
    assert model.cv_scores_["loglinear"] < model.cv_scores_["bell"]


def test_picks_ernest_on_ernest_data(rng: np.random.Generator) -> None:
    X, y = ernest_data(rng, n=60)
    model = AutoModel(candidates=("loglinear", "bell", "ernest"), rule="min").fit(X, y)
    assert model.chosen_ == "ernest"
    assert model.cv_scores_["ernest"] < 0.02


def test_one_se_rule_prefers_the_first_candidate_within_noise(rng: np.random.Generator) -> None:
    X, y = ernest_data(rng, n=60)
    best = AutoModel(candidates=("loglinear", "ernest"), rule="min").fit(X, y)
    se = AutoModel(candidates=("loglinear", "ernest")).fit(X, y)
    limit = best.cv_scores_[best.chosen_] + best.cv_standard_errors_[best.chosen_]
    expected = "loglinear" if best.cv_scores_["loglinear"] <= limit else "ernest"
    assert se.chosen_ == expected


def test_tiny_training_sets(rng: np.random.Generator) -> None:
    X, y = ernest_data(rng, n=3)
    model = AutoModel(random_state=0).fit(X, y)
    assert len(model.cv_errors_) == 3
    assert set(model.candidates_).isdisjoint({"gbm", "optimistic-gbm"})
    assert np.all(np.isfinite(model.predict(X)))
    single = AutoModel().fit(X.head(1), y[:1])
    assert single.cv_errors_.size == 0
    assert single.predict(X.head(1))[0] == pytest.approx(y[0])


def test_cv_errors_are_runtime_over_prediction(rng: np.random.Generator) -> None:
    X, y = ernest_data(rng, n=12)
    model = AutoModel(candidates=("loglinear",)).fit(X, y)
    predictions = np.array(
        [
            clone(model.estimator_).fit(X.drop(index=i), np.delete(y, i)).predict(X.iloc[[i]])[0]
            for i in range(12)
        ]
    )
    np.testing.assert_allclose(model.cv_errors_, y / predictions - 1.0)
    assert model.cv_scores_["loglinear"] == pytest.approx(np.mean(np.abs(predictions - y) / y))


def test_bad_options_and_input() -> None:
    X = pd.DataFrame({"scale_out": [1.0, 2.0, 0.0]})
    with pytest.raises(InputError, match="scale-out"):
        AutoModel().fit(X, [1.0, 2.0, 3.0])
    with pytest.raises(InputError, match="Unknown candidate"):
        AutoModel(candidates=("nope",)).fit(X.head(2), [1.0, 2.0])
    with pytest.raises(InputError, match="rule"):
        AutoModel(rule="max").fit(X.head(2), [1.0, 2.0])  # type: ignore[arg-type]


def test_auto_on_c3o_sort_holdout() -> None:
    X, y = load_c3o_paper("sort")
    order = np.random.default_rng(0).permutation(len(y))
    train, test = order[:29], order[29:]
    model = AutoModel(random_state=0).fit(X.iloc[train], y[train])
    error = np.mean(np.abs(model.predict(X.iloc[test]) - y[test]) / y[test])
    assert error < 0.08


def test_candidates_may_be_estimators_cloned_like_names(rng: np.random.Generator) -> None:
    from jobcast.models import BellModel, OptimisticModel

    X, y = ernest_data(rng, n=30)
    by_name = AutoModel(candidates=("optimistic", "bell"), random_state=3).fit(X, y)
    template = OptimisticModel()
    by_object = AutoModel(
        candidates=[("optimistic", template), ("bell", BellModel())], random_state=3
    ).fit(X, y)
    assert by_object.cv_scores_ == by_name.cv_scores_
    assert by_object.chosen_ == by_name.chosen_
    assert template.random_state is None and not hasattr(template, "n_features_in_")
    with pytest.raises(InputError, match="name or a \\(name, estimator\\) pair"):
        AutoModel(candidates=[42]).fit(X, y)  # type: ignore[list-item]


def test_selection_does_not_import_the_registry() -> None:
    import subprocess
    import sys

    probe = (
        "import sys, jobcast.models.selection\nprint('jobcast.models.registry' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_a_huge_history_is_chosen_and_fitted_on_a_random_subset() -> None:
    """Was: auto cross-validated every model on 251,000 rows (a share pulled into the job),
    and every prediction of the service waited for minutes."""
    rng = np.random.default_rng(0)
    m = rng.choice([2.0, 4.0, 8.0], size=3000)
    size = rng.choice([100.0, 200.0, 400.0], size=3000)
    X = pd.DataFrame({"scale_out": m, "size": size})
    y = (10.0 + size / m) * np.exp(rng.normal(0.0, 0.05, 3000))
    capped = AutoModel(candidates=["loglinear", "median"], max_rows=500, random_state=0).fit(X, y)
    assert len(capped.cv_errors_) == 500  # every held-out row is one of the 500
    full = AutoModel(candidates=["loglinear", "median"], random_state=0).fit(X, y)
    assert len(full.cv_errors_) == 3000
    at = pd.DataFrame({"scale_out": [2.0, 8.0], "size": [400.0, 400.0]})
    np.testing.assert_allclose(capped.predict(at), full.predict(at), rtol=0.05)
    with pytest.raises(InputError, match="max_rows"):
        AutoModel(max_rows=1).fit(X, y)
