"""Attributes that the machine type fixes (slots, memory), per machine or as cluster totals."""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MachineAttribute", "machine_attributes", "machine_row"]


@dataclass(frozen=True)
class MachineAttribute:
    """The value of an attribute that the machine type determines.

    Attributes
    ----------
    value
        The value, or the value per machine when ``per_machine``.
    per_machine
        Whether the attribute is a cluster total (e.g. C3O's ``slots`` and
        ``memory``), i.e. ``value * scale_out``.
    """

    value: float
    per_machine: bool = False

    def at(self, scale_out: int) -> float:
        """Return the attribute's value on a cluster of ``scale_out`` machines."""
        return self.value * scale_out if self.per_machine else self.value


def machine_attributes(
    history: pd.DataFrame,
    *,
    machine_type: Hashable = "machine_type",
    scale_out: Hashable = "scale_out",
    totals: Collection[Hashable] = (),
) -> dict[str, dict[str, MachineAttribute]]:
    """Attributes determined by the machine type (e.g. ``slots``, ``memory``) in a history.

    A numeric column counts as a machine attribute when, within every machine
    type, either its value is constant (and it differs between machine types),
    or its value divided by the scale-out is constant (a cluster total, and it
    varies). A job parameter that the history happens to vary only together with
    the machine type would be taken for one too; values given explicitly to
    :func:`configure` take precedence.

    A history of a single scale-out cannot tell a per-machine value from a cluster
    total: there, the numeric columns named in ``totals`` (resource attributes such
    as C3O's ``slots`` and ``memory``) that are constant within every machine type
    are taken as cluster totals (their value divided by that scale-out, per
    machine), even when one machine type leaves them constant overall.

    Parameters
    ----------
    history
        Executions with a machine-type and a scale-out column.
    machine_type, scale_out
        Their names.
    totals
        Columns to take as cluster totals when the history has a single scale-out.

    Returns
    -------
    dict
        Machine type to ``{column: MachineAttribute}``; empty if there is no
        machine-type column.
    """
    if machine_type not in history.columns or scale_out not in history.columns:
        return {}
    keys = history[machine_type].astype(str).to_numpy()
    m = history[scale_out].to_numpy(dtype=np.float64)
    result: dict[str, dict[str, MachineAttribute]] = {k: {} for k in sorted(set(keys))}
    single = np.unique(m).size == 1
    for column in history.columns:
        if column in (machine_type, scale_out):
            continue
        if not pd.api.types.is_numeric_dtype(history[column]):
            continue
        values = history[column].to_numpy(dtype=np.float64)
        if single and column in set(totals):
            grouped = pd.Series(np.round(values / m, 9)).groupby(keys)
            if bool((grouped.nunique() <= 1).all()):
                first = grouped.first()
                for k in result:
                    result[k][str(column)] = MachineAttribute(float(first[k]), True)
            continue
        if np.unique(values).size <= 1:
            continue
        for per_machine, series in ((False, values), (True, np.round(values / m, 9))):
            grouped = pd.Series(series).groupby(keys)
            if bool((grouped.nunique() <= 1).all()):
                first = grouped.first()
                for k in result:
                    result[k][str(column)] = MachineAttribute(float(first[k]), per_machine)
                break
    return result


def machine_row(values: Mapping[str, MachineAttribute | float], scale_out: int) -> dict[str, Any]:
    """The machine-fixed attribute values of one configuration.

    Parameters
    ----------
    values
        One machine type's entry of :func:`machine_attributes` (a plain number is a
        fixed value).
    scale_out
        Number of machines.

    Returns
    -------
    dict
        Attribute name to its value on ``scale_out`` machines.
    """
    return {k: v.at(scale_out) if isinstance(v, MachineAttribute) else v for k, v in values.items()}
