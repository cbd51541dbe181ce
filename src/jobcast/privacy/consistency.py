"""Columns that the machine type and the scale-out fix, derived after synthesis, not synthesized.

A cluster's slots and memory follow from public facts: the machine type fixes the slots and
the memory of one machine (the cloud's catalogue), and the scale-out multiplies them. A
synthesizer that draws such columns like any other breaks the relation (12 machines with
16 slots), and a collaborator cannot run ``configure`` on the share. So a release drops
the declared columns before synthesis and computes them from each synthetic row's machine
type and scale-out afterwards: post-processing of a DP output with public facts, which
costs no budget and leaves fewer configuration cells to the synthesizer.

The facts are declared next to the column domains, in the domain file's ``machines`` entry::

    "machines": {
      "totals": ["slots", "memory"],                  # cluster totals: value x scale-out
      "types": {"c4.2xlarge": {"slots": 8, "memory": 15000},
                "m4.2xlarge": {"slots": 8, "memory": 32000}}
    }

A column not listed in ``totals`` has the same value on every cluster of that machine type.
Every declared machine type needs its facts, every machine type the same columns. The
manifest carries the entry (with the machine-type and scale-out column names) and
:func:`check_consistent_rows` checks every row of a share against it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from jobcast.errors import DomainError
from jobcast.privacy.domain import CategoricalDomain, Domain, NumericDomain
from jobcast.privacy.verify import first_outside

__all__ = ["MACHINES_KEY", "MachineFacts", "split_declaration"]

logger = logging.getLogger(__name__)

#: The key of the machine facts in a domain file and in a share's manifest.
MACHINES_KEY = "machines"
_KEYS = {"totals", "types", "machine_type", "scale_out"}
_REL_TOL = 1e-9


def _fact(machine: str, column: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DomainError(
            f"machines: the {column!r} of machine type {machine!r} must be a number, got {value!r}"
        )
    if not math.isfinite(value) or value < 0:
        raise DomainError(
            f"machines: the {column!r} of machine type {machine!r} must be finite and >= 0, "
            f"got {value!r}"
        )
    return float(value)


@dataclass(frozen=True)
class MachineFacts:
    """Public facts: per machine type, the values of the columns that it fixes.

    Parameters
    ----------
    types
        Machine type to ``{column: value on one machine}``; every type names the same
        columns.
    totals
        The columns that are cluster totals (value times the scale-out); the others have
        the value itself on every cluster.
    machine_type, scale_out
        Names of the machine-type and the scale-out columns (bound from the job's schema
        by :meth:`bind` when the declaration leaves them out).
    """

    types: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    totals: tuple[str, ...] = ()
    machine_type: str | None = None
    scale_out: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.types, Mapping) or not self.types:
            raise DomainError(
                'machines: "types" must map each machine type to its columns, e.g. '
                '{"m4.2xlarge": {"slots": 8, "memory": 32000}}'
            )
        types: dict[str, dict[str, float]] = {}
        for machine, facts in self.types.items():
            if not isinstance(facts, Mapping) or not facts:
                raise DomainError(
                    f"machines: machine type {machine!r} needs an object of column values"
                )
            types[str(machine)] = {str(c): _fact(str(machine), str(c), v) for c, v in facts.items()}
        columns = {frozenset(f) for f in types.values()}
        if len(columns) != 1:
            raise DomainError(
                "machines: every machine type must give the same columns, got "
                + "; ".join(f"{m}: {sorted(f)}" for m, f in types.items())
            )
        totals = self.totals
        if isinstance(totals, str) or not all(isinstance(t, str) for t in totals):
            raise DomainError(f'machines: "totals" must be a list of column names, got {totals!r}')
        unknown = sorted(set(totals) - set(next(iter(types.values()))))
        if unknown:
            raise DomainError(
                f"machines: totals {unknown} are not columns of the machine types' facts"
            )
        for name in (self.machine_type, self.scale_out):
            if name is not None and (not isinstance(name, str) or not name):
                raise DomainError(f"machines: a column name must be a string, got {name!r}")
        object.__setattr__(self, "types", types)
        object.__setattr__(self, "totals", tuple(dict.fromkeys(totals)))

    @property
    def columns(self) -> tuple[str, ...]:
        """The derived columns, in the order the first machine type names them."""
        return tuple(next(iter(self.types.values())))

    @classmethod
    def from_dict(cls, data: Any) -> MachineFacts:
        """Build the facts from their JSON form (see the module docstring).

        Raises
        ------
        DomainError
            If the object is malformed; the message names the key.
        """
        if not isinstance(data, Mapping):
            raise DomainError(
                'machines must be a JSON object: {"totals": [...], "types": {TYPE: {...}}}'
            )
        extra = set(data) - _KEYS
        if extra:
            raise DomainError(f"machines: unknown keys {sorted(extra)}; expected {sorted(_KEYS)}")
        totals = data.get("totals", [])
        if not isinstance(totals, list):
            raise DomainError(f'machines: "totals" must be a list of column names, got {totals!r}')
        return cls(
            data.get("types", {}),
            tuple(totals),
            machine_type=data.get("machine_type"),
            scale_out=data.get("scale_out"),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with the column names when they are bound."""
        out: dict[str, Any] = {
            "totals": list(self.totals),
            "types": {m: dict(f) for m, f in self.types.items()},
        }
        for key in ("machine_type", "scale_out"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    def bind(self, *, machine_type: str | None, scale_out: str | None) -> MachineFacts:
        """Name the job's machine-type and scale-out columns (declared names win).

        Raises
        ------
        DomainError
            When the job has no machine-type column, or cluster totals are declared for a
            job without a scale-out column.
        """
        mt = self.machine_type or machine_type
        so = self.scale_out or scale_out
        if mt is None:
            raise DomainError(
                "machines are declared, but the job records no machine type: remove the "
                '"machines" entry from the domain file'
            )
        if self.totals and so is None:
            raise DomainError(
                f"machines: cluster totals {list(self.totals)} need a scale-out column, and the "
                'job has none: remove them from "totals"'
            )
        return MachineFacts(self.types, self.totals, machine_type=mt, scale_out=so)

    def check_domain(self, domain: Domain) -> None:
        """Check the facts against the declared column domains, before any row is read.

        Every declared machine type has facts; every derived column is declared and is
        neither the machine type nor the scale-out; derived values of the declared
        scale-outs lie in the derived column's declared domain.

        Raises
        ------
        DomainError
            Naming the column, the machine type and what to change.
        """
        mt, so = self._names()
        if mt not in domain or not isinstance(domain[mt], CategoricalDomain):
            raise DomainError(
                f"machines: the machine-type column {mt!r} must be declared as categorical"
            )
        declared = [str(v) for v in domain[mt].values]  # type: ignore[union-attr]
        missing = [m for m in declared if m not in self.types]
        if missing:
            raise DomainError(
                f"machines: no facts for the declared machine type(s) {missing}; add them to "
                '"types" (or remove them from the machine-type column\'s values)'
            )
        for column in self.columns:
            if column in (mt, so):
                raise DomainError(f"machines: {column!r} is the machine type or the scale-out")
            if column not in domain or not isinstance(domain[column], NumericDomain):
                raise DomainError(
                    f"machines: the derived column {column!r} must be declared as numeric "
                    "in the domain"
                )
        scale_outs = self._declared_scale_outs(domain)
        for machine in declared:
            for column in self.columns:
                values = np.asarray([self._value(machine, column, m) for m in scale_outs])
                bad, _ = first_outside(pd.Series(values), domain[column])  # type: ignore[arg-type]
                if bad >= 0:
                    raise DomainError(
                        f"machines: {column!r} of machine type {machine!r} is {values[bad]:g} "
                        + (f"at scale-out {scale_outs[bad]:g}, " if column in self.totals else "")
                        + f"outside the column's declared domain; widen {column!r}'s domain "
                        "or correct the machine facts"
                    )

    def synthesis_domain(self, domain: Domain) -> Domain:
        """The domain without the derived columns: what the synthesizer sees."""
        return domain.select([n for n in domain.names if n not in self.columns])

    def derive(self, rows: pd.DataFrame, names: tuple[str, ...]) -> pd.DataFrame:
        """The synthetic ``rows`` with the derived columns computed, in the order ``names``."""
        mt, so = self._names()
        types = rows[mt].astype(str).to_numpy()
        unknown = sorted(set(types) - set(self.types))
        if unknown:
            raise DomainError(f"machines: no facts for machine type(s) {unknown}")
        out = rows.copy()
        scale = rows[so].to_numpy(dtype=np.float64) if so is not None else None
        for column in self.columns:
            per = np.asarray([self.types[t][column] for t in types], dtype=np.float64)
            out[column] = per * scale if column in self.totals and scale is not None else per
        return out[list(names)]

    def first_inconsistent(self, rows: pd.DataFrame) -> tuple[int, str]:
        """The first row (index, column) that breaks the facts; ``(-1, "")`` when none."""
        missing = [c for c in self.columns if c not in rows.columns]
        if missing:
            return 0, missing[0]
        want = self.derive(rows, tuple(rows.columns))
        for column in self.columns:
            w = want[column].to_numpy(dtype=np.float64)
            got = pd.to_numeric(rows[column], errors="coerce").to_numpy(dtype=np.float64)
            with np.errstate(invalid="ignore"):
                bad = ~(np.abs(got - w) <= _REL_TOL * np.maximum(np.abs(w), 1.0))
            if bad.any():
                return int(np.argmax(bad)), column
        return -1, ""

    def report_private(self, frame: pd.DataFrame) -> None:
        """Log (for the owner only; nothing is released) whether own rows break the facts.

        Not differentially private: a release shows it only once its spend is charged
        (:mod:`jobcast.app.held_logs`), and says that it is about the private rows.
        """
        try:
            types = frame[self._names()[0]].astype(str)
            known = frame[types.isin(list(self.types))]
            idx, column = self.first_inconsistent(known)
        except (DomainError, KeyError, ValueError):
            return
        if idx >= 0:
            logger.warning(
                "some of your executions do not match the declared machine facts (first in "
                "column %r): the share follows the declaration, check it. This line is "
                "about your private rows, not part of the share: do not pass it on",
                column,
            )

    def _names(self) -> tuple[str, str | None]:
        if self.machine_type is None:
            raise DomainError("machines: the facts are not bound to the job's columns")
        return self.machine_type, self.scale_out

    def _value(self, machine: str, column: str, scale_out: float) -> float:
        v = self.types[machine][column]
        return v * scale_out if column in self.totals else v

    def _declared_scale_outs(self, domain: Domain) -> list[float]:
        so = self.scale_out
        if so is None or not self.totals:
            return [1.0]
        if so not in domain or not isinstance(domain[so], NumericDomain):
            raise DomainError(f"machines: the scale-out column {so!r} must be declared numeric")
        d: NumericDomain = domain[so]  # type: ignore[assignment]
        if d.values is not None:
            return [float(v) for v in d.values]
        if d.lower is not None and d.upper is not None:
            return [float(d.lower), float(d.upper)]  # totals grow linearly in the scale-out
        return []  # bounds bought with budget: the derived values are checked row by row


def split_declaration(data: Any) -> tuple[Any, MachineFacts | None]:
    """Take the ``machines`` entry out of a domain file's JSON object.

    Returns the rest (for :meth:`jobcast.privacy.domain.Domain.from_dict`) and the facts
    (``None`` when the entry is absent).
    """
    if not isinstance(data, Mapping) or MACHINES_KEY not in data:
        return data, None
    rest = {k: v for k, v in data.items() if k != MACHINES_KEY}
    return rest, MachineFacts.from_dict(data[MACHINES_KEY])
