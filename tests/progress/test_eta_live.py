"""Live ETAs at the edges of the history: a pace outside every run's, the iteration runs end at."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from jobcast.app.progress import eta, fit_wall_clock
from jobcast.history import HistoryRepository
from jobcast.progress.wallclock import PACE_WORDS
from tests.progress.test_eta import GAP, T0, TAIL, _history, _record


def _pace_warnings(warnings: tuple[str, ...]) -> list[str]:
    return [w for w in warnings if PACE_WORDS in w]


@pytest.mark.parametrize(("factor", "pace"), [(5.0, "slower"), (0.2, "faster")])
def test_a_run_far_outside_the_history_s_pace_is_warned_of(
    repo: HistoryRepository, factor: float, pace: str
) -> None:
    durations = _history(repo)
    start = T0 + timedelta(days=1)
    _record(repo, "odd", [d * factor for d in durations[:2]], start=start, finish=False)
    last_end = start + timedelta(seconds=factor * sum(durations[:2]) + GAP)
    got = _pace_warnings(eta(repo, "loop", "odd", now=last_end).warnings)
    assert len(got) == 1
    assert got[0].startswith(f"the run is {pace} {PACE_WORDS}:")
    assert "to the end of iteration 2, the 6 earlier runs took" in got[0]
    assert "elapsed" in got[0]  # wall-clock, from the run's and iterations' timestamps


def test_a_run_within_the_history_s_pace_is_not_warned_of(repo: HistoryRepository) -> None:
    durations = _history(repo)
    start = T0 + timedelta(days=1)
    # 30 % slower than the history's runs (within 5 % of each other): inside the margin
    _record(repo, "slowish", [d * 1.3 for d in durations[:3]], start=start, finish=False)
    last_end = start + timedelta(seconds=1.3 * sum(durations[:3]) + 2 * GAP)
    assert not _pace_warnings(eta(repo, "loop", "slowish", now=last_end).warnings)


def test_estimate_without_timestamps_compares_iteration_time(repo: HistoryRepository) -> None:
    import pandas as pd

    durations = _history(repo)
    model = fit_wall_clock(repo, "loop")
    current = pd.DataFrame(
        {"iteration": [0, 1], "duration_s": [5 * d for d in durations[:2]], "scale_out": 4}
    )
    warning = model.pace_warning(current)
    assert warning is not None and "of iteration time to the end of iteration 2" in warning
    assert model.pace_warning(current.assign(duration_s=durations[:2])) is None


def _two_lengths(repo: HistoryRepository) -> list[float]:
    """Four short runs of 6 iterations and four twice as slow of 10: the latter go on."""
    rng = np.random.default_rng(5)
    base = [10.0 * float(x) for x in rng.lognormal(0.0, 0.05, 10)]
    for r in range(4):
        scale = float(rng.lognormal(0.0, 0.03))
        _record(repo, f"short-{r}", [d * scale for d in base[:6]], start=T0, finish=True)
        _record(repo, f"long-{r}", [2 * d * scale for d in base], start=T0, finish=True)
    return base


def test_the_eta_does_not_jump_up_when_the_run_reaches_the_similar_runs_end(
    repo: HistoryRepository,
) -> None:
    base = _two_lengths(repo)
    start = T0 + timedelta(days=1)
    _record(repo, "now", base[:5], start=start, finish=False)
    end_of = [start + timedelta(seconds=sum(base[: k + 1]) + k * GAP) for k in range(6)]
    model = fit_wall_clock(repo, "loop")
    before = eta(repo, "loop", "now", now=end_of[4])  # the short runs' last iteration ahead
    began = end_of[4] + timedelta(seconds=GAP)
    repo.record_iteration(
        "loop",
        "now",
        5,
        values={"started_at": began, "finished_at": end_of[5], "duration_s": base[5]},
    )
    at_end = eta(repo, "loop", "now", now=end_of[5])  # where every short run ended
    assert (before.iterations_done, at_end.iterations_done) == (5, 6)
    # the iteration-wise estimate alone takes the run to go on like the long runs, with
    # four more iterations of about 20 s each: the jump the ETA used to make
    assert model.estimator_.estimate(_current(repo)).remaining_s > 40
    # now the run most likely ends (the short runs weigh most): the ETA moves down, not
    # up, and its interval reaches down to the short runs' tail
    assert at_end.remaining_s < before.remaining_s
    lo, hi = at_end.interval_s
    assert lo == pytest.approx(TAIL, abs=1.0)
    assert lo <= at_end.remaining_s <= hi


def _current(repo: HistoryRepository):  # type: ignore[no-untyped-def]
    iterations = repo.iterations("loop", include_running=True)
    run = iterations[iterations["execution"] == "now"].sort_values("iteration")
    return run.assign(scale_out=4)  # as the app takes it from the run's scale-out
