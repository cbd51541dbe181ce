"""A release stopped at a chosen point: charged once its mechanism ran, never a free package.

Real `jobcast share` processes are killed (SIGKILL), interrupted (SIGINT) or terminated
(SIGTERM) from inside, at the step the test patches in; no sleeps decide the timing.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from jobcast.history import HistoryRepository
from jobcast.privacy.share import read_share
from tests.helpers import run_main

from .test_release import _import, _leftovers, _release, make_domain

# patches one step of the release (STEP is replaced), then runs `jobcast ARGS`
_RUNNER = """
import os, signal, sys, time
import jobcast.app.release as release
import jobcast.privacy.release as checks
from jobcast.errors import ImportFormatError
from jobcast.cli import main

def kill_after(original, sig):
    def step(*args, **kwargs):
        result = original(*args, **kwargs)
        os.kill(os.getpid(), sig)
        time.sleep(60)  # the signal arrives first
        return result
    return step

def warn_then(original, sig):
    # a mechanism that says something drawn from its noisy outputs, then is stopped
    def step(*args, **kwargs):
        import logging
        logging.getLogger("jobcast.privacy.perfmodel").warning("NOISY COUNT SAYS FEW")
        os.kill(os.getpid(), sig)
        time.sleep(60)
    return step

def interrupted_read(directory):
    # what pandas makes of Ctrl-C while it reads rows.csv
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(60)
    except KeyboardInterrupt:
        raise ImportFormatError(
            str(directory), "cannot parse CSV: Error tokenizing data. C error: Calling "
            "read(nbytes) on source failed. Try engine='python'."
        ) from None

