"""Rows that hold together: slots and memory derived from the machine type and the scale-out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from jobcast.app.configure import configure
from jobcast.app.imports import import_c3o
from jobcast.app.release import release_share
from jobcast.app.share_import import import_share
from jobcast.errors import DomainError, ImportFormatError, InputError
from jobcast.history import HistoryRepository
from jobcast.models import machine_attributes
from jobcast.privacy.consistency import MachineFacts, split_declaration
from jobcast.privacy.share import read_share
from jobcast.privacy.verify import file_digest, manifest_digest

from ..conftest import shared_file

C3O_TRACES = ("grep", "kmeans", "pagerank", "sgd", "sort")
TOTALS = ("slots", "memory")


def trace(job: str) -> pd.DataFrame:
    return pd.read_csv(shared_file("c3o", f"{job}.tsv"), sep="\t")


def declaration(frame: pd.DataFrame) -> dict[str, Any]:
    """What the owner declares: grids of the public choices, sizes as coarse ranges, and
    the cloud's catalogue (slots and memory of one machine of each type)."""
    cols: dict[str, Any] = {}
    for c in frame.columns:
        if c == "machine_type":
            cols[c] = {"type": "categorical", "values": sorted(frame[c].unique().tolist())}
        elif c == "instance_count":
            cols[c] = {"type": "numeric", "values": sorted(frame[c].unique().tolist()),
                       "integer": True}  # fmt: skip
        elif c == "gross_runtime":
            cols[c] = {"type": "numeric", "lower": 10, "upper": 14400, "log": True}
        elif c in TOTALS:
            cols[c] = {"type": "numeric", "lower": 1, "upper": 1e7, "log": True}
        else:
            lo, hi = float(frame[c].min()), float(frame[c].max())
            cols[c] = {"type": "numeric", "lower": lo / 10, "upper": hi * 10 + 10, "bins": 4}
    types = {
        str(mt): {t: float((g[t] / g["instance_count"]).iloc[0]) for t in TOTALS}
        for mt, g in frame.groupby("machine_type")
    }
    return {"columns": cols, "machines": {"totals": list(TOTALS), "types": types}}


def _release(repo: HistoryRepository, tmp_path: Path, job: str, decl: dict[str, Any], **kw: Any):
    path = tmp_path / f"{job}-domain.json"
    path.write_text(json.dumps(decl))
    args: dict[str, Any] = dict(epsilon=1.0, rows=400, out=tmp_path / f"{job}-share",
                                domain=path, random_state=3)  # fmt: skip
    args.update(kw)
    return release_share(repo, job, **args)


@pytest.mark.parametrize("job", C3O_TRACES)
def test_every_row_of_a_c3o_share_holds_together(sqlite_repo, tmp_path, job):
    frame = trace(job)
    import_c3o(sqlite_repo, [shared_file("c3o", f"{job}.tsv")], job=job)
    decl = declaration(frame)
    done = _release(sqlite_repo, tmp_path, job, decl)
    rows = read_share(done.path).rows
    assert len(rows) == 400 and list(rows.columns) == list(frame.columns)
    per = pd.DataFrame(decl["machines"]["types"]).T
    for t in TOTALS:
        expected = per.loc[rows["machine_type"], t].to_numpy() * rows["instance_count"].to_numpy()
        np.testing.assert_allclose(rows[t].to_numpy(), expected, rtol=1e-12)
    assert done.manifest["machines"]["scale_out"] == "instance_count"
    assert done.manifest["machines"]["machine_type"] == "machine_type"
    # the derived columns cost nothing: no spend on them in the budget ledger
    assert not [s for s in done.manifest["budget"] if any(t in s["label"] for t in TOTALS)]


def test_configure_runs_on_an_imported_share(sqlite_repo, tmp_path):
    frame = trace("grep")
    import_c3o(sqlite_repo, [shared_file("c3o", "grep.tsv")], job="grep")
    done = _release(sqlite_repo, tmp_path, "grep", declaration(frame))
    _, summary = import_share(sqlite_repo, done.path, job="theirs")
    shared = sqlite_repo.executions("theirs")
    derived = machine_attributes(shared)
    assert set(derived) == set(frame["machine_type"])
    for facts in derived.values():
        assert facts["slots"].per_machine and facts["memory"].per_machine
    settings = {c: float(frame[c].median()) for c in ("data_size_MB", "line_length", "lines",
                                                      "p_occurrence")}  # fmt: skip
    result = configure(sqlite_repo, "theirs", deadline_s=float(frame["gross_runtime"].median()),
                       settings=settings)  # fmt: skip
    assert result.candidates and {c["machine_type"] for c in result.candidates} == set(derived)


