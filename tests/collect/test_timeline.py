"""The executor timeline both the event-log parser and the REST follower use."""

from __future__ import annotations

from jobcast.collect.timeline import ExecutorTimeline


def test_time_weighted_scale_out_and_counts() -> None:
    t = ExecutorTimeline()
    t.add("driver", 0.0)
    assert t.alive_at(5.0) == 1 and t.alive_now() == 1  # local mode: the driver works
    t.add("1", 100.0)
    t.add("2", 200.0)
    t.add("3", 3500.0)
    t.remove("1", 7000.0)
    assert t.scale_out(3000.0, 5000.0) == 3  # 2 for 500, 3 for 1500
    assert t.scale_out(6000.0, 10000.0) == 2  # 3 for 1000, 2 for 3000
    assert t.scale_out(4000.0, 4000.0) == 3
    assert t.alive_now() == 2 and t.max_alive() == 3
    t.set("2", 200.0, 8000.0)
    assert t.alive_at(9000.0) == 1
