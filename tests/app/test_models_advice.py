"""predict and configure on thin histories: one scale-out, and advice past the seen range."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jobcast.app.configure import configure
from jobcast.app.imports import import_c3o
from jobcast.app.predict import predict
from jobcast.history import HistoryRepository
from tests.conftest import shared_file

PAGERANK = {
    "data_size_MB": 284,
    "pages": 2000000,
    "links": 20000000,
    "convergence_criterion": 0.001,
}


@pytest.fixture
def one_so(repo: HistoryRepository, tmp_path: Path) -> HistoryRepository:
    """C3O's PageRank on 4 r4.2xlarge machines only (slots, memory: cluster totals)."""
    lines = shared_file("c3o", "pagerank.tsv").read_text().splitlines()
    keep = [lines[0]] + [
        line for line in lines[1:] if line.split("\t")[:2] == ["4", "r4.2xlarge"]
    ]
    path = tmp_path / "one_so.tsv"
    path.write_text("\n".join(keep) + "\n")
    import_c3o(repo, [path], job="one_so")
    return repo


def test_one_scale_out_derives_totals_per_scale_out(one_so: HistoryRepository) -> None:
    """Was: "the context attribute 'slots' is missing" though the README says it need not be."""
    ask: dict[str, Any] = {"settings": PAGERANK, "model": "loglinear"}
    result = predict(one_so, "one_so", scale_outs=[2, 4, 8], **ask)
    per_machine_slots = 8  # r4.2xlarge: 32 slots on 4 machines in the trace
    assert list(result.queries["slots"]) == [per_machine_slots * m for m in (2, 4, 8)]
    assert any("taken as cluster totals" in w for w in result.warnings)
    # a given value is no longer applied to every scale-out
    ask_slots = {**ask, "settings": {**PAGERANK, "slots": 32}}
    given = predict(one_so, "one_so", scale_outs=[2, 8], **ask_slots)
    assert list(given.queries["slots"]) == [per_machine_slots * 2, per_machine_slots * 8]
    assert any("replaced by the derived ones" in w for w in given.warnings)
    config = configure(one_so, "one_so", deadline_s=10_000, scale_outs=[2, 8], **ask)
    assert config.feasible


def _scaling_job(repo: HistoryRepository, tmp_path: Path) -> None:
    """Runtimes 1000/nodes + 20 s on 2-8 nodes, 60 executions."""
    from jobcast.app.imports import import_csv

    rows = [
        f"{1000 / n + 20 + (i % 5):.1f},{n},{100 + 10 * (i % 3)}"
        for i in range(15)
        for n in (2, 4, 6, 8)
    ]
    path = tmp_path / "scaling.csv"
    path.write_text("seconds,nodes,size\n" + "\n".join(rows) + "\n")
    import_csv(repo, path, job="scaling", runtime="seconds", scale_out="nodes")


def test_larger_scale_outs_are_advised_only_when_predicted_faster(
    repo: HistoryRepository, tmp_path: Path
) -> None:
    """Was: "allow larger --scale-out values" though gbm predicts the same beyond 8."""
    _scaling_job(repo, tmp_path)
    ask: dict[str, Any] = {"settings": {"size": 110}, "deadline_s": 60}
    flat = configure(repo, "scaling", scale_outs=[6, 8, 16], model="gbm", **ask)
    assert not flat.feasible and "allow larger" not in flat.message
    assert "no runs beyond scale-out 8" in flat.message
    assert "tree models are flat" in flat.message
    # a model that extrapolates the speed-up still gets the advice
    ernest = configure(repo, "scaling", scale_outs=[2, 4], model="ernest", **ask)
    assert not ernest.feasible and "allow larger --scale-out values" in ernest.message
