"""import csv and c3o on the command line: --runtime-unit, --decimal, stdin, and their hints."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Jobcast

MINUTES = "instance_count,data_size_MB,gross_runtime\n2,100,4.5\n4,100,2.5\n8,100,1.5\n"


def test_c3o_reads_stdin_in_the_unit_given(
    jobcast: Jobcast, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: "-: no such file"; only csv and traces read standard input."""
    db = f"sqlite:///{tmp_path / 'h.db'}"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(MINUTES.encode())))
    code, out, err = jobcast(
        "import", "c3o", "-", "--job", "m", "--runtime-unit", "min", "--db", db, "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["imports"][0]["file"] == "<stdin>" and data["warnings"] == []
    ask = ["--set", "data_size_MB=100", "--scale-out", "2", "--model", "median"]
    code, out, _ = jobcast("predict", "--job", "m", *ask, "--db", db, "--json")
    assert code == 0 and json.loads(out)["predictions"] == [270.0]


def test_short_runtimes_and_a_scale_out_column_are_hinted(jobcast: Jobcast, tmp_path: Path) -> None:
    """Was: runtimes in minutes and a 'nodes' column imported without a word."""
    db = f"sqlite:///{tmp_path / 'h.db'}"
    path = tmp_path / "minutes.csv"
    path.write_text(MINUTES.replace("instance_count", "nodes"))
    code, out, err = jobcast(
        "import", "csv", str(path), "--job", "m", "--runtime", "gross_runtime", "--db", db
    )
    assert code == 0 and "Imported 3 executions" in out
    assert "warning:" in err and "every run took under 10 s" in err
    assert "column 'nodes' looks like a scale-out" in err
    code, out, _ = jobcast("import", "csv", str(path), "--job", "m2", "--runtime", "gross_runtime",
                           "--scale-out", "nodes", "--db", db, "--json")  # fmt: skip
    (warning,) = json.loads(out)["warnings"]
    assert "every distributed run (scale-out > 1) took under 10 s" in warning


@pytest.mark.parametrize(
    "command", [("c3o", "--job", "j"), ("traces", "--job", "j"), ("eventlog",)]
)
def test_a_broken_link_is_named_as_one(
    jobcast: Jobcast, tmp_path: Path, command: tuple[str, ...]
) -> None:
    """Was: "no such file" for a link the user can see in ``ls``; nothing is created."""
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "dangling").symlink_to("gone.csv")
    db = tmp_path / "h.db"
    kind, *rest = command
    code, _, err = jobcast("import", kind, str(tmp_path / "loop"), *rest, "--db", f"sqlite:///{db}")
    assert code == 2 and "symbolic link that loops" in err, err
    code, _, err = jobcast(
        "import", kind, str(tmp_path / "dangling"), *rest, "--db", f"sqlite:///{db}"
    )
    assert code == 2 and "symbolic link to gone.csv, which does not exist" in err, err
    code, _, err = jobcast(
        "import", kind, str(tmp_path / "absent"), *rest, "--db", f"sqlite:///{db}"
    )
    assert code == 2 and "no such file" in err and "symbolic" not in err, err
    assert not db.exists()


def test_a_row_of_another_width_names_only_options_the_command_has(
    jobcast: Jobcast, tmp_path: Path
) -> None:
    """Was: `import c3o` told to fix "the separator (--sep)", an option it does not have."""
    path = tmp_path / "bad.csv"
    path.write_text("instance_count,data_size_MB,gross_runtime\n2,100,45\n4,100,25,9\n")
    db = f"sqlite:///{tmp_path / 'h.db'}"
    code, _, err = jobcast("import", "c3o", str(path), "--job", "j", "--db", db)
    assert code == 2 and "line 3: 4 fields but the header has 3" in err, err
    assert "--sep" not in err and "every row needs 3 fields" in err
    code, _, err = jobcast(
        "import", "csv", str(path), "--job", "j", "--runtime", "gross_runtime", "--db", db
    )
    assert code == 2 and "(--sep)" in err, err


@pytest.mark.parametrize(
    ("value", "says"),
    [("4.5", "is no whole number"), ("0", "is below 1"), ("200000", "is more than 100000")],
)
def test_a_bad_scale_out_says_what_is_wrong_with_it(
    jobcast: Jobcast, tmp_path: Path, value: str, says: str
) -> None:
    """Was: "'4.5' must be > 0" for a value that is > 0 but no whole number."""
    path = tmp_path / "so.csv"
    path.write_text(f"nodes,rt\n2,90\n{value},100\n")
    db = f"sqlite:///{tmp_path / 'h.db'}"
    code, _, err = jobcast(
        "import", "csv", str(path), "--job", "j", "--runtime", "rt", "--scale-out", "nodes",
        "--db", db,
    )  # fmt: skip
    assert code == 2 and f"line 3, column 'nodes': scale-out '{value}' {says}" in err, err
