"""The training's progress: its searches are counted after the simulations, to a known total."""

from __future__ import annotations

import pandas as pd
import pytest

from jobcast.progress.parallel import StepCounter
from jobcast.progress.simulation import STRENGTH_GRID
from jobcast.progress.training import train_history, training_steps
from tests.progress.synthetic import make_history


def _varied_lengths(history: pd.DataFrame) -> pd.DataFrame:
    """Every third run three iterations shorter (so training converts lengths too)."""
    run = history["execution"].str.removeprefix("run-").astype(int)
    short = (run % 3 == 0) & (history["iteration"] >= history["iteration"].max() - 2)
    return history[~short].reset_index(drop=True)


@pytest.mark.parametrize("n_exec", [8, 12])
def test_training_counts_its_searches_to_the_announced_total(
    n_exec: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    history = _varied_lengths(make_history(n_exec=n_exec, n_iter=10, seed=4))
    calls: list[tuple[int, int]] = []
    before_finish: list[int] = []
    finish = StepCounter.finish

    def noted_finish(self: StepCounter) -> None:
        before_finish.append(self.done)
        finish(self)

    monkeypatch.setattr(StepCounter, "finish", noted_finish)
    train_history(
        history,
        scale_out_model="ernest",
        n_starts=1,
        maxfun=40,
        random_state=0,
        callback=lambda done, total: calls.append((done, total)),
    )
    total = n_exec + training_steps(n_exec)
    assert training_steps(n_exec) == (len(STRENGTH_GRID) + 4) * (2 if n_exec >= 12 else 1)
    assert {t for _, t in calls} == {total}  # the same total from the first call on
    done = [d for d, _ in calls]
    assert done == list(range(1, total + 1))  # one unit per call, none left out
    # the searches themselves advanced the count (not only the final jump): a full
    # pass of screens, search, context, blend and check at least
    assert before_finish[0] >= n_exec + len(STRENGTH_GRID) + 4


def test_a_step_counter_never_passes_its_total() -> None:
    said: list[tuple[int, int]] = []
    steps = StepCounter(lambda d, t: said.append((d, t)), offset=3, total=5)
    steps.step()
    steps.step(4)
    steps.finish()
    assert said == [(4, 5), (5, 5)]
    StepCounter(None, offset=0, total=2).finish()  # without a callback: nothing to tell
