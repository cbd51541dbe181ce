from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from jobcast.errors import InputError
from jobcast.models import ErnestModel
from jobcast.models.ernest import ernest_features, fit_nnls

from .helpers import ernest_data, load_c3o_paper


def test_recovers_coefficients_of_its_own_formula() -> None:
    m = np.array([2.0, 4, 8, 16, 32] * 3)
    size = np.repeat([100.0, 200.0, 400.0], 5)
    y = 10.0 + 0.5 * size / m + 3.0 * np.log(m) + 0.2 * m
    model = ErnestModel(size="size").fit(pd.DataFrame({"scale_out": m, "size": size}), y)
    np.testing.assert_allclose(model.coef_, [10.0, 0.5, 3.0, 0.2], rtol=1e-6)
    assert model.size_ == ("size",)


def test_noisy_fit_is_close_and_predicts(rng: np.random.Generator) -> None:
    X, y = ernest_data(rng)
    model = ErnestModel(size="size").fit(X, y)
    np.testing.assert_allclose(model.coef_, [10.0, 0.5, 3.0, 0.2], rtol=0.25, atol=0.3)
    assert np.mean(np.abs(model.predict(X) - y) / y) < 0.02


def test_size_none_chooses_the_size_column(rng: np.random.Generator) -> None:
    X, y = ernest_data(rng)
    X["noise"] = rng.uniform(1, 5, len(X))  # a job parameter that does not matter
    X = X[["scale_out", "noise", "size"]]  # "the second column" is not the size
    assert ErnestModel().fit(X, y).size_ == ("size",)


def test_size_product_of_columns() -> None:
    m = np.tile([2.0, 4, 8, 16], 4)
    a = np.repeat([1.0, 2, 3, 4], 4)
    b = np.array([5.0, 7, 9, 11] * 4)[::-1]
    y = 2.0 + a * b / m
    model = ErnestModel(size=("a", "b")).fit(pd.DataFrame({"scale_out": m, "a": a, "b": b}), y)
    np.testing.assert_allclose(model.coef_, [2.0, 1.0, 0.0, 0.0], atol=1e-8)


def test_numpy_input_uses_positions() -> None:
    m = np.array([2.0, 4, 8, 16])
    X = np.column_stack([np.full(4, 3.0), m])
    y = 1.0 + 8.0 / m
    model = ErnestModel(scale_out=1, size=()).fit(X, y)
    np.testing.assert_allclose(model.predict(X), y, rtol=1e-8)


def test_clone_and_params() -> None:
    model = ErnestModel(size=("a", "b"), loss="relative")
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "coef_")


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        (pd.DataFrame({"scale_out": [0.0, 2.0]}), [1.0, 2.0], "scale-out"),
        (pd.DataFrame({"scale_out": [1.0, 2.0]}), [1.0, -2.0], "> 0"),
        (pd.DataFrame({"scale_out": [1.0, 2.0]}), [1.0, np.nan], "NaN"),
        (pd.DataFrame({"scale_out": [1.0, 2.0]}), [1.0], "inconsistent"),
    ],
)
def test_bad_input_is_refused(X: pd.DataFrame, y: list[float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ErnestModel().fit(X, y)


def test_unknown_size_column_is_named() -> None:
    with pytest.raises(InputError, match="'nope'"):
        ErnestModel(size="nope").fit(pd.DataFrame({"scale_out": [1.0, 2.0]}), [1.0, 2.0])


def test_nnls_coefficients_are_non_negative(rng: np.random.Generator) -> None:
    m = rng.uniform(1, 20, 30)
    y = 50 - m + rng.normal(0, 1, 30)  # a negative trend Ernest cannot express
    theta = fit_nnls(ernest_features(m), np.maximum(y, 1.0))
    assert np.all(theta >= 0)


def test_ernest_on_c3o_sort_is_accurate() -> None:
    # sort's runtime is Ernest-shaped in data size; the size rule must find data_size_MB
    X, y = load_c3o_paper("sort")
    model = ErnestModel().fit(X, y)
    assert model.size_ == ("data_size_MB",)
    assert np.mean(np.abs(model.predict(X) - y) / y) < 0.08


def test_a_cluster_total_is_never_taken_for_the_data_size() -> None:
    """Was: on the full C3O pagerank trace the size chosen held `slots` (8 per machine), so
    that size / m no longer depended on m and Ernest predicted one runtime at every m."""
    from tests.conftest import shared_file

    frame = pd.read_csv(shared_file("c3o", "pagerank.tsv"), sep="\t")
    frame = frame[frame["machine_type"] == "r4.2xlarge"].drop(columns="machine_type")
    frame = frame.rename(columns={"instance_count": "scale_out"}).astype(float)
    y = frame.pop("gross_runtime").to_numpy()
    model = ErnestModel().fit(frame, y)
    assert "slots" not in model.size_ and "memory" not in model.size_, model.size_
    largest = int(frame["data_size_MB"].to_numpy().argmax())
    at = frame.iloc[[largest, largest]].copy()
    at["scale_out"] = [2.0, 12.0]
    at["slots"], at["memory"] = 8.0 * at["scale_out"], 61_000.0 * at["scale_out"]
    slow, fast = model.predict(at)
    assert slow > 1.1 * fast  # was one runtime for every scale-out
