from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from jobcast.models import BellModel, KernelRegression


def test_kernel_regression_interpolates_with_a_small_bandwidth() -> None:
    m = np.arange(2.0, 22.0, 2.0)
    y = 100 + 20 * np.sin(m / 3)
    model = KernelRegression().fit(m[:, None], y)
    assert np.mean(np.abs(model.predict(m[:, None]) - y) / y) < 0.03
    # between two observed scale-outs the estimate lies between their runtimes
    mid = model.predict(np.array([[5.0]]))[0]
    assert min(y[1], y[2]) - 1e-9 <= mid <= max(y[1], y[2]) + 1e-9


def test_kernel_regression_grouping_equals_raw_points() -> None:
    m = np.array([2.0, 2, 4, 4, 4, 8])
    y = np.array([100.0, 110, 60, 62, 64, 40])
    model = KernelRegression().fit(m[:, None], y)
    grid = np.array([[3.0], [6.0]])
    w = np.exp(-0.5 * ((grid - m[None, :]) / model.bandwidth_) ** 2)
    np.testing.assert_allclose(model.predict(grid), (w @ y) / w.sum(axis=1))


def test_bell_picks_ernest_on_ernest_shaped_data(rng: np.random.Generator) -> None:
    m = np.repeat([2.0, 4, 6, 8, 10, 12, 16], 3)
    y = (20 + 600 / m + 2 * np.log(m)) * (1 + 0.01 * rng.standard_normal(len(m)))
    model = BellModel().fit(m[:, None], y)
    assert model.chosen_ == "ernest"
    assert model.cv_scores_["ernest"] < model.cv_scores_["kernel"]
    # it extrapolates with Ernest's scale law
    assert model.predict(np.array([[24.0]]))[0] == pytest.approx(
        20 + 600 / 24 + 2 * np.log(24), rel=0.05
    )


def test_bell_picks_kernel_on_non_monotone_data() -> None:
    m = np.arange(1.0, 13.0)
    y = 100 + 30 * np.sin(m / 1.5)
    model = BellModel().fit(m[:, None], y)
    assert model.chosen_ == "kernel"
    assert len(model.cv_errors_) == len(m) - 2


def test_bell_degrades_gracefully_with_few_scale_outs() -> None:
    one = BellModel().fit(np.array([[4.0], [4.0]]), [100.0, 110.0])
    assert one.chosen_ == "constant"
    np.testing.assert_allclose(one.predict(np.array([[2.0], [8.0]])), [105.0, 105.0])
    single = BellModel().fit(np.array([[4.0]]), [100.0])
    assert single.predict(np.array([[4.0]]))[0] == 100.0
    two = BellModel().fit(np.array([[2.0], [8.0]]), [100.0, 40.0])
    assert two.chosen_ == "ernest"
    np.testing.assert_allclose(two.predict(np.array([[2.0], [8.0]])), [100.0, 40.0], rtol=1e-6)
    assert 40.0 < two.predict(np.array([[4.0]]))[0] < 100.0


def test_bell_named_scale_out_column_and_clone() -> None:
    X = pd.DataFrame({"k": [3.0] * 5, "machines": [2.0, 4, 6, 8, 10]})
    y = 10 + 200 / X["machines"].to_numpy()
    model = BellModel(scale_out="machines", random_state=3).fit(X, y)
    np.testing.assert_allclose(model.predict(X), y, rtol=1e-6)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "chosen_")


def test_bell_uses_default_scale_out_column_name() -> None:
    X = pd.DataFrame({"k": [1.0, 2, 3, 4], "scale_out": [2.0, 4, 6, 8]})
    y = 10 + 200 / X["scale_out"].to_numpy()
    np.testing.assert_allclose(BellModel().fit(X, y).predict(X), y, rtol=1e-6)
