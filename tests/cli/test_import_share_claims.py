"""`jobcast import share` stopped mid-import: its claim is dropped, or said to be a leftover."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jobcast.history import HistoryRepository
from tests.cli.conftest import Jobcast
from tests.privacy.test_release import _import, _release

# stops the process (SIGNAL) where the import writes its rows, then runs `jobcast ARGS`
_RUNNER = """
import os, signal, sys, time
from jobcast.history import HistoryRepository
from jobcast.cli import main
sig = getattr(signal, sys.argv[1])
def stopped(self, table):
    os.kill(os.getpid(), sig)
    time.sleep(60)  # the signal arrives first
HistoryRepository.import_executions = stopped
sys.argv = ["jobcast", *sys.argv[2:]]
main()
"""


def _stopped_import(signal_name: str, share: Path, url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _RUNNER, signal_name, "import", "share", str(share), "--db", url],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def share(repo: HistoryRepository, tmp_path: Path) -> Path:
    _import(repo, "sort")
    return _release(repo, tmp_path / "share").path


@pytest.mark.slow
def test_a_killed_import_leaves_a_claim_that_says_so_and_can_be_taken_over(
    repo: HistoryRepository, share: Path, jobcast: Jobcast
) -> None:
    done = _stopped_import("SIGKILL", share, repo.url)
    assert done.returncode == -9, done.stderr
    code, _out, err = jobcast("import", "share", str(share), "--db", repo.url)
    msg = " ".join(err.split())
    assert code == 2 and "an interrupted import left the claim behind" in msg, msg
    assert "It expires at" in msg and "--take-over" in msg and "Nothing was written" in msg
    code, out, err = jobcast("import", "share", str(share), "--db", repo.url, "--take-over")
    assert code == 0, err
    assert "Imported 50 synthetic executions" in " ".join(out.split())
    # taken over and imported: a second import is refused as a repeat, not a race
    code, _out, err = jobcast("import", "share", str(share), "--db", repo.url, "--take-over")
    assert code == 2 and "already imported" in err


@pytest.mark.slow
@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
def test_an_interrupted_import_drops_its_claim(
    repo: HistoryRepository, share: Path, jobcast: Jobcast, signal_name: str
) -> None:
    done = _stopped_import(signal_name, share, repo.url)
    assert done.returncode != 0, done.stderr
    code, _out, err = jobcast("import", "share", str(share), "--db", repo.url)
    assert code == 0, err
