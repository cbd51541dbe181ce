"""benchmarks/bench_progress_time_of_day.py: each variant adds one start-time attribute."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from bench_progress_time_of_day import ELLIS, with_time_of_day  # noqa: E402

from jobcast.progress.arrays import to_arrays  # noqa: E402
from jobcast.progress.context import context_relevance, relevance_targets  # noqa: E402

GBT = ELLIS / "gbt.csv"
pytestmark = pytest.mark.skipif(not GBT.exists(), reason="../shared/data/ellis is not here")


def _starts(path: Path) -> pd.Series:
    raw = pd.read_csv(path, sep="|", usecols=["ID", "STARTED_AT"])
    return pd.to_datetime(raw.groupby("ID")["STARTED_AT"].first())


def test_none_is_the_trace_and_each_other_variant_adds_one_constant_per_execution() -> None:
    plain = with_time_of_day(GBT, "none")
    hours = _starts(GBT).dt.hour
    for variant in ("hour", "noon", "night"):
        frame = with_time_of_day(GBT, variant)
        added = [c for c in frame.columns if c not in plain.columns]
        assert len(added) == 1
        per_run = frame.groupby("execution")[added[0]].nunique()
        assert (per_run == 1).all()
        first = frame.groupby("execution")[added[0]].first()
        if variant == "hour":
            assert np.array_equal(np.floor(first - 1.0), hours.loc[first.index].to_numpy())
        if variant == "night":
            assert set(first) == {"night", "day"}
            assert (first[hours.loc[first.index] < 6] == "night").all()
        pd.testing.assert_frame_equal(frame[plain.columns], plain)
    with pytest.raises(ValueError, match="variant must be one of"):
        with_time_of_day(GBT, "weekday")


@pytest.mark.parametrize(("trace", "relevant"), [("gbt", True), ("logisticregression", False)])
def test_the_start_hour_is_relevant_on_gbt_only(trace: str, relevant: bool) -> None:
    arrays = to_arrays(with_time_of_day(ELLIS / f"{trace}.csv", "hour"))
    ctx = arrays.context
    assert ctx is not None and "start_hour" in ctx.names
    rel = context_relevance(ctx, relevance_targets(arrays.runtime, arrays.n_iter))
    assert (rel[list(ctx.names).index("start_hour")] > 0) == relevant
