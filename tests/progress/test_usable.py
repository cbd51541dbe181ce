"""Executions recorded live with incomplete iterations: filled in, or left out and named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jobcast.progress.arrays import to_arrays
from jobcast.progress.usable import (
    MIN_DURATION_S,
    filled_scale_out,
    finished_prefix,
    usable_history,
)


def _runs(n_runs: int = 4, n_iter: int = 5, scale_out: float | None = 4.0) -> pd.DataFrame:
    rows = [
        {"execution": f"r{e}", "iteration": i, "duration_s": 1.0 + e + i / 10,
         "scale_out": scale_out}
        for e in range(n_runs)
        for i in range(n_iter)
    ]
    return pd.DataFrame(rows)


def test_a_complete_history_is_kept_whole() -> None:
    frame = _runs()
    usable = usable_history(frame)
    assert usable.left_out == () and usable.note() is None
    pd.testing.assert_frame_equal(
        usable.iterations.reset_index(drop=True),
        frame.assign(scale_out=frame["scale_out"].astype("int64")),
    )


def test_missing_scale_outs_come_from_the_run_then_its_iterations() -> None:
    frame = _runs(n_runs=3, scale_out=None).astype({"scale_out": "float64"})
    # r0: only iteration 2 knows its scale-out (8): earlier ones take the next known,
    # later ones the last known; r1: the run's recorded scale-out; r2: its own, then 6
    frame.loc[(frame["execution"] == "r0") & (frame["iteration"] == 2), "scale_out"] = 8.0
    frame.loc[(frame["execution"] == "r2") & (frame["iteration"] == 0), "scale_out"] = 6.0
    usable = usable_history(frame, {"r0": None, "r1": 3.0, "r2": 2.0})
    got = usable.iterations.groupby("execution")["scale_out"].apply(list).to_dict()
    assert got == {"r0": [8] * 5, "r1": [3] * 5, "r2": [6] * 5}
    assert usable.left_out == ()
    to_arrays(usable.iterations)  # trainable


def test_a_history_without_any_scale_out_counts_one() -> None:
    usable = usable_history(_runs(scale_out=None))
    assert usable.left_out == ()
    assert set(usable.iterations["scale_out"]) == {1}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        pytest.param(lambda f, m: f.drop(f.index[m & (f["iteration"] == 2)]),
                     "iteration 2 was never recorded", id="gap"),
        pytest.param(lambda f, m: f.assign(iteration=f["iteration"] + m.astype(int)),
                     "iteration 0 was never recorded", id="from-one"),
        pytest.param(lambda f, m: f.assign(duration_s=f["duration_s"].mask(
            m & (f["iteration"] == 3))), "iteration 3 has no duration", id="unfinished"),
        pytest.param(lambda f, m: f.assign(scale_out=f["scale_out"].mask(m)),
                     "no scale-out recorded", id="no-scale-out-while-others-have"),
    ],
)
def test_an_incomplete_execution_is_left_out_and_named(change, reason) -> None:  # type: ignore[no-untyped-def]
    frame = _runs()
    broken = change(frame, (frame["execution"] == "r1").to_numpy())
    usable = usable_history(broken)
    assert [x.execution for x in usable.left_out] == ["r1"]
    assert reason in usable.left_out[0].reason
    assert sorted(usable.iterations["execution"].unique()) == ["r0", "r2", "r3"]
    note = usable.note()
    assert note is not None and "'r1'" in note and reason in note
    to_arrays(usable.iterations)  # the rest is trainable


def test_zero_durations_count_the_clock_resolution() -> None:
    frame = _runs()
    frame.loc[3, "duration_s"] = 0.0
    usable = usable_history(frame)
    assert usable.left_out == ()
    assert usable.iterations["duration_s"].iloc[3] == MIN_DURATION_S


def test_the_note_names_three_and_counts_the_rest() -> None:
    frame = _runs(n_runs=6)
    frame = frame[frame["iteration"] != 1]
    usable = usable_history(frame)
    assert len(usable.left_out) == 6 and usable.iterations.empty
    note = usable.note()
    assert note is not None
    assert note.startswith("left out 6 recorded execution(s)")
    assert "'r2'" in note and "'r3'" not in note and note.endswith("and 3 more")


def test_a_running_execution_keeps_its_finished_prefix() -> None:
    current = pd.DataFrame({
        "execution": "now",
        "iteration": [3, 0, 1, 2, 5],
        "duration_s": [np.nan, 2.0, 0.0, 3.0, 1.0],  # 3 runs, 4 was never reported
        "scale_out": [None, 4.0, None, None, None],
    }).astype({"scale_out": "float64"})
    prefix = finished_prefix(current)
    assert list(prefix["iteration"]) == [0, 1, 2]
    assert list(prefix["duration_s"]) == [2.0, MIN_DURATION_S, 3.0]
    assert list(prefix["scale_out"]) == [4, 4, 4]


def test_a_running_execution_without_scale_out_needs_a_default() -> None:
    current = pd.DataFrame({
        "execution": "now", "iteration": [0, 1], "duration_s": [2.0, 3.0],
        "scale_out": [np.nan, np.nan],
    })
    assert finished_prefix(current).empty
    assert list(finished_prefix(current, default_scale_out=1.0)["scale_out"]) == [1, 1]
    assert list(finished_prefix(current, 5.0)["scale_out"]) == [5, 5]


def test_scale_outs_are_filled_within_each_execution_only() -> None:
    nan = np.nan
    scale = np.array([nan, 2.0, nan, nan, nan, nan, 3.0])
    groups = np.array([0, 0, 0, 1, 1, 2, 2])
    got = filled_scale_out(scale, np.array([9.0, 9.0, 9.0, nan, nan, 7.0, 7.0]), groups=groups)
    # 0: before it nothing, the run's 9; 2: the iteration before (2); execution 1 knows
    # nothing; 5: the run's 7 before the iteration after (3)
    np.testing.assert_array_equal(got, [9.0, 2.0, 2.0, nan, nan, 7.0, 3.0])
    np.testing.assert_array_equal(filled_scale_out(scale[:3]), [2.0, 2.0, 2.0])
