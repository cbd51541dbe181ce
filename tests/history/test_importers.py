from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobcast.errors import ImportFormatError, JobConflictError
from jobcast.history import AttributeKind, HistoryRepository
from jobcast.history.importers import parse_kind_overrides, read_c3o, read_executions
from tests.conftest import shared_file


def _write(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


GOOD = "instance_count,data_size_MB,gross_runtime\n2,100,10\n4,100,6\n"


def test_c3o_csv_and_tsv(tmp_path: Path) -> None:
    t = read_c3o(_write(tmp_path, GOOD), job="sort")
    assert t.job.attribute_names == ("data_size_MB",)
    assert list(t.frame["scale_out"]) == [2, 4]
    tsv = read_c3o(_write(tmp_path, GOOD.replace(",", "\t"), "t.tsv"), job="sort")
    assert list(tsv.frame["gross_runtime"]) == [10.0, 6.0]


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [
        ("", 1, None, "empty"),
        ("instance_count,data_size_MB,gross_runtime\n", 2, None, "no data rows"),
        ("instance_count,data_size_MB\n2,100\n", 1, None, "no column 'gross_runtime'"),
        (
            "instance_count,gross_runtime,gross_runtime\n2,1,1\n",
            1,
            "gross_runtime",
            "appears 2 times",
        ),
        ("instance_count,gross_runtime\n2,10\n2,fast\n", 3, "gross_runtime", "not a number"),
        ("instance_count,gross_runtime\n2,nan\n", 2, "gross_runtime", "not a finite number"),
        ("instance_count,gross_runtime\n2,0\n", 2, "gross_runtime", "must be > 0"),
        ("instance_count,gross_runtime\n2,-3\n", 2, "gross_runtime", "must be > 0"),
        ("instance_count,gross_runtime\n2.5,3\n", 2, "instance_count", "whole number"),
        ("instance_count,gross_runtime\n0,3\n", 2, "instance_count", "is below 1"),
        ("instance_count,gross_runtime\nfour,3\n", 2, "instance_count", "not a number"),
        ("instance_count,gross_runtime\n2,3,4\n", 2, None, "3 fields but the header has 2"),
        ("instance_count,size,gross_runtime\n2,,3\n", 2, "size", "empty value"),
    ],
)
def test_bad_c3o_input_names_line_and_column(
    tmp_path: Path, text: str, line: int, column: str | None, fragment: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ImportFormatError) as err:
        read_c3o(path, job="j")
    assert err.value.line == line
    assert err.value.column == column
    assert fragment in str(err.value)
    assert str(path) in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError, match="no such file"):
        read_c3o(tmp_path / "nope.csv", job="j")


def test_generic_csv_with_named_columns(tmp_path: Path) -> None:
    text = "nodes,type,secs,size\n3,a,12.5,10\n5,b,8,10\n"
    t = read_executions(
        _write(tmp_path, text),
        job="j",
        runtime="secs",
        scale_out="nodes",
        machine_type="type",
        kinds=parse_kind_overrides(["size=parameter"]),
    )
    assert t.job.attribute_names == ("size",)
    assert t.job.attribute("size").kind == AttributeKind.PARAMETER
    assert list(t.frame["machine_type"]) == ["a", "b"]
    with pytest.raises(ImportFormatError, match="--runtime"):
        read_executions(_write(tmp_path, text), job="j", runtime="runtime")


def test_categorical_attribute_kept_as_text(tmp_path: Path) -> None:
    t = read_executions(_write(tmp_path, "mode,gross_runtime\nfast,1\nslow,2\n"), job="j")
    assert not t.job.attribute("mode").numeric
    assert list(t.frame["mode"]) == ["fast", "slow"]


def test_clashing_job_is_refused_and_nothing_written(
    tmp_path: Path, sqlite_repo: HistoryRepository
) -> None:
    sqlite_repo.import_executions(read_c3o(_write(tmp_path, GOOD), job="j"))
    other = _write(tmp_path, "instance_count,lines,gross_runtime\n2,5,1\n", "o.csv")
    with pytest.raises(JobConflictError, match="another --job name"):
        sqlite_repo.import_executions(read_c3o(other, job="j"))
    assert len(sqlite_repo.executions("j")) == 2


def test_all_shared_c3o_traces_import(sqlite_repo: HistoryRepository) -> None:
    for name in ("grep", "kmeans", "pagerank", "sgd", "sort"):
        sqlite_repo.import_executions(read_c3o(shared_file("c3o", f"{name}.tsv"), job=name))
    for name in ("grep", "kmeans", "linearregression", "pagerank", "sort"):
        sqlite_repo.import_executions(
            read_c3o(shared_file("c3o-paper", f"{name}.csv"), job=f"paper-{name}")
        )
    sizes = {j.name: j.total_executions for j in sqlite_repo.list_jobs()}
    assert sizes["paper-sort"] == 36 and sizes["paper-pagerank"] == 270
    assert sizes["pagerank"] == 1410


cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8)


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.tuples(cell, cell, cell), min_size=0, max_size=5))
def test_importer_never_crashes_on_arbitrary_cells(tmp_path_factory, rows) -> None:
    """Any content either imports cleanly or raises ImportFormatError, nothing else."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["instance_count", "size", "gross_runtime"])
    w.writerows(rows)
    path = tmp_path_factory.mktemp("h") / "f.csv"
    path.write_text(buf.getvalue())
    try:
        t = read_c3o(path, job="j")
    except ImportFormatError as e:
        assert str(path) in str(e)
    else:
        assert (t.frame["gross_runtime"] > 0).all()
        assert (t.frame["scale_out"] >= 1).all()
