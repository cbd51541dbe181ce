"""Progress of long commands outside a terminal, and ``watch`` on an abandoned event log."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jobcast.app.followed_run import STALE_AFTER_S, stale_reason
from jobcast.cli.progress_cmds import ProgressLines
from tests.cli.conftest import Jobcast


def _history(tmp_path: Path, runs: int, jobcast: Jobcast) -> str:
    """A job ``it`` of ``runs`` runs of 10 iterations whose speed differs per run."""
    rng = np.random.default_rng(3)
    rows = [
        {"execution": f"r{e}", "iteration": i, "scale_out": 4,
         "duration_s": speed * (10 + 2 * i) * rng.uniform(0.97, 1.03)}
        for e, speed in enumerate(rng.uniform(0.7, 1.4, runs))
        for i in range(10)
    ]
    path = tmp_path / "hist.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    url = f"sqlite:///{tmp_path / 'h.db'}"
    code, _, err = jobcast("import", "traces", str(path), "--job", "it", "--db", url)
    assert code == 0, err
    return url


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_lines_say_the_total_then_every_step_or_half_minute() -> None:
    clock, said = _Clock(), []
    lines = ProgressLines("evaluating it", after="training", clock=clock, write=said.append)
    lines(0, 40)
    lines(1, 40)
    assert said == []  # a command done within seconds says nothing
    clock.now = 5.0
    lines.tick()
    assert said == ["evaluating it: 1/40 (2%), 0m05s elapsed"]
    clock.now = 6.0
    lines(4, 40)  # another 10 %, but too soon after the last line
    assert len(said) == 1
    clock.now = 11.0
    lines(5, 40)  # past 10 % and 5 s on
    assert said[-1] == "evaluating it: 5/40 (12%), 0m11s elapsed"
    clock.now = 12.0
    lines(6, 40)  # no new step
    lines.tick()  # nor half a minute
    assert len(said) == 2
    clock.now = 41.0
    lines.tick()
    assert said[-1] == "evaluating it: 6/40 (15%), 0m41s elapsed"
    clock.now = 100.0
    lines(40, 40)
    clock.now = 200.0
    lines.tick()  # the uncounted work after the counted one is said to go on
    assert said[-1] == "evaluating it: 40/40 done; training, 3m20s elapsed"


def test_the_work_is_sized_before_the_first_simulation_ends(
    tmp_path: Path, jobcast: Jobcast
) -> None:
    from jobcast.app.progress import evaluate, train
    from jobcast.history import HistoryRepository
    from jobcast.progress.training import training_steps

    url = _history(tmp_path, 6, jobcast)
    for call in (train, evaluate):
        calls: list[tuple[int, int]] = []
        with HistoryRepository(url) as repo:
            kwargs = {"training": "none"} if call is evaluate else {}
            call(repo, "it", callback=lambda d, t, seen=calls: seen.append((d, t)), **kwargs)
        # train counts its searches after the simulations (training_steps)
        total = 6 + (training_steps(6) if call is train else 0)
        assert calls[0] == (0, total)
        assert calls[-1] == (total, total)


@pytest.mark.parametrize("json_out", [True, False])
def test_progress_goes_to_stderr_as_lines_when_stdout_is_json_or_a_pipe(
    tmp_path: Path, jobcast: Jobcast, json_out: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _history(tmp_path, 6, jobcast)
    monkeypatch.setattr(ProgressLines, "first_after", 0.0)  # these take seconds only
    flag = ("--json",) if json_out else ()
    code, out, err = jobcast("train", "progress", "--job", "it", "--db", url, *flag)
    assert code == 0, err
    assert "training it (simulations, then parameter searches): 0/15 (0%)" in err.splitlines()[0]
    assert "training it" not in out
    code, out, err = jobcast(
        "evaluate", "progress", "--job", "it", "--training", "none", "--db", url, *flag
    )
    assert code == 0, err
    assert err.splitlines()[0].startswith("evaluating it: 0/6 (0%)")
    if json_out:
        assert json.loads(out)["estimates"] > 0


def test_train_shows_the_history_mean_and_cautions_on_few_runs(
    tmp_path: Path, jobcast: Jobcast
) -> None:
    url = _history(tmp_path, 8, jobcast)
    code, out, err = jobcast("train", "progress", "--job", "it", "--db", url, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert 0 < report["error_history_mean"] < 1
    caution = [n for n in report["notes"] if n.startswith("only 8 executions")]
    assert len(caution) == 1 and f"{report['error_history_mean']:.4f}" in caution[0]
    code, out, err = jobcast("train", "progress", "--job", "it", "--db", url)
    assert code == 0, err
    assert "history mean (baseline)" in out and f"{report['error_history_mean']:.4g}" in out
    assert "Note: only 8 executions" in out


def test_no_caution_from_ten_runs_on(tmp_path: Path, jobcast: Jobcast) -> None:
    url = _history(tmp_path, 10, jobcast)
    code, out, err = jobcast("train", "progress", "--job", "it", "--db", url, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["error_history_mean"] is not None
    assert not any("executions: leave-one-out errors" in n for n in report["notes"])


def _abandoned_log(tmp_path: Path) -> Path:
    """An ``.inprogress`` log of a run that started in 1970, last written two hours ago."""
    from tests.collect.test_eventlog import crafted_log

    log = tmp_path / "app-1.inprogress"
    log.write_text("\n".join(crafted_log()[:-1]) + "\n")
    old = time.time() - 7200
    os.utime(log, (old, old))
    return log


def test_stale_reason_names_an_unwritten_log_and_an_implausible_start() -> None:
    now = datetime(2026, 12, 7, 10, tzinfo=UTC)
    fresh = now - timedelta(seconds=STALE_AFTER_S / 2)
    assert stale_reason(now - timedelta(hours=1), now, written_at=fresh,
                        longest_s=900.0) is None
    old = now - timedelta(seconds=2 * STALE_AFTER_S)
    why = stale_reason(now - timedelta(minutes=5), now, written_at=old, longest_s=None)
    assert why is not None and "last written 20.0 min ago" in why
    long_ago = now - timedelta(days=1972)
    why = stale_reason(long_ago, now, written_at=fresh, longest_s=2191.0)
    assert why is not None and "started 1972 days ago" in why and "2191 s" in why
    # a history of short runs does not make a ten-minute-old start implausible
    assert stale_reason(now - timedelta(seconds=STALE_AFTER_S - 1), now,
                        written_at=None, longest_s=1.0) is None


def test_watch_warns_once_of_an_abandoned_log_and_says_why_it_gave_up(
    tmp_path: Path, jobcast: Jobcast
) -> None:
    log = _abandoned_log(tmp_path)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    code, out, err = jobcast(
        "watch", "--eventlog", str(log), "--job", "w", "--interval", "0.1", "--timeout", "1",
        "--iterations", "job-groups", "--db", url,
    )
    assert code == 2
    assert err.count("looks abandoned") + out.count("looks abandoned") == 2
    assert "warning: the application looks abandoned" in out + err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: the application did not end within --timeout 1 s")
    assert "last written 2.0 h ago" in last


def test_the_terminal_bar_starts_with_its_total(
    tmp_path: Path, jobcast: Jobcast, monkeypatch: pytest.MonkeyPatch
) -> None:
    from contextlib import contextmanager

    from jobcast.cli import progress_cmds

    url = _history(tmp_path, 6, jobcast)
    started: list[tuple[str, int | None]] = []
    notes: list[str] = []

    @contextmanager
    def bar(description: str, total: int | None):  # type: ignore[no-untyped-def]
        started.append((description, total))
        yield lambda done, total=None, message="": notes.append((done, total))

    monkeypatch.setattr(progress_cmds, "_terminal", lambda: True)
    monkeypatch.setattr(progress_cmds, "_bar", bar)
    code, _, err = jobcast("evaluate", "progress", "--job", "it", "--db", url)
    assert code == 0, err
    # one count over both phases: 6 simulations, then one nested training per run
    assert started == [("evaluating it", 12)]
    assert notes[-1] == (12, 12)
    assert [done for done, _ in notes] == sorted(done for done, _ in notes)
