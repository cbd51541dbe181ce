"""release_share: arguments first, one transaction, a ledger tied to the data."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jobcast.app.release import release_share
from jobcast.errors import (
    BudgetExceededError,
    InputError,
    NotEnoughDataError,
    PrivacyError,
    ReleaseAbortedError,
    ReleaseRefusedError,
    UnknownJobError,
)
from jobcast.history import Attribute, AttributeKind, HistoryRepository, JobSpec
from jobcast.history.ledger import execution_fingerprint
from jobcast.privacy.base import few_rows_warning
from jobcast.privacy.domain import NumericDomain
from jobcast.privacy.release import MAX_ROWS
from jobcast.privacy.share import read_share, verify_share
from tests.helpers import import_frame

from .conftest import make_domain, make_frame


def _spec(name: str) -> JobSpec:
    return JobSpec(
        name,
        (Attribute("data_size_MB", AttributeKind.DATASET, True),),
        runtime_column="gross_runtime",
        scale_out_column="instance_count",
        machine_type_column="machine_type",
    )


def _import(
    repo: HistoryRepository, name: str, n: int = 80, seed: int = 0, scale: float = 1.0
) -> None:
    f = make_frame(n, seed).rename(columns={"instance_count": "scale_out"})
    f["gross_runtime"] *= scale
    import_frame(repo, _spec(name), f)


def _release(repo: HistoryRepository, out: Path, job: str = "sort", **kw: object):
    args: dict = dict(epsilon=1.0, rows=50, out=out, domain=make_domain(), random_state=1)
    args.update(kw)
    return release_share(repo, job, **args)


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".partial-" in p.name)


def test_release_writes_a_verified_share_and_charges_once(repo, tmp_path):
    _import(repo, "sort")
    done = _release(repo, tmp_path / "s1")
    assert done.path == (tmp_path / "s1").absolute() and done.rows == 50
    assert done.epsilon == 1.0 and done.spent == pytest.approx(1.0)
    manifest = verify_share(done.path)
    assert manifest["manifest_sha256"] == done.digest
    (entry,) = repo.releases("sort")
    assert entry.digest == done.digest and entry.released_by and entry.epsilon == 1.0
    assert entry.destination == str(done.path)
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        ({"epsilon": 1e-300}, PrivacyError, "smallest"),
        ({"epsilon": math.inf}, PrivacyError, "finite"),
        ({"epsilon": math.nan}, PrivacyError, "finite"),
        ({"epsilon": 0.0}, PrivacyError, "> 0"),
        ({"epsilon": -1.0}, PrivacyError, "> 0"),
        ({"epsilon": True}, PrivacyError, "number"),
        ({"epsilon": None}, InputError, "--no-dp"),
        ({"epsilon": 1.0, "no_dp": True}, InputError, "not both"),
        ({"rows": 0}, InputError, "between 1 and"),
        ({"rows": 100_000_000_000}, InputError, "between 1 and"),
        ({"rows": 2.5}, InputError, "whole number"),
        ({"method": "gan"}, InputError, "unknown method"),
        ({"random_state": "x"}, InputError, "seed"),
    ],
)
def test_bad_arguments_refused_before_anything(repo, tmp_path, kw, error, match):
    _import(repo, "sort")
    with pytest.raises(error, match=match):
        _release(repo, tmp_path / "out", **kw)
    assert repo.releases("sort") == []
    assert not (tmp_path / "out").exists() and _leftovers(tmp_path) == []


def test_bad_out_refused_before_anything(repo, tmp_path):
    _import(repo, "sort")
    (tmp_path / "file").write_text("x")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "a.txt").write_text("x")
    for out, match in [
        (tmp_path / "file", "a file of that name"),
        (tmp_path / "full", "not empty"),
        (tmp_path / "no" / "such" / "dir", "does not exist"),
    ]:
        with pytest.raises(InputError, match=match):
            _release(repo, out)
    _release(repo, tmp_path / "ok")
    with pytest.raises(InputError, match="already holds a share"):
        _release(repo, tmp_path / "ok")
    assert len(repo.releases("sort")) == 1
    assert (tmp_path / "file").read_text() == "x"
    assert sorted(p.name for p in (tmp_path / "full").iterdir()) == ["a.txt"]


def test_an_empty_out_directory_is_used(repo, tmp_path):
    _import(repo, "sort")
    (tmp_path / "empty").mkdir()
    done = _release(repo, tmp_path / "empty")
    assert (done.path / "manifest.json").is_file()


def test_a_failure_before_the_mechanism_charges_nothing_and_leaves_no_files(
    repo, tmp_path, monkeypatch
):
    import jobcast.app.release as release

    _import(repo, "sort")

    def broken(*args: object, **kw: object) -> None:
        raise OSError("cannot read")

    monkeypatch.setattr(release, "create_share", broken)
    with pytest.raises(OSError, match="cannot read"):
        _release(repo, tmp_path / "out")
    assert repo.releases("sort") == []
    assert not (tmp_path / "out").exists() and _leftovers(tmp_path) == []


def test_a_failure_writing_after_the_mechanism_is_charged_and_leaves_no_files(
    repo, tmp_path, monkeypatch
):
    import jobcast.app.release as release

    _import(repo, "sort")

    def broken(*args: object, **kw: object) -> None:
        raise OSError("disk full")

    # the mechanism ran on the private rows: its ε is spent whether the files appear or not
    monkeypatch.setattr(release, "write_share_files", broken)
    with pytest.raises(ReleaseAbortedError, match="disk full.*ε = 1 is charged") as e:
        _release(repo, tmp_path / "out")
    assert e.value.interrupted is None and e.value.spent == 1.0
    (entry,) = repo.releases("sort")
    assert entry.refused and entry.epsilon == pytest.approx(1.0) and entry.digest is None
    assert not (tmp_path / "out").exists() and _leftovers(tmp_path) == []


def test_budget_refused_under_the_lock_and_nothing_written(repo, tmp_path):
    _import(repo, "sort")
    repo.set_privacy_budget("sort", 1.5)
    _release(repo, tmp_path / "a")
    with pytest.raises(BudgetExceededError, match="never free"):
        _release(repo, tmp_path / "b")
    assert not (tmp_path / "b").exists() and _leftovers(tmp_path) == []
    assert repo.spent_epsilon("sort") == pytest.approx(1.0)
    no_dp = _release(repo, tmp_path / "c", epsilon=None, no_dp=True)
    assert no_dp.epsilon is None and repo.spent_epsilon("sort") == pytest.approx(1.0)


def test_the_ledger_follows_the_data(repo, tmp_path):
    _import(repo, "sort")
    repo.set_privacy_budget("sort", 2.0)
    _release(repo, tmp_path / "a", epsilon=1.5)
    # the same file imported as another job: same spend, and the smaller budget
    _import(repo, "sort-copy")
    assert repo.spent_epsilon("sort-copy") == pytest.approx(1.5)
    assert repo.privacy_budget("sort-copy") == pytest.approx(2.0)
    with pytest.raises(BudgetExceededError):
        _release(repo, tmp_path / "b", job="sort-copy", epsilon=1.0)
    # a subset of the executions is enough to carry the spend
    _import(repo, "sort-part", n=10)
    assert repo.spent_epsilon("sort-part") == pytest.approx(1.5)
    # delete and re-import: the ledger survives delete_job
    repo.delete_job("sort")
    assert repo.spent_epsilon("sort") == pytest.approx(1.5)  # a deleted job's ledger
    _import(repo, "sort")
    assert repo.spent_epsilon("sort") == pytest.approx(1.5)
    assert repo.privacy_budget("sort") == pytest.approx(2.0)
    # other data under another name is not charged
    _import(repo, "other", seed=5, scale=1.001)
    assert repo.spent_epsilon("other") == 0.0
    with pytest.raises(UnknownJobError):
        repo.budget_state("never-existed")


def test_budget_changes_are_guarded_and_recorded(repo, tmp_path):
    _import(repo, "sort")
    _release(repo, tmp_path / "a", epsilon=2.0)
    with pytest.raises(InputError, match="cannot be set below"):
        repo.set_privacy_budget("sort", 1.0)
    with pytest.raises(InputError, match="--confirm-raise"):
        repo.set_privacy_budget("sort", 1000.0)
    repo.set_privacy_budget("sort", 3.0)
    repo.set_privacy_budget("sort", 10.0, confirm_raise=True, changed_by="alice")
    changes = repo.budget_changes("sort")
    assert [(c.from_epsilon, c.to_epsilon) for c in changes] == [(5.0, 3.0), (3.0, 10.0)]
    assert changes[1].changed_by == "alice" and changes[0].changed_by
    assert repo.privacy_budget("sort") == 10.0
    for bad in (0, -1, math.inf, math.nan, True):
        with pytest.raises(InputError):
            repo.set_privacy_budget("sort", bad)  # type: ignore[arg-type]
    assert len(repo.budget_changes("sort")) == 2


def test_fingerprints_ignore_names_and_number_types():
    a = execution_fingerprint(
        scale_out=4, machine_type="m", gross_runtime=10, attributes={"x": 1, "y": "a"}
    )
    b = execution_fingerprint(
        scale_out=4.0, machine_type="m", gross_runtime=10.0, attributes={"y": "a", "x": 1.0}
    )
    c = execution_fingerprint(
        scale_out=4, machine_type="m", gross_runtime=10.5, attributes={"x": 1, "y": "a"}
    )
    assert a == b != c and len(a) == 16


def test_manifest_is_json_with_digests(repo, tmp_path):
    _import(repo, "sort")
    done = _release(repo, tmp_path / "a")
    on_disk = json.loads((done.path / "manifest.json").read_text())
    assert on_disk == dict(done.manifest)
    assert len(on_disk["rows_sha256"]) == 64 and len(on_disk["manifest_sha256"]) == 64


def test_rows_cap_is_public():
    assert MAX_ROWS == 10_000_000


def test_a_package_that_would_not_verify_is_not_released(repo, tmp_path, monkeypatch):
    import jobcast.app.release as release_module
    from jobcast.privacy.share import SharePackage, create_share

    def broken(*args, **kwargs):
        pkg = create_share(*args, **kwargs)
        rows = pkg.rows.copy()
        rows.loc[3, "instance_count"] = 0  # what a collapsed bound estimate rounds to
        return SharePackage(pkg.manifest, rows)

    monkeypatch.setattr(release_module, "create_share", broken)
    _import(repo, "sort")
    with pytest.raises(ReleaseRefusedError, match="does not verify.*line 5.*instance_count"):
        _release(repo, tmp_path / "out")
    # the package came from the private rows: its failure is a refusal, charged, 0 rows
    (refused,) = repo.releases("sort")
    assert refused.rows == 0 and refused.epsilon == pytest.approx(1.0)
    assert repo.spent_epsilon("sort") == pytest.approx(1.0)
    assert not (tmp_path / "out").exists() and _leftovers(tmp_path) == []


def test_migration_0002_keeps_the_old_ledger_and_budgets(tmp_path):
    from alembic import command
    from sqlalchemy import create_engine, text

    from jobcast.history.database import _alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(
            text(
                "INSERT INTO jobs (id, name, created_at, privacy_budget) "
                "VALUES (1, 'sort', '2026-01-01', 3.0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO privacy_releases (job_id, created_at, epsilon, no_dp, method, rows) "
                "VALUES (1, '2026-01-02', 1.25, 0, 'perfmodel', 10)"
            )
        )
    engine.dispose()
    with HistoryRepository(url) as repo:
        state = repo.budget_state("sort")
        assert state.budget == 3.0 and state.spent == 1.25
        (change,) = repo.budget_changes("sort")
        assert (change.from_epsilon, change.to_epsilon) == (5.0, 3.0)
        repo.delete_job("sort")
        assert repo.spent_epsilon("sort") == 1.25


def test_a_refusal_decided_on_the_rows_is_charged_and_writes_nothing(repo, tmp_path):
    # 10 executions and no domain file: the ranges bought in the public search range
    # cannot be located, so the mechanism refuses, deciding on its noisy outputs; what
    # it spent up to the decision is charged (retrying must not be free)
    _import(repo, "tiny", n=10)
    schema = {  # the categories declared, every number left to the search range
        "columns": {
            "instance_count": {"type": "numeric", "integer": True, "log": True},
            "machine_type": {"type": "categorical", "values": ["small", "large"]},
            "data_size_MB": {"type": "numeric", "log": True},
            "gross_runtime": {"type": "numeric", "log": True},
        }
    }
    with pytest.raises(ReleaseRefusedError, match="--domain") as refused:
        _release(repo, tmp_path / "out", job="tiny", domain=schema)
    assert "charged to the ledger of job 'tiny'" in str(refused.value)
    spent = refused.value.spent
    assert 0.0 < spent <= 1.0
    [entry] = repo.releases("tiny")
    assert entry.refused and entry.rows == 0 and entry.destination is None
    assert entry.epsilon == pytest.approx(spent) and entry.digest is None
    assert repo.spent_epsilon("tiny") == pytest.approx(spent)
    assert not (tmp_path / "out").exists() and _leftovers(tmp_path) == []
    # the charge is checked like any release: a budget it exhausted refuses the next try
    repo.set_privacy_budget("tiny", spent + 0.5)
    with pytest.raises(BudgetExceededError):
        _release(repo, tmp_path / "out", job="tiny", domain=schema)
    assert len(repo.releases("tiny")) == 1
    # without DP nothing is charged, refused or not
    done = _release(repo, tmp_path / "nodp", job="tiny", domain=schema, epsilon=None, no_dp=True)
    assert done.rows == 50 and not repo.releases("tiny")[-1].refused


def test_rows_outside_the_declared_domain_are_left_out_without_a_word(repo, tmp_path, caplog):
    # a narrower grid and bounds than the rows: the release neither refuses nor counts
    _import(repo, "sort")
    narrow = make_domain(runtime=NumericDomain(lower=10.0, upper=60.0, log=True, bins=8))
    narrow = narrow.replace(
        "instance_count", NumericDomain(values=(2, 4), integer=True, log=True)
    )
    with caplog.at_level("DEBUG"):
        done = _release(repo, tmp_path / "s", domain=narrow)
    assert done.rows == 50 and done.spent == pytest.approx(1.0)
    verify_share(done.path)
    rows = read_share(done.path).rows
    assert set(rows["instance_count"]) <= {2, 4} and rows["gross_runtime"].between(10, 60).all()
    said = " ".join([r.getMessage() for r in caplog.records]).replace(str(tmp_path), "")
    # the one warning that may speak of rows left out reads the noisy count (a DP output
    # the release paid for), not the rows: it says "may", never how many
    said = said.replace(few_rows_warning("perfmodel"), "")
    assert "outside" not in said and "left out" not in said


def test_negative_values_of_a_searched_log_column_are_released_not_refused(repo, tmp_path):
    """Was: refused for free ("does not verify ... lower > 0, got 0.0"), saying a value <= 0."""
    rng = np.random.default_rng(1)
    offset = rng.uniform(-50.0, 50.0, 300)
    frame = pd.DataFrame({"instance_count": rng.choice([2, 4, 8], 300), "offset": offset,
                          "gross_runtime": 600.0 + 5.0 * offset})  # fmt: skip
    spec = JobSpec("neg", (Attribute("offset", AttributeKind.DATASET, True),),
                   runtime_column="gross_runtime", scale_out_column="instance_count",
                   machine_type_column=None)  # fmt: skip
    import_frame(repo, spec, frame.rename(columns={"instance_count": "scale_out"}))
    domain = {"columns": {
        "instance_count": {"type": "numeric", "values": [2, 4, 8], "integer": True},
        "offset": {"type": "numeric", "log": True},
        "gross_runtime": {"type": "numeric", "lower": 10, "upper": 14400, "log": True}}}
    done = release_share(repo, "neg", epsilon=1.0, rows=100, out=tmp_path / "s",
                         domain=domain, random_state=0)  # fmt: skip
    assert done.rows == 100 and repo.spent_epsilon("neg") == pytest.approx(1.0)
    verify_share(done.path)


def test_categorical_labels_that_read_as_numbers_verify(repo, tmp_path):
    """Was: "value 4000 is outside the share's domain": the CSV read "4000" as a number."""
    _import(repo, "sort")
    domain = make_domain().to_dict()
    domain["columns"]["data_size_MB"] = {"type": "categorical",
                                         "values": ["1000", "2000", "4000"]}  # fmt: skip
    done = _release(repo, tmp_path / "s", domain=domain)
    labels = read_share(done.path).rows["data_size_MB"]
    assert set(labels) <= {"1000", "2000", "4000"}
    # the rows' 1000, 2000, 4000 are those labels: none was left out of the release
    from jobcast.privacy.domain import Domain

    frame = make_frame(80, 0)
    assert len(Domain.from_dict(domain).conform(frame)) == len(frame)


def test_a_lowered_budget_holds_copies_imported_before_the_first_release(repo, tmp_path):
    # the tester's case: no release yet, so only the budget change can tie A to its data
    _import(repo, "A")
    _import(repo, "B")  # a copy from before the change
    repo.set_privacy_budget("A", 1.0)
    _import(repo, "C")  # and one from after it
    for copy in ("B", "C"):
        assert repo.privacy_budget(copy) == pytest.approx(1.0)
        with pytest.raises(BudgetExceededError):
            _release(repo, tmp_path / f"out-{copy}", job=copy, epsilon=4.0)
    assert repo.spent_epsilon("A") == 0.0
    # the marker is not a release and spends nothing
    assert repo.releases("A") == [] and repo.releases("C") == []
    _release(repo, tmp_path / "ok", job="C", epsilon=1.0)
    assert repo.budget_state("A").spent == pytest.approx(1.0)
    assert repo.budget_state("A").budget == pytest.approx(1.0)
    # other data is not held to A's budget
    _import(repo, "other", seed=5, scale=1.001)
    assert repo.privacy_budget("other") == 5.0


def test_one_execution_without_a_scale_out_does_not_change_the_shares_columns(repo, tmp_path):
    """Was: one such execution removed the scale-out column from every share of the job."""
    _import(repo, "sort")
    one = make_frame(2, seed=9).iloc[:1].rename(columns={"instance_count": "scale_out"})
    one["scale_out"] = np.nan
    import_frame(repo, _spec("sort"), one, file="one.csv")
    assert repo.executions("sort", include_shared=False)["scale_out"].isna().sum() == 1
    done = _release(repo, tmp_path / "out")
    share = read_share(done.path)
    assert list(share.rows.columns) == list(make_domain().names)
    assert share.rows["instance_count"].notna().all()
    assert share.manifest["roles"]["scale_out"] == "instance_count"


def test_a_job_whose_executions_all_lack_the_scale_out_is_refused_before_anything_runs(
    repo, tmp_path
):
    f = make_frame(10, seed=3).rename(columns={"instance_count": "scale_out"})
    f["scale_out"] = np.nan
    import_frame(repo, _spec("sort"), f)
    with pytest.raises(NotEnoughDataError, match="with values in instance_count, machine_type"):
        _release(repo, tmp_path / "out")
    assert repo.releases("sort") == []
