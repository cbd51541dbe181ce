from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jobcast.errors import InputError, NotEnoughDataError
from jobcast.evaluation.models import (
    check_sizes,
    evaluate_models,
    holdout_evaluation,
    mape,
    training_size_evaluation,
)
from jobcast.evaluation.models_plot import plot_model_evaluation

from .helpers import load_c3o_paper

MODELS = ("loglinear", "ernest")


def test_mape() -> None:
    assert mape([100.0, 200.0], [110.0, 180.0]) == pytest.approx(0.1)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 36, 143])
def test_one_holdout_split_for_the_models_and_the_privacy_evaluation(n: int) -> None:
    from jobcast.evaluation.models_results import holdout_split
    from jobcast.evaluation.privacy import _split

    train, test = holdout_split(n, 0.2, np.random.default_rng(5))
    order = np.random.default_rng(5).permutation(n)
    held = max(round(0.2 * n), 1)  # the privacy evaluation's rule; the models' checks refuse 0
    assert test.tolist() == order[:held].tolist() and train.tolist() == order[held:].tolist()
    frame = pd.DataFrame({"i": np.arange(n)})
    kept, out = _split(frame, 5)
    assert out["i"].tolist() == test.tolist() and kept["i"].tolist() == train.tolist()


def test_holdout_protocol_on_sort() -> None:
    X, y = load_c3o_paper("sort")
    calls: list[tuple[int, int, str]] = []
    result = holdout_evaluation(
        X, y, models=MODELS, repeats=3, random_state=7, callback=lambda *a: calls.append(a)
    )
    assert result.n_rows == 36 and result.repeats == 3
    assert all(len(v) == 3 for v in result.mapes.values())
    assert 0 < result.mean("loglinear") < 0.1
    assert calls[-1][:2] == (6, 6)
    again = holdout_evaluation(X, y, models=MODELS, repeats=3, random_state=7)
    assert again.mapes == result.mapes
    json.dumps(result.to_dict())


def test_training_size_protocol_skips_sizes_beyond_the_training_split() -> None:
    X, y = load_c3o_paper("sort")
    result = training_size_evaluation(
        X, y, models=MODELS, train_sizes=(3, 12, 30), repeats=2, random_state=1
    )
    assert result.train_sizes == (3, 12)  # the 80 % split of 36 rows holds 29
    assert result.skipped_sizes == (30,)
    assert set(result.mapes["ernest"]) == {3, 12}
    assert result.mean("loglinear") == pytest.approx(
        np.mean([np.mean(result.mapes["loglinear"][s]) for s in (3, 12)])
    )
    assert result.to_dict()["mape_per_size"]["ernest"].keys() == {"3", "12"}


def test_evaluate_models_and_plot(tmp_path: Path) -> None:
    X, y = load_c3o_paper("sort")
    result = evaluate_models(X, y, job="sort", models=MODELS, repeats=2, train_sizes=(3, 6))
    data = json.loads(json.dumps(result.to_dict()))
    assert data["job"] == "sort" and data["models"] == list(MODELS)
    assert set(data["holdout"]["mape"]) == set(MODELS)
    path = plot_model_evaluation(result, tmp_path / "models.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    only = evaluate_models(X, y, models=MODELS, repeats=1, train_sizes=None)
    assert only.training_sizes is None
    plot_model_evaluation(only, tmp_path / "holdout.png")


def test_protocol_input_errors() -> None:
    X, y = load_c3o_paper("sort")
    with pytest.raises(InputError, match="Unknown model"):
        holdout_evaluation(X, y, models=("magic",))
    with pytest.raises(InputError, match="test_size"):
        holdout_evaluation(X, y, models=MODELS, test_size=1.5)
    with pytest.raises(NotEnoughDataError):
        holdout_evaluation(X.head(2), y[:2], models=MODELS, test_size=0.2)
    with pytest.raises(NotEnoughDataError):
        training_size_evaluation(X, y, models=MODELS, train_sizes=(100,))


def test_figures_do_not_depend_on_the_other_models() -> None:
    X, y = load_c3o_paper("sort")
    alone = holdout_evaluation(X, y, models=("loglinear",), repeats=2, random_state=3)
    together = holdout_evaluation(X, y, models=MODELS, repeats=2, random_state=3)
    assert alone.mapes["loglinear"] == together.mapes["loglinear"]
    small = training_size_evaluation(
        X, y, models=("ernest",), train_sizes=(3, 6), repeats=2, random_state=3
    )
    both = training_size_evaluation(
        X, y, models=MODELS, train_sizes=(3, 6), repeats=2, random_state=3
    )
    assert small.mapes["ernest"] == both.mapes["ernest"]


def test_check_sizes_names_the_job_and_the_sizes_that_fit() -> None:
    """Was: "No training size fits into the 2 training rows" after another job's work."""
    with pytest.raises(NotEnoughDataError) as raised:
        check_sizes(3, job="etl3", train_sizes=(3, 6, 9, 12, 15, 18))
    assert str(raised.value) == (
        "job 'etl3': no training size of 3, 6, ..., 18 fits into its 2 training rows "
        "(80% of its 3 executions); give sizes of at most 2 (e.g. --train-sizes 1-2), or "
        "leave the job out"
    )
    with pytest.raises(NotEnoughDataError, match="^job 'one': its 1 execution cannot be split"):
        check_sizes(1, job="one")
    assert check_sizes(36, job="sort", train_sizes=(3, 30)) == (30,)
    assert check_sizes(3, train_sizes=None) == ()


def test_skipped_sizes_are_warned_in_the_result() -> None:
    X, y = load_c3o_paper("sort")
    result = evaluate_models(X, y, job="sort", models=("ernest",), repeats=1, train_sizes=(3, 30))
    assert result.warnings == (
        "job 'sort': training size 30 skipped: the training split holds 29 rows",
    )
    assert result.to_dict()["warnings"] == list(result.warnings)
    with pytest.raises(NotEnoughDataError, match="^job 'tiny': no training size of 3 fits"):
        evaluate_models(X.head(3), y[:3], job="tiny", models=("ernest",), train_sizes=(3,))
