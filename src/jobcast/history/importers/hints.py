"""Hints about a valid import that was probably misread: the runtime unit, a scale-out column."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from jobcast.history.importers.units import DURATION_UNITS
from jobcast.history.records import ExecutionTable

__all__ = ["SHORTEST_PLAUSIBLE_S", "import_hints"]

#: Runtimes (seconds) below which every distributed run having ended is implausible:
#: starting executors on several machines alone takes about this long.
SHORTEST_PLAUSIBLE_S = 10.0

_SCALE_OUT_NAME = re.compile(
    r"^(num_?)?(nodes?|instances?|instance_count|executors?|num_executors|workers?|machines?|"
    r"scale_?out)$",
    re.IGNORECASE,
)


def import_hints(table: ExecutionTable, *, runtime_unit: str, scale_out_given: bool) -> list[str]:
    """What about ``table`` suggests an option was missing or wrong; empty when nothing does.

    * Every distributed run (scale-out > 1; every run without a scale-out column)
      shorter than :data:`SHORTEST_PLAUSIBLE_S` seconds: the runtimes are likely in
      another unit than ``runtime_unit`` (``--runtime-unit``).
    * Without ``--scale-out`` (``scale_out_given`` False), a column of whole numbers
      >= 1 named like a scale-out (nodes, instances, executors, workers, machines).

    Parameters
    ----------
    table
        The validated executions (runtimes in seconds).
    runtime_unit
        The unit the runtimes were read in.
    scale_out_given
        Whether the import named a scale-out column.
    """
    frame = table.frame
    hints = []
    runtimes = frame["gross_runtime"].to_numpy(dtype=float)
    if "scale_out" in frame.columns and frame["scale_out"].notna().any():
        distributed = runtimes[frame["scale_out"].fillna(0).to_numpy(dtype=float) > 1]
        which = "distributed run (scale-out > 1)"
    else:
        distributed, which = runtimes, "run"
    if distributed.size and float(distributed.max()) < SHORTEST_PLAUSIBLE_S:
        units = list(DURATION_UNITS)
        larger = units[units.index(runtime_unit) + 1 :] if runtime_unit in units else units
        suggest = f" {larger[0]}" if larger else " UNIT"
        hints.append(
            f"every {which} took under {SHORTEST_PLAUSIBLE_S:g} s (the longest "
            f"{float(distributed.max()):.3g} s, read in {runtime_unit}): are the runtimes in "
            f"another unit? If so, import the file into a new --job with --runtime-unit"
            f"{suggest} (one of {', '.join(units)})"
        )
    if not scale_out_given:
        for attribute in table.job.attributes:
            column = frame[attribute.name]
            if _SCALE_OUT_NAME.match(attribute.name) and _whole_positive(column):
                hints.append(
                    f"column {attribute.name!r} looks like a scale-out (the number of machines) "
                    "but was imported as a context attribute; to predict and configure by "
                    f"scale-out, import the file into a new --job with --scale-out "
                    f"{attribute.name}"
                )
    return hints


def _whole_positive(column: pd.Series) -> bool:
    if not pd.api.types.is_numeric_dtype(column):
        return False
    values = column.to_numpy(dtype=float)
    return bool(values.size) and bool(np.all((values >= 1) & (np.floor(values) == values)))
