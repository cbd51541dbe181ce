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