STEP
sys.argv = ["jobcast", *sys.argv[1:]]
main()
"""

_STEPS = {
    "kill-during-mechanism": (
        "release.create_share = kill_after(release.create_share, signal.SIGKILL)"
    ),
    "ctrl-c-during-mechanism": (
        "release.create_share = kill_after(release.create_share, signal.SIGINT)"
    ),
    "ctrl-c-after-a-warning": (
        "release.create_share = warn_then(release.create_share, signal.SIGINT)"
    ),
    "term-after-a-warning": (
        "release.create_share = warn_then(release.create_share, signal.SIGTERM)"
    ),
    "kill-after-writing": (
        "release.write_share_files = kill_after(release.write_share_files, signal.SIGKILL)"
    ),
    "term-after-writing": (
        "release.write_share_files = kill_after(release.write_share_files, signal.SIGTERM)"
    ),
    "ctrl-c-during-self-check": "checks.read_share = interrupted_read",
}


def _share(repo: HistoryRepository, tmp_path: Path, step: str) -> subprocess.CompletedProcess:
    domain = tmp_path / "domain.json"
    domain.write_text(json.dumps(make_domain().to_dict()))
    args = [
        "share", "--job", "sort", "--epsilon", "1", "--rows", "200",
        "--out", str(tmp_path / "out"), "--domain", str(domain), "--db", repo.url,
    ]  # fmt: skip
    code = _RUNNER.replace("STEP", _STEPS[step])
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=180
    )


def _packages(parent: Path) -> list[Path]:
    """Every directory under ``parent`` holding a package that verifies."""
    found = []
    for d in parent.iterdir():
        try:
            read_share(d)
        except Exception:
            continue
        found.append(d)
    return found


@pytest.mark.slow
def test_killed_during_the_mechanism_charges_nothing_and_leaves_no_package(repo, tmp_path):
    _import(repo, "sort")
    done = _share(repo, tmp_path, "kill-during-mechanism")
    assert done.returncode == -9, done.stderr
    assert repo.releases("sort") == [] and repo.spent_epsilon("sort") == 0.0
    assert _packages(tmp_path) == []


@pytest.mark.slow
def test_ctrl_c_during_the_mechanism_charges_nothing_and_says_so(repo, tmp_path):
    _import(repo, "sort")
    done = _share(repo, tmp_path, "ctrl-c-during-mechanism")
    assert done.returncode == 130, done.stderr
    assert "nothing was written and nothing charged" in " ".join(done.stderr.split())
    assert repo.releases("sort") == [] and _packages(tmp_path) == []
    assert _leftovers(tmp_path) == []


@pytest.mark.slow
@pytest.mark.parametrize("step", ["ctrl-c-after-a-warning", "term-after-a-warning"])
def test_what_the_mechanism_says_is_not_shown_when_nothing_is_charged(repo, tmp_path, step):
    """Was: its warnings printed at once, so an interrupt before the charge showed them free."""
    _import(repo, "sort")
    done = _share(repo, tmp_path, step)
    assert done.returncode == 130, done.stderr
    assert "nothing charged" in " ".join(done.stderr.split())
    assert "NOISY COUNT SAYS FEW" not in done.stderr + done.stdout
    assert repo.releases("sort") == [] and _packages(tmp_path) == []


def test_what_the_mechanism_says_is_shown_once_it_is_charged(repo, tmp_path, monkeypatch):
    import jobcast.app.release as release

    _import(repo, "sort")
    original = release.create_share
    seen: list[int] = []

    class Spy(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage() == "NOISY COUNT SAYS FEW":
                seen.append(len(repo.releases("sort")))  # committed entries, when shown

    def create(*args: object, **kwargs: object) -> object:
        logging.getLogger("jobcast.privacy.perfmodel").warning("NOISY COUNT SAYS FEW")
        return original(*args, **kwargs)

    monkeypatch.setattr(release, "create_share", create)
    spy = Spy(logging.WARNING)
    logging.getLogger().addHandler(spy)
    try:
        _release(repo, tmp_path / "out")
    finally:
        logging.getLogger().removeHandler(spy)
    assert seen == [1]  # shown once, after the charge had committed


@pytest.mark.slow
def test_killed_with_a_complete_package_on_disk_is_charged(repo, tmp_path, monkeypatch, capsys):
    # before the fix the package sat complete in .out.partial-*, the charge rolled back
    _import(repo, "sort")
    done = _share(repo, tmp_path, "kill-after-writing")
    assert done.returncode == -9, done.stderr
    (left,) = _packages(tmp_path)
    assert ".partial-" in left.name
    (entry,) = repo.releases("sort")
    assert entry.epsilon == pytest.approx(1.0) and repo.spent_epsilon("sort") == 1.0
    assert entry.digest is None and entry.destination == str(tmp_path / "out")
    code, out, _err = run_main(monkeypatch, capsys, "budget", "--job", "sort", "--db", repo.url)
    assert code == 0 and "no digest" in out and "spent 1," in out


@pytest.mark.slow
def test_sigterm_while_writing_is_charged_and_cleans_up(repo, tmp_path):
    _import(repo, "sort")
    done = _share(repo, tmp_path, "term-after-writing")
    assert done.returncode == 130, done.stderr
    assert "interrupted (SIGTERM)" in done.stderr and "Traceback" not in done.stderr
    (entry,) = repo.releases("sort")
    assert entry.refused and entry.epsilon == pytest.approx(1.0)
    assert _packages(tmp_path) == [] and _leftovers(tmp_path) == []


@pytest.mark.slow
def test_ctrl_c_during_the_self_check_is_an_interrupt_not_a_bad_package(repo, tmp_path):
    _import(repo, "sort")
    done = _share(repo, tmp_path, "ctrl-c-during-self-check")
    assert done.returncode == 130, done.stderr
    err = " ".join(done.stderr.split())
    assert "interrupted (SIGINT) after its mechanism had run" in err, err
    assert "ε = 1 is charged" in err and "does not verify" not in err and "--domain" not in err
    (entry,) = repo.releases("sort")
    assert entry.refused and entry.epsilon == pytest.approx(1.0)
    assert _packages(tmp_path) == [] and _leftovers(tmp_path) == []


def test_the_charge_is_committed_and_the_lock_free_before_files_are_written(
    repo, tmp_path, monkeypatch
):
    import jobcast.app.release as release

    _import(repo, "sort")
    seen: dict[str, object] = {}
    original = release.write_share_files

    def write(*args: object, **kwargs: object) -> object:
        seen["entries"] = repo.releases("sort")  # another connection: committed rows only
        # a budget change takes the ledger lock: it must not wait for the files
        worker = threading.Thread(target=repo.set_privacy_budget, args=("sort", 4.0))
        worker.start()
        worker.join(timeout=20)
        seen["lock_free"] = not worker.is_alive()
        return original(*args, **kwargs)

    monkeypatch.setattr(release, "write_share_files", write)
    done = _release(repo, tmp_path / "out")
    assert seen["lock_free"] is True
    (entry,) = seen["entries"]  # type: ignore[misc]
    assert entry.epsilon == pytest.approx(1.0) and entry.digest is None
    (final,) = repo.releases("sort")
    assert final.digest == done.digest and final.destination == str(done.path)
    assert repo.privacy_budget("sort") == 4.0


def test_waiting_for_another_release_is_said(repo, tmp_path, caplog):
    _import(repo, "sort")
    held, done = threading.Event(), threading.Event()

    def hold() -> None:
        with repo.release_lock("sort"):
            held.set()
            # hold the lock until the other side has said that it waits
            while not any("holds the privacy ledger's lock" in r.message for r in caplog.records):
                if done.wait(0.01):
                    break

    caplog.set_level(logging.WARNING, logger="jobcast.history.ledger")
    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(20)
    try:
        repo.check_budget("sort", 1.0)
    finally:
        done.set()
        holder.join(20)
    assert any("waiting for it" in r.message for r in caplog.records)
