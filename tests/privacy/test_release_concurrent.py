"""Three `jobcast share` processes started together: exactly one fits the budget and succeeds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobcast.history import HistoryRepository

from .test_release import _import, make_domain

# each process loads everything first, says it is ready, then waits for the start file,
# so the three releases really race (the barrier is after the imports)
_RUNNER = """
import sys, time
from pathlib import Path
import jobcast.app.release, jobcast.app.share, jobcast.cli.privacy_cmds  # noqa: F401
from jobcast.cli import main
ready, start = Path(sys.argv[1]), Path(sys.argv[2])
sys.argv = ["jobcast", *sys.argv[3:]]
ready.write_text("ready")
while not start.exists():
    time.sleep(0.002)
main()
"""


@pytest.mark.slow
def test_exactly_one_of_three_simultaneous_shares_succeeds(
    repo: HistoryRepository, tmp_path: Path
) -> None:
    _import(repo, "sort")
    repo.set_privacy_budget("sort", 1.5)
    domain = tmp_path / "domain.json"
    domain.write_text(json.dumps(make_domain().to_dict()))
    start = tmp_path / "start"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs = []
    for i in range(3):
        args = [
            "share", "--job", "sort", "--epsilon", "1", "--rows", "200",
            "--out", str(tmp_path / f"out{i}"), "--domain", str(domain),
            "--db", repo.url, "--json",
        ]  # fmt: skip
        ready = tmp_path / f"ready{i}"
        procs.append(
            (
                ready,
                subprocess.Popen(
                    [sys.executable, "-c", _RUNNER, str(ready), str(start), *args],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=env,
                ),
            )
        )
    deadline = time.monotonic() + 120
    while not all(r.exists() for r, _ in procs):
        assert time.monotonic() < deadline, "the share processes did not start"
        assert all(p.poll() is None for _, p in procs), [p.communicate() for _, p in procs]
        time.sleep(0.01)
    start.write_text("go")
    results = [p.communicate(timeout=180) + (p.returncode,) for _, p in procs]
    ok = [r for r in results if r[2] == 0]
    refused = [r for r in results if r[2] != 0]
    assert len(ok) == 1, results
    assert len(refused) == 2
    for _out, err, code in refused:
        assert code == 1 and "budget" in err and "Traceback" not in err, err
    winner = json.loads(ok[0][0])
    assert winner["budget_spent"] == pytest.approx(1.0)
    assert repo.spent_epsilon("sort") == pytest.approx(1.0)
    assert len(repo.releases("sort")) == 1
    written = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("out"))
    assert written == [Path(winner["out"]).name]
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]
