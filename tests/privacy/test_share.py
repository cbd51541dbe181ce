import json
import re

import pandas as pd
import pytest

from jobcast.errors import DomainError, ImportFormatError, InputError, PrivacyError
from jobcast.privacy import (
    NumericDomain,
    create_share,
    read_share,
    save_domain,
    verify_share,
    write_share,
)
from jobcast.privacy.verify import manifest_digest

from .conftest import N_ROWS, RAW_MAX, RAW_MIN, make_domain

#: Manifest fields that are not released values: digests (hex, whose digit runs could
#: match any number by chance), the creation time and the version.
NOT_VALUES = ("created", "rows_sha256", "manifest_sha256", "jobcast_version")


def manifest_numbers(obj, skip=NOT_VALUES):
    """Every number a manifest releases: JSON numbers, and numbers written inside strings."""
    if isinstance(obj, dict):
        return set().union(set(), *(manifest_numbers(v) for k, v in obj.items() if k not in skip))
    if isinstance(obj, list):
        return set().union(set(), *(manifest_numbers(v) for v in obj))
    if isinstance(obj, bool) or obj is None:
        return set()
    if isinstance(obj, int | float):
        return {float(obj)}
    return {float(x) for x in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", str(obj))}


def _share(frame, domain, **kw):
    args = dict(job="sort", epsilon=1.0, rows=200, method="perfmodel", domain=domain, seed=7)
    args.update(kw)
    return create_share(frame, **args)


def test_round_trip_and_manifest_content(tmp_path, frame, domain):
    pkg = _share(frame, domain)
    write_share(pkg, tmp_path / "out")
    back = read_share(tmp_path / "out")
    m = back.manifest
    assert m["format"] == "jobcast-share/1"
    assert m["job"] == "sort" and m["method"] == "perfmodel" and m["rows"] == 200
    assert m["differential_privacy"] is True and m["epsilon"] == 1.0
    assert sum(s["epsilon"] for s in m["budget"]) == pytest.approx(1.0)
    assert [c["name"] for c in m["columns"]] == list(domain.names)
    assert m["columns"][0]["domain"]["values"] == [2, 4, 6, 8]
    assert {"created", "jobcast_version", "parameters"} <= set(m)
    assert list(back.rows.columns) == list(domain.names)
    assert len(back.rows) == 200
    pd.testing.assert_frame_equal(back.rows, pkg.rows, check_dtype=False)


@pytest.mark.parametrize("method", ["random", "independent", "privbayes", "perfmodel"])
def test_outputs_hold_no_raw_count_extremes_or_categories(tmp_path, frame, method):
    # runtime bounds undeclared: they are bought, never copied
    dom = make_domain(runtime=NumericDomain(log=True))
    pkg = _share(frame, dom, method=method, rows=150)
    write_share(pkg, tmp_path)
    text = (tmp_path / "manifest.json").read_text()
    numbers = manifest_numbers(json.loads(text))
    assert float(N_ROWS) not in numbers
    assert RAW_MIN not in numbers and RAW_MAX not in numbers
    rows_text = (tmp_path / "rows.csv").read_text()
    assert repr(RAW_MIN) not in rows_text and repr(RAW_MAX) not in rows_text
    # the bought bounds are recorded, with their cost in the ledger
    col = json.loads(text)["columns"][-1]
    assert col["estimated_bounds"] is not None
    # (perfmodel buys them as its runtime window, the other methods as DP bounds)
    labels = {s["label"] for s in json.loads(text)["budget"]}
    assert labels & {"bounds:gross_runtime", "window:gross_runtime"}, labels


def test_no_dp_is_explicit_and_recorded(tmp_path, frame, domain):
    pkg = _share(frame, domain, epsilon=None, no_dp=True)
    assert pkg.manifest["differential_privacy"] is False
    assert pkg.manifest["epsilon"] is None and pkg.manifest["budget"] == []
    write_share(pkg, tmp_path)
    assert read_share(tmp_path).differential_privacy is False


@pytest.mark.parametrize("eps", [0, -1.0, None])
def test_bad_epsilon(frame, domain, eps):
    with pytest.raises(PrivacyError, match="epsilon"):
        _share(frame, domain, epsilon=eps)


@pytest.mark.parametrize("rows", [0, -10])
def test_bad_rows(frame, domain, rows):
    with pytest.raises(InputError, match="rows"):
        _share(frame, domain, rows=rows)


def test_unknown_method_and_column(frame, domain):
    with pytest.raises(InputError, match="unknown method"):
        _share(frame, domain, method="gan")
    with pytest.raises(DomainError, match="unknown columns"):
        _share(frame.assign(customer_id=1), domain)


def test_domain_from_file(tmp_path, frame, domain):
    save_domain(domain, tmp_path / "d.json")
    pkg = _share(frame, tmp_path / "d.json")
    assert pkg.manifest["columns"][1]["domain"]["values"] == ["small", "large", "xlarge"]


def test_refuses_to_overwrite(tmp_path, frame, domain):
    pkg = _share(frame, domain)
    write_share(pkg, tmp_path)
    with pytest.raises(InputError, match="already"):
        write_share(pkg, tmp_path)
    write_share(pkg, tmp_path, overwrite=True)


def _written(tmp_path, frame, domain):
    write_share(_share(frame, domain), tmp_path)
    return json.loads((tmp_path / "manifest.json").read_text())


def test_read_errors(tmp_path, frame, domain):
    with pytest.raises(ImportFormatError, match="no manifest.json"):
        read_share(tmp_path)
    m = _written(tmp_path, frame, domain)

    def put(obj):
        (tmp_path / "manifest.json").write_text(json.dumps(obj))

    (tmp_path / "manifest.json").write_text("{oops")
    with pytest.raises(ImportFormatError, match="not valid JSON"):
        read_share(tmp_path)
    put({**m, "format": "jobcast-share/99"})
    with pytest.raises(ImportFormatError, match="unsupported share format"):
        read_share(tmp_path)
    put({k: v for k, v in m.items() if k != "job"})
    with pytest.raises(ImportFormatError, match="missing key 'job'"):
        read_share(tmp_path)
    put({**m, "budget": [*m["budget"], {"label": "extra", "epsilon": 0.5}]})
    with pytest.raises(ImportFormatError, match="ledger"):
        read_share(tmp_path)
    put({**m, "epsilon": 0})
    with pytest.raises(ImportFormatError, match="epsilon"):
        read_share(tmp_path)
    put({**m, "rows": 999})
    with pytest.raises(ImportFormatError, match="rows"):
        read_share(tmp_path)
    put(m)
    rows = pd.read_csv(tmp_path / "rows.csv")
    rows.loc[4, "instance_count"] = 3
    rows.to_csv(tmp_path / "rows.csv", index=False)
    with pytest.raises(ImportFormatError, match="instance_count") as ei:
        read_share(tmp_path)
    assert ei.value.column == "instance_count"
    rows.drop(columns=["machine_type"]).to_csv(tmp_path / "rows.csv", index=False)
    with pytest.raises(ImportFormatError, match="differ"):
        read_share(tmp_path)
    (tmp_path / "rows.csv").unlink()
    with pytest.raises(ImportFormatError, match="no rows.csv"):
        read_share(tmp_path)


# ---------------------------------------------------------------- tampering
def _sealed(tmp_path, frame, domain, **kw):
    write_share(_share(frame, domain, **kw), tmp_path)
    return json.loads((tmp_path / "manifest.json").read_text())


def _put(tmp_path, m, *, reseal=False):
    if reseal:  # an editor who recomputes the digest: the consistency checks still hold
        m = {**m, "manifest_sha256": manifest_digest(m)}
    (tmp_path / "manifest.json").write_text(json.dumps(m))


def _scaled(m, factor):
    budget = [{"label": s["label"], "epsilon": s["epsilon"] * factor} for s in m["budget"]]
    return {
        **m,
        "epsilon": m["epsilon"] * factor,
        "epsilon_spent": m["epsilon_spent"] * factor,
        "budget": budget,
    }


@pytest.mark.parametrize("reseal", [False, True])
@pytest.mark.parametrize("factor", [1000.0, 0.01])
def test_tampered_epsilon_with_scaled_ledger_is_refused(tmp_path, frame, domain, factor, reseal):
    m = _sealed(tmp_path, frame, domain)
    _put(tmp_path, _scaled(m, factor), reseal=reseal)
    with pytest.raises(ImportFormatError, match="parameters' epsilon|changed after"):
        verify_share(tmp_path)


@pytest.mark.parametrize("reseal", [False, True])
def test_no_dp_share_relabelled_as_private_is_refused(tmp_path, frame, domain, reseal):
    m = _sealed(tmp_path, frame, domain, epsilon=None, no_dp=True)
    fake = {
        **m,
        "differential_privacy": True,
        "epsilon": 1.0,
        "epsilon_spent": 1.0,
        "budget": [{"label": "context:count", "epsilon": 1.0}],
    }
    _put(tmp_path, fake, reseal=reseal)
    with pytest.raises(ImportFormatError, match="no_dp"):
        verify_share(tmp_path)


def test_empty_ledger_is_refused(tmp_path, frame, domain):
    m = _sealed(tmp_path, frame, domain)
    _put(tmp_path, {**m, "budget": [], "epsilon_spent": 0.0}, reseal=True)
    with pytest.raises(ImportFormatError, match="ledger is empty"):
        verify_share(tmp_path)


def test_negative_ledger_entry_is_refused(tmp_path, frame, domain):
    m = _sealed(tmp_path, frame, domain)
    budget = [*m["budget"], {"label": "refund", "epsilon": -100.0}]
    budget[0] = {**budget[0], "epsilon": budget[0]["epsilon"] + 100.0}  # sum unchanged
    _put(tmp_path, {**m, "budget": budget}, reseal=True)
    with pytest.raises(ImportFormatError, match="spends -100"):
        verify_share(tmp_path)


def test_unknown_ledger_entry_is_refused(tmp_path, frame, domain):
    m = _sealed(tmp_path, frame, domain)
    budget = [{**m["budget"][0], "note": "free"}, *m["budget"][1:]]
    _put(tmp_path, {**m, "budget": budget}, reseal=True)
    with pytest.raises(ImportFormatError, match="budget entry 1 is unknown"):
        verify_share(tmp_path)


def test_widened_estimated_bounds_are_refused(tmp_path, frame):
    dom = make_domain(runtime=NumericDomain(log=True))
    m = _sealed(tmp_path, frame, dom)
    cols = [dict(c) for c in m["columns"]]
    assert cols[-1]["estimated_bounds"] is not None
    cols[-1]["estimated_bounds"] = [0.001, 1e12]
    _put(tmp_path, {**m, "columns": cols})
    with pytest.raises(ImportFormatError, match="manifest.json was changed"):
        verify_share(tmp_path)
    # and a row let through by the widened bounds is caught by the rows' digest
    rows = pd.read_csv(tmp_path / "rows.csv")
    rows.loc[3, "gross_runtime"] = 999_999_999.0
    rows.to_csv(tmp_path / "rows.csv", index=False)
    with pytest.raises(ImportFormatError, match="rows.csv was changed"):
        verify_share(tmp_path)


def test_edited_rows_are_refused_naming_the_line(tmp_path, frame, domain):
    _sealed(tmp_path, frame, domain)
    rows = pd.read_csv(tmp_path / "rows.csv")
    rows.loc[5, "instance_count"] = 999_999_999
    rows.to_csv(tmp_path / "rows.csv", index=False)
    with pytest.raises(ImportFormatError, match="line 7") as ei:
        verify_share(tmp_path)
    assert ei.value.line == 7 and ei.value.column == "instance_count"
    # an edit inside the domains: only the digest can tell
    rows.loc[5, "instance_count"] = 2 if rows.loc[4, "instance_count"] != 2 else 4
    rows.loc[6, "gross_runtime"] = rows.loc[6, "gross_runtime"] * 1.5
    rows.to_csv(tmp_path / "rows.csv", index=False)
    with pytest.raises(ImportFormatError, match="rows.csv was changed"):
        verify_share(tmp_path)


def test_share_without_digests_is_refused(tmp_path, frame, domain):
    m = _sealed(tmp_path, frame, domain)
    _put(tmp_path, {k: v for k, v in m.items() if not k.endswith("_sha256")})
    with pytest.raises(ImportFormatError, match="no valid 'rows_sha256'"):
        verify_share(tmp_path)


def test_job_name_with_control_characters_is_refused(tmp_path, frame, domain):
    m = _sealed(tmp_path, frame, domain)
    _put(tmp_path, {**m, "job": "sort\n| forged | row |"}, reseal=True)
    with pytest.raises(ImportFormatError, match="control characters"):
        verify_share(tmp_path)


def test_verify_returns_the_manifest(tmp_path, frame, domain):
    m = _sealed(tmp_path, frame, domain)
    assert verify_share(tmp_path) == m
    assert m["manifest_sha256"] == manifest_digest(m)


def _one_runtime_package(tmp_path, frame, domain):
    """A verified DP package whose rows all hold one runtime (as a starved release gives)."""
    from dataclasses import replace

    from jobcast.privacy.share import write_share_files

    pkg = _share(frame, domain)
    rows = pkg.rows.copy()
    rows["gross_runtime"] = 222.0
    d = tmp_path / "flat"
    d.mkdir()
    write_share_files(replace(pkg, rows=rows), d)
    return d


def test_a_share_of_one_runtime_is_not_imported_nor_taken_by_a_hub(tmp_path, frame, domain):
    """Was: imported and pulled into a team's job, every prediction then about 285 s."""
    from jobcast.app.hub import validate_package
    from jobcast.app.share_import import import_share
    from jobcast.history import HistoryRepository

    d = _one_runtime_package(tmp_path, frame, domain)
    with HistoryRepository(f"sqlite:///{tmp_path / 'h.db'}") as repo:
        with pytest.raises(InputError, match=r"holds one value \(222\) in every row"):
            import_share(repo, d)
        assert repo.list_jobs() == []
    manifest = json.loads((d / "manifest.json").read_text())
    with pytest.raises(InputError, match="the package: its runtime column 'gross_runtime'"):
        validate_package(manifest, (d / "rows.csv").read_text())
