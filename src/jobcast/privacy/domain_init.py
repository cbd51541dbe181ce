"""A domain-file skeleton from a job's schema alone (``jobcast domain init``), for the user to edit.

Nothing is read from the job's values: the skeleton holds the column names, their types,
and public defaults --

* the runtime column: 10 s to 4 h on a log scale (any Spark or Flink job of interest);
* the scale-out column: integers 1 to 1024 on a log scale (edit it to the scale-outs
  your cluster offers: a ``values`` grid is published as is);
* a numeric context attribute: ``{"log": true}`` without bounds, so a release locates
  its values inside the public search range with a recorded share of the budget --
  dataset sizes stay secret; declare ``lower``/``upper`` from public knowledge (what
  you would tell anyone, e.g. inputs between 1 GB and 10 TB; never computed from your
  values, not even rounded: bounds are published as is in every share, outside
  differential privacy) unless the job has hundreds of executions (on a few dozen the
  located range often collapses and the release is refused, its ε spent), and for a
  column that can be negative (zeros are clipped into the lowest bin, or make the
  column linear from 0);
* a categorical column (machine type, a text attribute): an empty ``values`` list that
  must be filled with the labels you offer (categories are never read from your data).

See :mod:`jobcast.privacy.domain` for the format.
"""

from __future__ import annotations

from typing import Any

from jobcast.history import JobSpec
from jobcast.privacy.domain import DOMAIN_FORMAT

__all__ = ["RUNTIME_DEFAULT", "SCALE_OUT_DEFAULT", "domain_skeleton", "skeleton_notes"]

#: Public default of a runtime column: 10 s .. 4 h, log scale.
RUNTIME_DEFAULT: dict[str, Any] = {"type": "numeric", "lower": 10, "upper": 14400, "log": True}
#: Public default of a scale-out column: 1 .. 1024 machines, integers, log scale.
SCALE_OUT_DEFAULT: dict[str, Any] = {
    "type": "numeric",
    "lower": 1,
    "upper": 1024,
    "log": True,
    "integer": True,
}


def domain_skeleton(spec: JobSpec) -> dict[str, Any]:
    """The domain file of ``spec``'s release columns with public defaults.

    Columns come in the order a release uses: scale-out, machine type, the context
    attributes, runtime (under the trace's column names).
    """
    columns: dict[str, Any] = {}
    if spec.scale_out_column:
        columns[spec.scale_out_column] = dict(SCALE_OUT_DEFAULT)
    if spec.machine_type_column:
        columns[spec.machine_type_column] = {"type": "categorical", "values": []}
    for a in spec.attributes:
        if a.numeric:
            columns[a.name] = {"type": "numeric", "log": True}
        else:
            columns[a.name] = {"type": "categorical", "values": []}
    columns[spec.runtime_column or "gross_runtime"] = dict(RUNTIME_DEFAULT)
    return {"format": DOMAIN_FORMAT, "columns": columns}


def skeleton_notes(skeleton: dict[str, Any]) -> list[str]:
    """What the user should edit in ``skeleton``, one line each."""
    notes = []
    for name, col in skeleton["columns"].items():
        if col["type"] == "categorical":
            notes.append(f"{name}: list the labels you offer in 'values' (required)")
        elif col == SCALE_OUT_DEFAULT:
            notes.append(
                f"{name}: 1-1024 is a placeholder: declare the scale-outs your cluster offers "
                "(a public 'values' grid, e.g. [2, 4, 8, 12]) or a public range near them; "
                "synthetic scale-outs spread over whatever is declared"
            )
        elif "lower" not in col:
            notes.append(
                f"{name}: declare a public range ('lower'/'upper') from what you would tell "
                "anyone (e.g. inputs between 1 GB and 10 TB), never computed from your "
                "values, not even rounded: it is published as is in every share. Do so "
                "unless the job has hundreds of executions: without one, bounds are bought "
                "with budget, and on a job of a few dozen runs that often fails (C3O sort, "
                "36 runs at epsilon 1: refused in 7 of 10 tries), and a refused release "
                "spends its epsilon all the same. If it can be negative, a 'lower' below 0 "
                'with "log": false (a log scale holds positive values only: below the '
                "search range they are released as 0)"
            )
    notes.append("a 'values' grid is published as is: use grids only for public choices")
    return notes
