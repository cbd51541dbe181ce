"""`estimate` says its times are iteration time, and warns of a run far off the history's pace."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from jobcast.cli import app
from jobcast.errors import ImportFormatError
from tests.cli.test_progress_cli import _current, db, run  # noqa: F401 - db is a fixture

runner = CliRunner()


def test_estimate_says_it_counts_iteration_time(db: str, tmp_path: Path) -> None:  # noqa: F811
    current = str(_current(tmp_path, 1.0))
    result = runner.invoke(app, ["estimate", "--job", "it", "--current", current, "--db", db])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())  # rich wraps long lines
    assert "s of iteration time remaining" in text
    assert "s of iteration time in total" in text
    assert " s in total" not in text.replace("of iteration time in total", "")
    assert "`jobcast watch` gives a live run's wall-clock finish" in text
    out = run("estimate", "--job", "it", "--current", current, "--db", db, "--json")
    # the field users rely on stays; the new one names what it is
    assert out["iteration_total_s"] == out["total_s"] == out["elapsed_s"] + out["remaining_s"]


def test_estimate_warns_of_a_run_far_slower_than_the_history(
    db: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    slow = run(
        "estimate", "--job", "it", "--current", str(_current(tmp_path, 5.0)), "--db", db, "--json"
    )
    assert any(
        w.startswith("the run is slower than every earlier run so far") for w in slow["warnings"]
    )
    usual = run(
        "estimate", "--job", "it", "--current", str(_current(tmp_path, 1.0)), "--db", db, "--json"
    )
    assert not any("than every earlier run so far" in w for w in usual["warnings"])


def test_estimate_reads_decimal_commas_with_the_option_its_error_names(
    db: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    plain = _current(tmp_path, 1.5)
    rows = plain.read_text().splitlines()
    # the same iterations with decimal commas, ';'-separated (as a German spreadsheet)
    comma = tmp_path / "comma.csv"
    comma.write_text("\n".join(r.replace(",", ";").replace(".", ",") for r in rows) + "\n")
    refused = runner.invoke(app, ["estimate", "--job", "it", "--current", str(comma), "--db", db])
    assert isinstance(refused.exception, ImportFormatError)
    message = " ".join(str(refused.exception).split())
    assert "--decimal ," in message and "line 2" in message
    assert "--sep" not in message  # an option of the imports, not of estimate
    args = ["estimate", "--job", "it", "--db", db, "--json"]
    read = run(*args, "--current", str(comma), "--decimal", ",")
    assert read == run(*args, "--current", str(plain))
    assert read["elapsed_s"] > 0


def test_estimate_errors_name_no_option_or_execution_it_lacks(
    db: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    gap = tmp_path / "gap.csv"
    gap.write_text("iteration,duration_s,scale_out\n0,4.1,2\n2,2.2,2\n")
    empty = tmp_path / "empty.csv"
    empty.write_text("iteration,duration_s,scale_out\n")
    cases = (
        (gap, "the running execution has no iteration 1"),
        (empty, "add a row per finished iteration"),
    )
    for path, expected in cases:
        got = runner.invoke(app, ["estimate", "--job", "it", "--current", str(path), "--db", db])
        assert isinstance(got.exception, ImportFormatError)
        message = " ".join(str(got.exception).split())
        assert expected in message and "'current'" not in message, message
        assert "per execution" not in message, message


def test_a_short_row_is_told_to_be_fixed_without_an_option_estimate_lacks(
    db: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Was: "fix the row or the separator (--sep)", an option estimate has not."""
    rows = _current(tmp_path, 1.0).read_text().splitlines()
    broken = tmp_path / "r_broken.csv"
    broken.write_text("\n".join([*rows[:2], rows[2].rsplit(",", 1)[0], *rows[3:]]) + "\n")
    got = runner.invoke(app, ["estimate", "--job", "it", "--current", str(broken), "--db", db])
    assert isinstance(got.exception, ImportFormatError)
    message = " ".join(str(got.exception).split())
    assert "line 3" in message and "3 fields but the header has 4" in message, message
    assert "--sep" not in message, message
    assert "fix the row: every row needs 4 fields separated by ','" in message, message
    # predict --input has no --sep either
    got = runner.invoke(app, ["predict", "--job", "it", "--input", str(broken), "--db", db])
    assert isinstance(got.exception, ImportFormatError)
    message = " ".join(str(got.exception).split())
    assert "line 3" in message and "--sep" not in message and "fix the row" in message, message
