"""The prediction and configuration use cases: machine-fixed attributes, ranges, refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jobcast.app.configure import ConfigurationResult, configure
from jobcast.app.fitting import MAX_QUERIES, check_scale_outs
from jobcast.app.imports import import_c3o
from jobcast.app.predict import predict
from jobcast.errors import InputError
from jobcast.history import HistoryRepository
from tests.conftest import shared_file

CONTEXT = {
    "data_size_MB": 284,
    "pages": 2000000,
    "links": 20000000,
    "convergence_criterion": 0.001,
}


@pytest.fixture
def pagerank(repo: HistoryRepository, tmp_path: Path) -> HistoryRepository:
    """C3O's PageRank on two machine types (slots and memory are cluster totals)."""
    lines = shared_file("c3o", "pagerank.tsv").read_text().splitlines()
    keep = [lines[0]] + [
        line for line in lines[1:] if line.split("\t")[1] in ("m4.2xlarge", "r4.xlarge")
    ]
    path = tmp_path / "pagerank.tsv"
    path.write_text("\n".join(keep) + "\n")
    import_c3o(repo, [path], job="pagerank")
    return repo


def _configure_m4(repo: HistoryRepository, **kwargs: Any) -> ConfigurationResult:
    """Configure CONTEXT on 4 or 6 m4.2xlarge machines with the optimistic model."""
    return configure(
        repo,
        "pagerank",
        deadline_s=10_000,
        settings=CONTEXT,
        scale_outs=[4, 6],
        machine_types=["m4.2xlarge"],
        model="optimistic",
        **kwargs,
    )


def test_predict_derives_cluster_totals_like_configure(pagerank: HistoryRepository) -> None:
    # the history holds 298-320 s (4 machines) and 294-332 s (6) for exactly this
    # configuration; slots and memory are not asked for but derived per scale-out
    result = predict(
        pagerank,
        "pagerank",
        settings=CONTEXT,
        scale_outs=[4, 6],
        machine_type="m4.2xlarge",
        model="optimistic",
    )
    assert list(result.queries["slots"]) == [32, 48]
    assert list(result.queries["memory"]) == [128000, 192000]
    assert result.predictions == pytest.approx([310, 305], rel=0.1)
    assert result.warnings == ()
    chosen = _configure_m4(pagerank)
    assert [c["predicted_s"] for c in chosen.candidates] == pytest.approx(result.predictions)


def test_predict_rows_without_machine_columns(pagerank: HistoryRepository) -> None:
    rows = [{"instance_count": 4, "machine_type": "r4.xlarge", **CONTEXT}]
    result = predict(pagerank, "pagerank", rows=rows, model="optimistic")
    assert list(result.queries["slots"]) == [16]
    assert result.predictions[0] == pytest.approx(490, rel=0.15)


def test_predict_warns_outside_the_history(pagerank: HistoryRepository) -> None:
    result = predict(
        pagerank,
        "pagerank",
        settings=CONTEXT,
        scale_outs=[64],
        machine_type="m4.2xlarge",
        model="optimistic",
    )
    (warning,) = result.warnings
    assert "scale_out = 64" in warning and "2 to 12" in warning


def test_given_machine_values_are_replaced_with_a_warning(pagerank: HistoryRepository) -> None:
    result = predict(
        pagerank,
        "pagerank",
        settings={**CONTEXT, "slots": 16, "memory": 64000},
        scale_outs=[4, 8],
        machine_type="m4.2xlarge",
        model="optimistic",
    )
    assert list(result.queries["slots"]) == [32, 64]
    assert any("memory, slots" in w for w in result.warnings)


@pytest.mark.parametrize("use_case", ["predict", "configure"])
def test_unknown_machine_type_is_refused(pagerank: HistoryRepository, use_case: str) -> None:
    with pytest.raises(InputError, match=r"unknown machine type 'c5\.9xlarge'.*m4\.2xlarge"):
        if use_case == "predict":
            predict(
                pagerank,
                "pagerank",
                settings=CONTEXT,
                scale_outs=[4],
                machine_type="c5.9xlarge",
                model="optimistic",
            )
        else:
            configure(
                pagerank,
                "pagerank",
                deadline_s=600,
                settings=CONTEXT,
                machine_types=["c5.9xlarge"],
                model="optimistic",
            )


def test_several_machine_types_need_a_choice(pagerank: HistoryRepository) -> None:
    with pytest.raises(InputError, match="--machine-type"):
        predict(pagerank, "pagerank", settings=CONTEXT, scale_outs=[4], model="optimistic")


def test_configure_infeasible_says_why(pagerank: HistoryRepository) -> None:
    result = configure(
        pagerank, "pagerank", deadline_s=1, settings=CONTEXT, model="optimistic"
    )
    assert not result.feasible and result.best is None
    assert "No configuration meets the deadline of 1 s" in result.message
    assert {c["machine_type"] for c in result.candidates} == {"m4.2xlarge", "r4.xlarge"}


def test_scale_outs_are_capped() -> None:
    assert check_scale_outs([1, 2.0]) == [1, 2]
    with pytest.raises(InputError, match="10,000"):
        check_scale_outs(list(range(1, MAX_QUERIES + 2)))
    with pytest.raises(InputError, match="positive whole"):
        check_scale_outs([2, 0])


def test_a_fitted_model_is_reused_and_must_match(
    pagerank: HistoryRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jobcast.app.fitting as fitting

    fitted = fitting.fit_job(pagerank, "pagerank", model="optimistic")
    ask = dict(settings=CONTEXT, scale_outs=[4, 6], machine_type="m4.2xlarge")
    fresh = predict(pagerank, "pagerank", model="optimistic", **ask)  # type: ignore[arg-type]
    calls: list[str] = []
    monkeypatch.setattr(fitting, "fit_job", lambda *a, **k: calls.append("fit"))
    again = predict(
        pagerank, "pagerank", model="optimistic", fitted=fitted, **ask  # type: ignore[arg-type]
    )
    assert again.predictions == fresh.predictions and calls == []
    assert _configure_m4(pagerank, fitted=fitted).feasible and calls == []
    with pytest.raises(InputError, match="'optimistic' of job 'pagerank', not 'auto'"):
        predict(pagerank, "pagerank", model="auto", fitted=fitted, **ask)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="not 'optimistic' of 'other'"):
        predict(pagerank, "other", model="optimistic", fitted=fitted, **ask)  # type: ignore[arg-type]