def _one_job(repo: HistoryRepository) -> pd.DataFrame:
    import_c3o(repo, [shared_file("c3o", "sort.tsv")], job="sort")
    return trace("sort")


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda m: m["types"].popitem(), "no facts for the declared machine type"),
        (lambda m: m.update(colour=1), "unknown keys"),
        (lambda m: m.update(totals="slots"), "list of column names"),
        (lambda m: m.update(totals=["cpus"]), "not columns"),
        (lambda m: next(iter(m["types"].values())).update(slots=-8), "finite and >= 0"),
        (lambda m: next(iter(m["types"].values())).update(slots=True), "must be a number"),
        (lambda m: next(iter(m["types"].values())).pop("memory"), "same columns"),
        (lambda m: next(iter(m["types"].values())).update(slots=1e9), "outside the column"),
    ],
)
def test_bad_facts_are_refused_before_anything(sqlite_repo, tmp_path, edit, match):
    decl = declaration(_one_job(sqlite_repo))
    edit(decl["machines"])
    with pytest.raises(DomainError, match=match):
        _release(sqlite_repo, tmp_path, "sort", decl)
    assert sqlite_repo.spent_epsilon("sort") == 0.0
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]


def test_a_derived_column_outside_a_declared_grid_is_refused(sqlite_repo, tmp_path):
    frame = _one_job(sqlite_repo)
    decl = declaration(frame)
    decl["columns"]["slots"] = {"type": "numeric", "values": [16, 32, 48]}
    with pytest.raises(DomainError, match="'slots' of machine type .* at scale-out"):
        _release(sqlite_repo, tmp_path, "sort", decl)


def test_facts_given_as_an_argument_or_twice(sqlite_repo, tmp_path):
    frame = _one_job(sqlite_repo)
    decl = declaration(frame)
    machines = decl.pop("machines")
    done = _release(sqlite_repo, tmp_path, "sort", decl, machines=machines)
    assert done.manifest["machines"]["types"] == machines["types"]
    with pytest.raises(InputError, match="given twice"):
        _release(sqlite_repo, tmp_path, "sort", {**decl, "machines": machines},
                 machines=MachineFacts.from_dict(machines), out=tmp_path / "again")  # fmt: skip


def test_facts_for_a_job_without_machine_types_are_refused(sqlite_repo, tmp_path):
    path = shared_file("c3o-paper", "sort.csv")
    import_c3o(sqlite_repo, [path], job="sort")
    decl = {
        "columns": {
            "instance_count": {"type": "numeric", "values": [2, 4, 6, 8, 10, 12], "integer": True},
            "data_size_MB": {"type": "numeric", "lower": 1000, "upper": 1e6, "log": True},
            "gross_runtime": {"type": "numeric", "lower": 10, "upper": 14400, "log": True},
        },
        "machines": {"totals": ["slots"], "types": {"m": {"slots": 8}}},
    }
    with pytest.raises(DomainError, match="records no machine type"):
        _release(sqlite_repo, tmp_path, "sort", decl)


def test_an_edited_row_that_breaks_the_facts_is_refused_naming_it(sqlite_repo, tmp_path):
    done = _release(sqlite_repo, tmp_path, "sort", declaration(_one_job(sqlite_repo)))
    rows_path = done.path / "rows.csv"
    rows = pd.read_csv(rows_path)
    rows.loc[5, "slots"] = rows.loc[5, "slots"] + 8  # still inside the declared bounds
    rows.to_csv(rows_path, index=False)
    manifest = json.loads((done.path / "manifest.json").read_text())
    manifest["rows_sha256"] = file_digest(rows_path)  # resealed: only the facts catch it
    manifest["manifest_sha256"] = manifest_digest(manifest)
    (done.path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ImportFormatError, match="hold together") as e:
        read_share(done.path)
    assert e.value.line == 7 and e.value.column == "slots"


def test_split_declaration_round_trip():
    facts = MachineFacts({"a": {"slots": 4, "disk": 100}}, ("slots",))
    rest, got = split_declaration({"columns": {}, "machines": facts.to_dict()})
    assert rest == {"columns": {}} and got == facts and got.columns == ("slots", "disk")
    assert split_declaration({"columns": {}}) == ({"columns": {}}, None)
    bound = facts.bind(machine_type="mt", scale_out="m")
    rows = pd.DataFrame({"m": [2, 3], "mt": ["a", "a"], "x": [1.0, 2.0]})
    out = bound.derive(rows, ("m", "mt", "slots", "disk", "x"))
    assert out["slots"].tolist() == [8.0, 12.0] and out["disk"].tolist() == [100.0, 100.0]
    assert bound.first_inconsistent(out) == (-1, "")
    with pytest.raises(DomainError, match="no facts for machine type"):
        bound.derive(rows.assign(mt=["a", "b"]), ("m", "mt", "slots"))


def test_a_release_without_facts_warns_about_the_resources(sqlite_repo, tmp_path, caplog):
    decl = declaration(_one_job(sqlite_repo))
    del decl["machines"]
    with caplog.at_level("WARNING", logger="jobcast.privacy.release"):
        done = _release(sqlite_repo, tmp_path, "sort", decl)
    assert "machines" not in done.manifest
    (record,) = [r for r in caplog.records if "machines" in r.getMessage()]
    assert "slots, memory" in record.getMessage()
