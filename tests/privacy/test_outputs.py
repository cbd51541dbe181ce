"""Honest outputs: no manifest or row of a default share reveals a raw extreme, a category or n.

Each c3o-paper job is shared with the default method under the declaration a user writes
(scale-out grid, every other column a coarse public range: ``bounds``) and without any
domain file (``none``: what ``jobcast share`` does without ``--domain``); a release
that is refused must not reveal them in its message either.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from jobcast.app.imports import import_c3o
from jobcast.app.release import release_share
from jobcast.errors import JobcastError
from jobcast.evaluation.privacy_domains import C3O_PAPER_JOBS, c3o_paper_domain, load_c3o_paper
from jobcast.history import HistoryRepository
from jobcast.privacy import CategoricalDomain, Domain, NumericDomain
from jobcast.privacy.share import read_share

from ..conftest import shared_file

REQUESTED = 777  # synthetic rows asked for: not any job's row count
SEED = 4242  # not any value of the traces


def _numbers(obj: Any, path: str = "") -> Iterator[tuple[str, float]]:
    """Every number in a JSON value, with where it stands."""
    if isinstance(obj, bool) or obj is None:
        return
    if isinstance(obj, int | float):
        yield path, float(obj)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _numbers(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _numbers(v, f"{path}[{i}]")


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _secrets(frame: pd.DataFrame) -> dict[str, float]:
    """The private facts no output may carry: the row count and every column's extremes."""
    out = {"n": float(len(frame))}
    for c in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[c]):
            out[f"min {c}"] = float(frame[c].min())
            out[f"max {c}"] = float(frame[c].max())
    return out


def _published(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest without the public inputs: the declared domains, the synthesizer's
    settings (checked below to be the same for every job), the seed, ε and rows asked for."""
    public = ("parameters", "seed", "epsilon", "epsilon_spent", "rows")
    rest = {k: v for k, v in manifest.items() if k not in public}
    rest["columns"] = [{k: v for k, v in c.items() if k != "domain"} for c in manifest["columns"]]
    return rest


def check_honest(directory: Path, frame: pd.DataFrame, domain: Domain) -> dict[str, Any]:
    """Assert that a written share reveals no raw extreme, no unseen fact and not n."""
    pkg = read_share(directory)
    manifest, rows = dict(pkg.manifest), pkg.rows
    assert manifest["rows"] == REQUESTED and len(rows) == REQUESTED
    secrets = _secrets(frame)
    for where, value in _numbers(_published(manifest)):
        for what, secret in secrets.items():
            assert not _same(value, secret), f"manifest{where} = {value} is the {what}"
    for key in _keys(manifest):
        assert key.lower() not in {"n", "count", "n_rows", "original_rows", "min", "max"}, key
    for name, dom in domain.columns:
        if isinstance(dom, CategoricalDomain):
            assert set(rows[name].astype(str)) <= {str(v) for v in dom.values}
            continue
        if dom.values is not None or dom.integer:
            # a declared grid value is published by the declaration; an integer column
            # meets its extremes by rounding inside a DP histogram's bin (kmeans' features
            # 5, 10, 15: the bin holding 5 holds no other integer), so only its bounds in the
            # manifest can reveal an extreme, and they are checked above
            continue
        x = rows[name].to_numpy(dtype=float)
        for what in ("min", "max"):
            hits = int(np.isclose(x, secrets[f"{what} {name}"], rtol=1e-12, atol=0).sum())
            assert hits == 0, f"{hits} rows hold the {what} of {name}"
    return manifest


def _keys(obj: Any) -> Iterator[str]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield str(k)
            yield from _keys(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _keys(v)


def _refusal_is_honest(error: Exception, frame: pd.DataFrame) -> None:
    text = str(error)
    assert "--domain" in text, text
    for what, secret in _secrets(frame).items():
        forms = {repr(secret), f"{secret:g}", f"{secret:,.0f}"}
        if secret == int(secret):
            forms.add(str(int(secret)))
        for form in forms:
            if len(form) >= 3:  # "2" or "12" also stand in column names and hints
                assert form not in text, f"the refusal names the {what}: {text}"


def _share(
    repo: HistoryRepository, frame: pd.DataFrame, domain: Domain | None, out: Path, job: str
) -> dict[str, Any]:
    """Release ``frame`` as job ``job`` of ``repo`` (the default method) and check it."""
    trace = out.with_suffix(".tsv")
    frame.to_csv(trace, sep="\t", index=False)
    import_c3o(repo, [trace], job=job)
    repo.set_privacy_budget(job, 100.0, confirm_raise=True)
    done = release_share(repo, job, epsilon=1.0, rows=REQUESTED, out=out, domain=domain,
                         random_state=SEED)  # fmt: skip
    if domain is None:
        domain = Domain.from_dict({"columns": {c["name"]: c["domain"] for c in
                                               done.manifest["columns"]}})  # fmt: skip
    return check_honest(done.path, frame, domain)


@pytest.mark.slow
def test_bounds_declared_shares_of_every_c3o_paper_job_are_honest(sqlite_repo, tmp_path):
    shared_file("c3o-paper", "sort.csv")
    parameters = []
    for job in C3O_PAPER_JOBS:
        frame = load_c3o_paper(job)
        domain = c3o_paper_domain(job, "bounds", frame)
        manifest = _share(sqlite_repo, frame, domain, tmp_path / job, job)
        parameters.append({k: v for k, v in manifest["parameters"].items()})
    # the synthesizer's settings are the same for every job: none is read from the data
    assert all(p == parameters[0] for p in parameters)


@pytest.mark.slow
@pytest.mark.parametrize("job", C3O_PAPER_JOBS)
def test_default_shares_without_a_domain_are_honest_or_refused_honestly(sqlite_repo, tmp_path, job):
    shared_file("c3o-paper", f"{job}.csv")
    frame = load_c3o_paper(job)
    try:
        _share(sqlite_repo, frame, None, tmp_path / job, job)
    except JobcastError as e:
        _refusal_is_honest(e, frame)


def test_categories_seen_are_not_published(sqlite_repo, tmp_path):
    frame = pd.read_csv(shared_file("c3o", "sort.tsv"), sep="\t")
    frame = frame[["instance_count", "machine_type", "data_size_MB", "gross_runtime"]]
    declared = ("c4.2xlarge", "m4.2xlarge", "r4.2xlarge", "x1.32xlarge")
    assert set(frame["machine_type"]) < set(declared)  # two declared types never ran
    domain = Domain(
        (
            ("instance_count", NumericDomain(values=tuple(range(2, 13, 2)), integer=True)),
            ("machine_type", CategoricalDomain(declared)),
            ("data_size_MB", NumericDomain(lower=100, upper=1e6, log=True)),
            ("gross_runtime", NumericDomain(lower=10, upper=14400, log=True)),
        )
    )
    manifest = _share(sqlite_repo, frame, domain, tmp_path / "sort", "sort")
    seen = sorted(set(frame["machine_type"]))
    text = json.dumps(manifest)
    # the manifest lists the declared labels, never the subset that ran
    assert json.dumps(seen) not in text and json.dumps(list(declared)) in text
    assert text.count('"x1.32xlarge"') == 1
