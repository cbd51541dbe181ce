from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from jobcast.models import GradientBoostingModel, LogLinearModel, OptimisticModel

from .helpers import load_c3o


def _product_data(rng: np.random.Generator, n: int = 60) -> tuple[pd.DataFrame, np.ndarray]:
    """Runtime = speed-up(m) x input behaviour(x): the optimistic model's own shape."""
    m = rng.choice([2.0, 4, 6, 8, 10, 12], size=n)
    x = rng.choice([1.0, 2, 3, 4, 5], size=n)
    y = (1.0 + 8.0 / m) * (20.0 + 10.0 * x)
    return pd.DataFrame({"scale_out": m, "x": x}), y


def test_optimistic_linear_recovers_a_product(rng: np.random.Generator) -> None:
    X, y = _product_data(rng)
    model = OptimisticModel().fit(X, y)
    np.testing.assert_allclose(model.predict(X), y, rtol=1e-3)
    grid = pd.DataFrame({"scale_out": [3.0, 16.0], "x": [2.5, 6.0]})
    np.testing.assert_allclose(
        model.predict(grid), (1 + 8 / grid["scale_out"]) * (20 + 10 * grid["x"]), rtol=0.02
    )


def test_optimistic_gbm_fits_the_product(rng: np.random.Generator) -> None:
    X, y = _product_data(rng)
    model = OptimisticModel(kind="gbm", random_state=0).fit(X, y)
    assert np.mean(np.abs(model.predict(X) - y) / y) < 0.02
    assert model.estimator_ is not None


def test_loglinear_recovers_a_power_law(rng: np.random.Generator) -> None:
    m = rng.choice([2.0, 4, 8, 16], size=40)
    size = rng.uniform(10, 100, size=40)
    y = 3.0 * size**0.9 * m**-0.7
    model = LogLinearModel().fit(pd.DataFrame({"scale_out": m, "size": size}), y)
    test = pd.DataFrame({"scale_out": [6.0, 12.0], "size": [50.0, 20.0]})
    expected = 3.0 * test["size"] ** 0.9 * test["scale_out"] ** -0.7
    np.testing.assert_allclose(model.predict(test), expected, rtol=0.02)


def test_loglinear_single_row_predicts_it() -> None:
    model = LogLinearModel().fit(pd.DataFrame({"scale_out": [4.0], "a": [1.0]}), [42.0])
    assert model.predict(pd.DataFrame({"scale_out": [8.0], "a": [3.0]}))[0] == pytest.approx(42.0)


def test_gbm_is_seeded_and_uses_log_target(rng: np.random.Generator) -> None:
    X, y = _product_data(rng)
    a = GradientBoostingModel(subsample=0.7, random_state=5).fit(X, y).predict(X)
    b = GradientBoostingModel(subsample=0.7, random_state=5).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)
    assert np.all(a > 0)


@pytest.mark.parametrize(
    "model",
    [
        GradientBoostingModel(n_estimators=50, random_state=0),
        OptimisticModel(),
        OptimisticModel(kind="gbm", n_estimators=50, random_state=0),
        LogLinearModel(),
    ],
    ids=["gbm", "optimistic", "optimistic-gbm", "loglinear"],
)
def test_string_and_constant_columns_work(model, rng: np.random.Generator) -> None:  # type: ignore[no-untyped-def]
    X, y = _product_data(rng)
    X["machine_type"] = np.where(X["x"] > 2, "m4.2xlarge", "r4.2xlarge")
    X["constant"] = 7.0
    X["constant_type"] = "c4.2xlarge"
    fitted = clone(model).fit(X, y)
    new = X.head(3).assign(machine_type=["unseen", "m4.2xlarge", "r4.2xlarge"])
    assert np.all(np.isfinite(fitted.predict(new)))


def test_models_work_on_c3o_traces_with_machine_types() -> None:
    X, y = load_c3o("sort")
    rows = np.random.default_rng(0).permutation(len(y))
    train, test = rows[:400], rows[400:]
    for model in [LogLinearModel(), OptimisticModel(), GradientBoostingModel(random_state=0)]:
        fitted = model.fit(X.iloc[train], y[train])
        error = np.mean(np.abs(fitted.predict(X.iloc[test]) - y[test]) / y[test])
        assert error < 0.2, type(model).__name__
