from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jobcast.errors import InputError, ModelError, NotEnoughDataError
from jobcast.models import (
    AutoModel,
    ErnestModel,
    MachineAttribute,
    PriceTable,
    configure,
    machine_attributes,
    runtime_bound,
)

from .helpers import load_c3o


def _fitted() -> ErnestModel:
    m = np.tile([2.0, 4, 8, 16], 3)
    size = np.repeat([100.0, 200.0, 400.0], 4)
    y = 10.0 + 8.0 * size / m  # at size 200: 810, 410, 210, 110 s
    return ErnestModel(size="size").fit(pd.DataFrame({"scale_out": m, "size": size}), y)


def test_runtime_bound_uses_the_upper_quantile() -> None:
    errors = np.linspace(-0.1, 0.2, 31)
    bound = runtime_bound([100.0], errors, 0.9)
    assert bound[0] == pytest.approx(100.0 * (1 + np.quantile(errors, 0.9, method="higher")))
    assert runtime_bound([100.0], errors, 0.99)[0] > runtime_bound([100.0], errors, 0.5)[0]
    with pytest.raises(InputError):
        runtime_bound([1.0], errors, 1.0)
    with pytest.raises(NotEnoughDataError):
        runtime_bound([1.0], [], 0.9)


def test_cheapest_feasible_configuration() -> None:
    model = _fitted()
    result = configure(
        model, {"size": 200.0}, scale_outs=[2, 4, 8, 16], deadline=300.0, errors=[0.0, 0.05]
    )
    # bounds 850.5, 430.5, 220.5, 115.5 s: 8 and 16 machines meet 300 s; 8 is cheaper
    assert result.feasible
    assert result.best is not None and result.best.scale_out == 8
    assert [c.feasible for c in result.candidates] == [False, False, True, True]
    assert result.currency == "machine-hours"
    best = result.best
    assert best.cost == pytest.approx(8 * best.runtime_bound / 3600)
    assert result.to_dict()["best"]["scale_out"] == 8


def test_nothing_meets_the_deadline() -> None:
    result = configure(_fitted(), {"size": 200.0}, scale_outs=[2, 4], deadline=100.0, errors=[0.0])
    assert not result.feasible and result.best is None
    assert result.to_dict()["feasible"] is False
    assert len(result.candidates) == 2


def test_higher_confidence_is_stricter() -> None:
    model = _fitted()
    errors = np.concatenate([np.zeros(90), np.full(10, 0.5)])
    loose = configure(
        model, {"size": 200.0}, scale_outs=[4, 8], deadline=300.0, errors=errors, confidence=0.8
    )
    strict = configure(
        model, {"size": 200.0}, scale_outs=[4, 8], deadline=300.0, errors=errors, confidence=0.95
    )
    assert loose.best is not None and loose.best.scale_out == 8
    assert strict.best is None
    assert strict.candidates[1].runtime_bound > loose.candidates[1].runtime_bound


def test_machine_types_are_priced() -> None:
    rng = np.random.default_rng(0)
    m = rng.choice([2.0, 4, 8], size=60)
    mt = rng.choice(["m4.2xlarge", "c4.2xlarge"], size=60)
    size = rng.choice([10.0, 20.0], size=60)
    # c4 runs 20 % faster; with prices 0.4 vs 0.398 per hour it is cheaper
    y = (5 + 30 * size / m) * np.where(mt == "c4.2xlarge", 0.8, 1.0)
    X = pd.DataFrame({"scale_out": m, "machine_type": mt, "size": size})
    model = AutoModel(candidates=("loglinear", "optimistic"), random_state=0).fit(X, y)
    result = configure(
        model,
        {"size": 20.0},
        scale_outs=[2, 4, 8],
        deadline=400.0,
        machine_types=["m4.2xlarge", "c4.2xlarge"],
        prices=PriceTable.default(),
    )
    assert result.currency == "USD"
    assert result.best is not None and result.best.machine_type == "c4.2xlarge"
    assert len(result.candidates) == 6


def test_context_errors_name_the_attribute() -> None:
    model = _fitted()
    with pytest.raises(InputError, match="size"):
        configure(model, {}, scale_outs=[2], deadline=10.0, errors=[0.0])
    with pytest.raises(InputError, match="colour"):
        configure(model, {"size": 1.0, "colour": 2.0}, scale_outs=[2], deadline=10.0, errors=[0.0])
    with pytest.raises(InputError, match="deadline"):
        configure(model, {"size": 1.0}, scale_outs=[2], deadline=0.0, errors=[0.0])
    with pytest.raises(ModelError, match="cross-validated"):
        configure(model, {"size": 1.0}, scale_outs=[2], deadline=10.0)


def test_machine_attributes_from_a_history() -> None:
    history = pd.DataFrame(
        {
            "machine_type": ["a", "a", "b", "b"],
            "scale_out": [2, 4, 2, 4],
            "slots": [16, 32, 32, 64],  # a cluster total: 8 or 16 per machine
            "cores": [4, 4, 8, 8],  # per machine type
            "size": [1.0, 3.0, 2.0, 2.0],  # a job parameter
            "flag": [1, 1, 1, 1],  # constant: not informative
        }
    )
    found = machine_attributes(history)
    assert found == {
        "a": {"slots": MachineAttribute(8.0, per_machine=True), "cores": MachineAttribute(4.0)},
        "b": {"slots": MachineAttribute(16.0, per_machine=True), "cores": MachineAttribute(8.0)},
    }
    assert found["b"]["slots"].at(3) == 48.0
    assert machine_attributes(history.drop(columns="machine_type")) == {}


def test_configure_on_c3o_sort_with_machine_types() -> None:
    X, y = load_c3o("sort")
    model = AutoModel(candidates=("loglinear",)).fit(X, y)
    values = machine_attributes(X)
    assert set(values["m4.2xlarge"]) == {"slots", "memory"}
    context = {"data_size_MB": 15000.0, "line_length": 1000.0, "lines": 15_000_000.0}
    result = configure(
        model,
        context,
        scale_outs=range(2, 13, 2),
        deadline=400.0,
        machine_types=sorted(values),
        machine_values=values,
    )
    assert len(result.candidates) == 18
    assert result.best is not None
    feasible = [c for c in result.candidates if c.feasible]
    assert result.best.cost == min(c.cost for c in feasible)


@pytest.mark.parametrize("deadline", [float("inf"), float("nan"), 0.0])
def test_a_deadline_must_be_finite(deadline: float) -> None:
    # said "must be a number of seconds > 0, got inf", which inf seems to be
    with pytest.raises(InputError, match=r"^deadline must be a finite number of seconds > 0"):
        configure(_fitted(), {"size": 200.0}, scale_outs=[2], deadline=deadline, errors=[0.0])
