"""Hints about a valid import that was probably misread: the time unit, a scale-out column."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from jobcast.history.importers.units import DURATION_UNITS
from jobcast.history.records import ExecutionTable, IterationTable

__all__ = [
    "LONGEST_PLAUSIBLE_ITERATION_S",
    "LONGEST_PLAUSIBLE_RUN_S",
    "SHORTEST_PLAUSIBLE_S",
    "import_hints",
    "trace_hints",
]

#: Runtimes (seconds) below which every distributed run having ended is implausible:
#: starting executors on several machines alone takes about this long.
SHORTEST_PLAUSIBLE_S = 10.0

#: An iteration (seconds) longer than a day, or a run whose iterations add up to more than
#: a week, most often means durations in a smaller unit than ``--duration-unit`` says.
LONGEST_PLAUSIBLE_ITERATION_S = 86_400.0
LONGEST_PLAUSIBLE_RUN_S = 7 * 86_400.0

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
    * A text column whose values are mostly numbers with a unit (``10GB``): read as
      categories, not quantities.

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
    for attribute in table.job.attributes:
        hint = _number_with_unit(attribute.name, frame[attribute.name])
        if hint is not None:
            hints.append(hint)
    return hints


#: A number followed by a unit (``10GB``, ``2.5 TB``, ``300ms``): text jobcast reads as a
#: category, not as a quantity.
_WITH_UNIT = re.compile(r"^\s*[-+]?\d+(?:[.,]\d+)?\s*([A-Za-z%]+)\s*$")


def _number_with_unit(name: str, column: pd.Series) -> str | None:
    """A hint when most values of a text column are numbers with a unit (``10GB``)."""
    if pd.api.types.is_numeric_dtype(column):
        return None
    values = [str(v) for v in column.dropna()]
    found = [(v, m.group(1)) for v in values if (m := _WITH_UNIT.match(v)) is not None]
    if not found or len(found) < 0.5 * len(values):
        return None
    example = found[0][0]
    listed = ", ".join(sorted({unit for _, unit in found}))
    return (
        f"column {name!r} holds numbers with a unit ({example!r}; units {listed}), so it "
        "was imported as text: each value is a category of its own, and a model cannot "
        "tell that 200GB is more than 20GB. Write the numbers without the unit, all in one "
        "unit (name the column after it), and import the file into a new --job"
    )


def _whole_positive(column: pd.Series) -> bool:
    if not pd.api.types.is_numeric_dtype(column):
        return False
    values = column.to_numpy(dtype=float)
    return bool(values.size) and bool(np.all((values >= 1) & (np.floor(values) == values)))


def trace_hints(table: IterationTable, *, duration_unit: str, duration_column: str) -> list[str]:
    """What about an iteration trace suggests ``--duration-unit`` or ``--duration`` is wrong.

    * An iteration longer than :data:`LONGEST_PLAUSIBLE_ITERATION_S` (a day), or a run
      whose iterations add up to more than :data:`LONGEST_PLAUSIBLE_RUN_S` (a week):
      durations in a smaller unit (milliseconds read as seconds).
    * A run whose iterations add up to over twice its start to end (run times given).
    * Durations of 0 where the iteration's start to end spans more than a second: the
      duration column may be another one than the iterations' durations.

    Never refuses anything: each is a warning about data that is valid as it stands.

    Parameters
    ----------
    table
        The validated trace (durations in seconds).
    duration_unit
        The unit the durations were read in (``--duration-unit``).
    duration_column
        The file's duration column (``--duration``), named in the hints.
    """
    it = table.iterations
    hints = []
    units = list(DURATION_UNITS)
    at = units.index(duration_unit) if duration_unit in units else 0
    fix = (
        f"is --duration-unit right (durations are read in {duration_unit}; "
        f"--duration-unit {units[at - 1]} if they are in {units[at - 1]})?"
        if at > 0
        else "is --duration the iterations' duration column?"
    )
    durations = it["duration_s"].to_numpy(dtype=float)
    if durations.size and float(durations.max()) > LONGEST_PLAUSIBLE_ITERATION_S:
        i = int(durations.argmax())
        hints.append(
            f"an iteration of execution {it['execution'].iloc[i]!r} lasted "
            f"{durations[i]:.6g} s ({durations[i] / 3600:.3g} h), longer than a day: {fix}"
        )
    totals = it.groupby("execution", sort=False)["duration_s"].sum()
    if len(totals) and float(totals.max()) > LONGEST_PLAUSIBLE_RUN_S and not hints:
        hints.append(
            f"the iterations of execution {totals.idxmax()!r} add up to {totals.max():.6g} s "
            f"({totals.max() / 86_400:.3g} days), longer than a week: {fix}"
        )
    runs = table.executions.frame
    if not hints and {"started_at", "finished_at"} <= set(runs.columns):
        span = (runs["finished_at"] - runs["started_at"]).dt.total_seconds().to_numpy()
        summed = totals.reindex(runs["external_id"].astype(str)).to_numpy(dtype=float)
        over = summed > 2 * span + 1.0
        if over.any():
            i = int(over.argmax())
            hints.append(
                f"the iterations of execution {runs['external_id'].iloc[i]!r} add up to "
                f"{summed[i]:.6g} s, over twice the run's start to end ({span[i]:.6g} s): {fix}"
            )
    if {"started_at", "finished_at"} <= set(it.columns):
        span = (it["finished_at"] - it["started_at"]).dt.total_seconds().to_numpy()
        zero = (durations == 0) & (span > 1.0)
        if zero.any():
            i = int(span[zero].argmax())
            rows = it[zero]
            hints.append(
                f"{int(zero.sum())} iteration(s) have a duration of 0 while their start to end "
                f"spans more than a second (execution {rows['execution'].iloc[i]!r}: "
                f"{span[zero][i]:.6g} s): is {duration_column!r} the iterations' duration "
                "column (--duration)?"
            )
    return hints
