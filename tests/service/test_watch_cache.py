"""The watcher's cached ETA, moved on by the clock between estimates."""

from __future__ import annotations

import pytest

from jobcast.service.watch import Watcher


@pytest.mark.parametrize("age", [0.0015, 3.0, 40.0])
def test_a_cached_estimate_counts_down_inside_its_interval(age: float) -> None:
    # the point sits on the interval's low end (predict clips the interval to contain it)
    record = {
        "elapsed_s": 50.0,
        "remaining_s": 20.0,
        "interval_s": [20.0, 35.0],
        "progress": 50.0 / 70.0,
        "job": "loop",
    }
    out = Watcher._moved_on(record, age)
    lo, hi = out["interval_s"]
    assert lo <= out["remaining_s"] <= hi
    assert out["remaining_s"] == pytest.approx(max(20.0 - age, 0.0))
    assert hi == pytest.approx(max(35.0 - age, 0.0))
    assert out["elapsed_s"] == pytest.approx(50.0 + age)
    assert out["progress"] == pytest.approx(
        out["elapsed_s"] / (out["elapsed_s"] + out["remaining_s"])
    )
    assert record["remaining_s"] == 20.0 and record["interval_s"] == [20.0, 35.0]  # not changed


def test_a_record_without_an_estimate_only_gains_elapsed_time() -> None:
    out = Watcher._moved_on(
        {"elapsed_s": 5.0, "remaining_s": None, "interval_s": None, "progress": None}, 2.0
    )
    assert out == {"elapsed_s": 7.0, "remaining_s": None, "interval_s": None, "progress": None}
