"""Queries the models refuse cleanly: huge numbers, text in numeric columns, bad cells, bounds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator

from jobcast.errors import ImportFormatError, InputError, NotEnoughDataError
from jobcast.history import Attribute, AttributeKind, JobSpec
from jobcast.models import (
    AutoModel,
    ErnestModel,
    GradientBoostingModel,
    KernelRegression,
    LogLinearModel,
    OptimisticModel,
    configure,
    runtime_bound,
)
from jobcast.models.machines import MachineAttribute
from jobcast.models.training_data import (
    check_predictions,
    input_frame,
    numeric_attributes,
    query_frame,
    training_set,
)

MODELS = [
    GradientBoostingModel(n_estimators=20, random_state=0),
    OptimisticModel(kind="gbm", n_estimators=20, random_state=0),
    OptimisticModel(),
    ErnestModel(),
    LogLinearModel(),
    AutoModel(candidates=("ernest", "gbm"), min_rows_trees=10, random_state=0),
]


def _data(rng: np.random.Generator, n: int = 40) -> tuple[pd.DataFrame, np.ndarray]:
    m = rng.choice([2.0, 4, 8, 16], size=n)
    size = rng.choice([100.0, 200.0, 400.0], size=n)
    return pd.DataFrame({"scale_out": m, "size": size}), 10 + size / m + np.log(m)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: type(m).__name__)
@pytest.mark.parametrize("value", [1e39, 1e308, -1e16])
def test_numbers_beyond_1e15_are_refused_naming_the_column(
    rng: np.random.Generator, model: Any, value: float
) -> None:
    # the tree models used to end in scikit-learn's "too large for dtype('float32')", the
    # others in overflows and a NaN prediction
    X, y = _data(rng)
    fitted = model.fit(X, y)
    query = pd.DataFrame({"scale_out": [4.0], "size": [value]})
    with pytest.raises(InputError, match=r"holds -?1e\+\d+ in column 'size', beyond the 1e\+15"):
        fitted.predict(query)
    with pytest.raises(InputError, match="column 'size'"):
        type(model)(**model.get_params()).fit(X.assign(size=X["size"] * value / 100), y)


def test_a_scale_out_beyond_1e15_is_refused(rng: np.random.Generator) -> None:
    X, y = _data(rng)
    model = GradientBoostingModel(n_estimators=20).fit(X, y)
    with pytest.raises(InputError, match="holds 1e\\+39 in column 'scale_out'"):
        model.predict(pd.DataFrame({"scale_out": [1e39], "size": [100.0]}))
    # the scale-out models' fast path for arrays
    kernel = KernelRegression().fit(X[["scale_out"]].to_numpy(), y)
    with pytest.raises(InputError, match="at most 1e\\+15"):
        kernel.predict(np.array([[1e39]]))


def test_ernest_names_text_in_a_numeric_column(rng: np.random.Generator) -> None:
    X, y = _data(rng)
    model = ErnestModel(size="size").fit(X, y)
    query = pd.DataFrame({"scale_out": [4.0, 4.0], "size": ["100", "abc"]})
    with pytest.raises(InputError, match="'size' must be numeric.*got 'abc'"):
        model.predict(query)


def test_the_bound_is_never_below_the_prediction() -> None:
    # a model that over-predicts most runs: its median error is negative
    errors = np.array([-0.2, -0.1, -0.05, -0.01, 0.3])
    assert runtime_bound([100.0], errors, 0.5)[0] == pytest.approx(100.0)
    assert runtime_bound([100.0], errors, 0.1)[0] == pytest.approx(100.0)
    assert runtime_bound([100.0], errors, 0.95)[0] == pytest.approx(130.0)


class _Overflowing(BaseEstimator):
    """A fitted model whose predictions overflow for one scale-out."""

    feature_names_in_ = np.array(["scale_out", "size"], dtype=object)
    cv_errors_ = np.array([0.1, -0.1])

    def fit(self, X: Any, y: Any) -> _Overflowing:
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.where(X["scale_out"] > 4, np.inf, 100.0)


def test_configure_refuses_a_prediction_that_is_not_finite() -> None:
    with pytest.raises(InputError, match=r"configuration, row 2: .*scale_out=8.*not a finite"):
        configure(_Overflowing(), {"size": 1.0}, scale_outs=[4, 8], deadline=60.0)


def test_check_predictions_names_the_line() -> None:
    query = pd.DataFrame({"scale_out": [2, 4], "size": [1.0, 2.5]})
    with pytest.raises(ImportFormatError, match=r"q\.csv, line 7: .*scale_out=4, size=2\.5\)"):
        check_predictions(np.array([1.0, np.nan]), query, where="q.csv", lines=[3, 7])
    assert check_predictions([1, 2], query).dtype == np.float64


SPEC = JobSpec(
    name="pr",
    attributes=(
        Attribute("slots", AttributeKind.RESOURCE),
        Attribute("pages", AttributeKind.DATASET),
        Attribute("algo", AttributeKind.PARAMETER, numeric=False),
    ),
    scale_out_column="instance_count",
    machine_type_column="machine_type",
    runtime_column="gross_runtime",
)
COLUMNS = ["scale_out", "machine_type", "slots", "pages", "algo"]
HISTORY = pd.DataFrame(
    {
        "scale_out": [2, 4],
        "machine_type": ["m4", "m4"],
        "slots": [16.0, 32.0],
        "pages": [1e6, 3e6],
        "algo": ["a", "b"],
    }
)
MACHINES = {"m4": {"slots": MachineAttribute(8.0, per_machine=True)}}


def _rows(**cells: list[Any]) -> pd.DataFrame:
    base: dict[str, list[Any]] = {
        "instance_count": ["2", "4"],
        "machine_type": ["m4", "m4"],
        "pages": ["1e6", "2e6"],
        "algo": ["a", "b"],
    }
    return pd.DataFrame({**base, **cells})


def _input(frame: pd.DataFrame, lines: list[int] | None = None) -> pd.DataFrame:
    return input_frame(
        SPEC,
        frame,
        columns=COLUMNS,
        where="q.csv",
        lines=lines,
        numeric=numeric_attributes(HISTORY),
        machine_values=MACHINES,
    )


def test_input_rows_are_converted_and_completed() -> None:
    query = _input(_rows())
    assert list(query.columns) == COLUMNS
    assert query["pages"].tolist() == [1e6, 2e6] and query["slots"].tolist() == [16.0, 32.0]
    assert query["algo"].tolist() == ["a", "b"]


@pytest.mark.parametrize(
    ("cells", "line", "column", "says"),
    [
        ({"pages": ["1e6", "nan"]}, 5, "pages", "'nan' is not a finite number"),
        ({"pages": ["", "1"]}, 3, "pages", "'' is not a number"),
        ({"pages": ["abc", "1"]}, 3, "pages", "'abc' is not a number"),
        ({"pages": ["1", "1e39"]}, 5, "pages", "outside the accepted range -1e+15 .. 1e+15"),
        ({"instance_count": ["2", "1e20"]}, 5, "instance_count", "within 1 .. 100000"),
        ({"instance_count": ["2.5", "2"]}, 3, "instance_count", "whole number"),
        ({"machine_type": ["m4", "zz"]}, 5, "machine_type", "unknown machine type 'zz'"),
    ],
)
def test_a_bad_cell_names_file_line_and_column(
    cells: dict[str, list[str]], line: int, column: str, says: str
) -> None:
    with pytest.raises(ImportFormatError) as raised:
        _input(_rows(**cells), lines=[3, 5])
    assert (raised.value.path, raised.value.line, raised.value.column) == ("q.csv", line, column)
    assert says in raised.value.reason
    if column == "pages":
        assert "the history holds 1e+06 to 3e+06" in raised.value.reason


def test_rows_without_line_numbers_are_counted() -> None:
    with pytest.raises(InputError, match=r"^q\.csv, row 2, column 'pages': 'x' is not a number"):
        _input(_rows(pages=["1", "x"]))


def test_missing_attributes_list_only_what_must_be_given() -> None:
    # slots follows from the machine type: it is neither missing nor to be given
    with pytest.raises(InputError) as raised:
        _input(_rows().drop(columns="algo"))
    assert str(raised.value) == (
        "q.csv: the context attribute 'algo' is missing; give every one of pages, algo "
        "(slots follows from the machine type and the scale-out)"
    )
    with pytest.raises(InputError, match="give every one of pages, algo \\(slots follows"):
        query_frame(SPEC, {"slots": 0.0, "algo": "a"}, [2], machine_type="m4", derived={"slots"})


def test_a_machine_type_column_is_named() -> None:
    with pytest.raises(InputError, match=r"q\.csv: a 'machine_type' column is needed .*m4"):
        _input(_rows().drop(columns="machine_type"))
    spec = JobSpec(name="s", attributes=(Attribute("pages", AttributeKind.DATASET),))
    with pytest.raises(InputError, match="column 'machine_type': job 's' records no machine types"):
        input_frame(
            spec,
            pd.DataFrame({"scale_out": [2], "machine_type": ["m4"], "pages": [1.0]}),
            columns=["scale_out", "pages"],
            where="q.csv",
        )


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (float("nan"), "--set pages=nan: nan is not a finite number"),
        (1e39, "--set pages=1e+39: 1e+39 is outside the accepted range"),
        ("abc", "--set pages=abc: 'abc' is not a number"),
    ],
)
def test_set_values_are_checked(value: Any, says: str) -> None:
    with pytest.raises(InputError, match="^" + says.replace("+", "\\+")):
        query_frame(
            SPEC,
            {"slots": 1.0, "pages": value, "algo": "a"},
            [2],
            machine_type="m4",
            numeric=numeric_attributes(HISTORY),
        )
    ok = query_frame(
        SPEC,
        {"slots": 1, "pages": "5", "algo": "a"},
        [2],
        numeric=numeric_attributes(HISTORY),
        machine_type="m4",
    )
    assert ok["pages"].tolist() == [5.0]


@pytest.mark.parametrize(("cell", "says"), [("nan", "NaN"), ("1e39", "holds 1e\\+39")])
def test_text_that_reads_as_a_bad_number_is_refused(
    rng: np.random.Generator, cell: str, says: str
) -> None:
    X, y = _data(rng)
    model = GradientBoostingModel(n_estimators=20).fit(X, y)
    with pytest.raises(InputError, match=f"{says} in column 'size'"):
        model.predict(pd.DataFrame({"scale_out": [4.0, 4.0], "size": ["100", cell]}))


def test_executions_without_an_attribute_are_left_out_and_counted() -> None:
    """Was: one live run without 'size' broke every model of the job for good (NaN in X)."""
    attributes = (
        Attribute("size", AttributeKind.DATASET),
        Attribute("algo", AttributeKind.PARAMETER),
    )
    spec = JobSpec(name="numjob", attributes=attributes)
    runs = pd.DataFrame(
        {
            "scale_out": [2, 4, 8, 2, 4],
            "machine_type": [None] * 5,
            "gross_runtime": [300.0, 170.0, 100.0, 310.0, None],
            "size": [100.0, 100.0, 100.0, np.nan, np.nan],
            "algo": ["a", None, "a", None, "a"],
        }
    )
    data = training_set(spec, runs)
    assert data.X["size"].tolist() == [100.0, 100.0] and data.y.tolist() == [300.0, 100.0]
    assert data.left_out == (("size", 1), ("algo", 2)) and data.n_left_out == 2
    (warning,) = data.warnings("numjob")
    assert warning.startswith(
        "2 of the 4 completed executions of job 'numjob' were left out of training: "
        "1 has no value of 'size'; 2 have no value of 'algo'; report every context attribute"
    )
    ErnestModel().fit(data.X, data.y)  # no NaN reaches the model
    assert training_set(spec, runs.iloc[[0, 2]]).warnings("numjob") == []
    with pytest.raises(NotEnoughDataError, match=r"^none of the 2 completed executions of job "
                       r"'numjob' has a value of every context attribute \(2 have no value of "
                       r"'size'"):  # fmt: skip
        training_set(spec, runs.iloc[[3, 1]].assign(gross_runtime=[1.0, 2.0], size=np.nan))
