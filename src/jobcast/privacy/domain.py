"""Declared column domains (the public facts a release may use for free) and their JSON format.

A domain file (``jobcast share --domain FILE.json``) is a JSON object with one entry per
column of the job's executions::

    {
      "format": "jobcast-domain/1",
      "columns": {
        "instance_count": {"type": "numeric", "values": [2, 4, 6, 8, 10, 12],
                           "integer": true, "log": true},
        "machine_type":   {"type": "categorical", "values": ["m5.xlarge", "c5.2xlarge"]},
        "data_size_MB":   {"type": "numeric", "lower": 1000, "upper": 100000, "log": true},
        "gross_runtime":  {"type": "numeric", "lower": 10, "upper": 14400, "log": true}
      }
    }

Column kinds:

``numeric`` with ``values``
    A public grid (the scale-outs a cloud offers, a parameter grid).  Values are kept
    exact and cost nothing.
``numeric`` with ``lower``/``upper``
    Public bounds; the column is discretized into ``bins`` bins (log-spaced when
    ``log`` is true) and values are drawn inside the bins.  ``integer`` rounds them.
``numeric`` without bounds
    Only allowed with ``"log": true`` (positive quantities such as sizes and runtimes):
    the bounds are *estimated with a recorded share of the privacy budget* (see
    :mod:`jobcast.privacy.bounds`), never read from the private rows.  Zeros or negative
    values are not refused (that would tell whether the column holds any): they fall
    in the bottom bin of the public search range, and perfmodel releases a column whose
    DP window reaches that bin on a linear scale from 0.
``categorical``
    Declared labels (strings or numbers without order).

``format`` may be omitted.  Unknown keys are errors, so that a typo is not silently
ignored.  A release leaves out the rows outside the declared domain (off a grid, beyond
bounds, an undeclared label, a missing value) before anything is computed, and says
nothing about them (:meth:`Domain.conform`).  The column kinds live in
:mod:`jobcast.privacy.columns`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jobcast.errors import DomainError
from jobcast.privacy.columns import (
    CategoricalDomain,
    ColumnDomain,
    NumericDomain,
    column_from_dict,
    integer_bounds,
    text_label,
)

__all__ = [
    "DOMAIN_FORMAT",
    "NumericDomain",
    "CategoricalDomain",
    "ColumnDomain",
    "Domain",
    "integer_bounds",
    "load_domain",
    "read_domain_json",
    "save_domain",
]

DOMAIN_FORMAT = "jobcast-domain/1"


@dataclass(frozen=True)
class Domain:
    """The declared domains of a table's columns, in column order.

    Parameters
    ----------
    columns
        Pairs ``(name, domain)``; a mapping is accepted too.
    """

    columns: tuple[tuple[str, ColumnDomain], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        cols = self.columns
        items = tuple(cols.items()) if isinstance(cols, Mapping) else tuple(cols)
        names = [n for n, _ in items]
        if len(set(names)) != len(names):
            raise DomainError(f"duplicate column names in domain: {names}")
        for n, d in items:
            if not isinstance(n, str) or not n:
                raise DomainError(f"column names must be non-empty strings, got {n!r}")
            if not isinstance(d, NumericDomain | CategoricalDomain):
                raise DomainError(f"column {n!r}: not a column domain: {d!r}")
        object.__setattr__(self, "columns", items)

    @property
    def names(self) -> tuple[str, ...]:
        """Column names in order."""
        return tuple(n for n, _ in self.columns)

    def __getitem__(self, name: str) -> ColumnDomain:
        for n, d in self.columns:
            if n == name:
                return d
        raise DomainError(f"unknown column {name!r}; the domain declares {list(self.names)}")

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.columns)

    def replace(self, name: str, domain: ColumnDomain) -> Domain:
        """Return a new domain with one column's domain replaced."""
        self[name]
        return Domain(tuple((n, domain if n == name else d) for n, d in self.columns))

    def select(self, names: Iterable[str]) -> Domain:
        """Return the domain restricted to ``names`` (in that order)."""
        return Domain(tuple((n, self[n]) for n in names))

    @property
    def undeclared(self) -> tuple[str, ...]:
        """Numeric columns whose bounds must be estimated with budget."""
        return tuple(n for n, d in self.columns if not d.declared)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the domain file format)."""
        return {"format": DOMAIN_FORMAT, "columns": {n: d.to_dict() for n, d in self.columns}}

    @classmethod
    def from_dict(cls, data: Any) -> Domain:
        """Build a domain from its JSON form.

        Raises
        ------
        DomainError
            If the object is malformed.
        """
        if not isinstance(data, Mapping):
            raise DomainError("a domain must be a JSON object with a 'columns' object")
        extra = set(data) - {"format", "columns"}
        if extra:
            raise DomainError(f"unknown top-level keys in domain: {sorted(extra)}")
        fmt = data.get("format", DOMAIN_FORMAT)
        if fmt != DOMAIN_FORMAT:
            raise DomainError(f"unsupported domain format {fmt!r}; expected {DOMAIN_FORMAT!r}")
        cols = data.get("columns")
        if not isinstance(cols, Mapping) or not cols:
            raise DomainError("a domain needs a non-empty 'columns' object")
        return cls(tuple((str(n), column_from_dict(str(n), s)) for n, s in cols.items()))

    def validate(self, frame: pd.DataFrame, *, require_all: bool = True) -> None:
        """Check that ``frame`` has exactly the declared columns, with values inside them.

        Parameters
        ----------
        frame
            The private executions.
        require_all
            Whether every declared column must be present.

        Raises
        ------
        DomainError
            On an unknown or missing column, a missing value, or a value outside a
            declared grid, category list or bounds.  The message names the column, never
            which values or how many (:meth:`conform` leaves such rows out instead).
        """
        unknown = [c for c in frame.columns if c not in self]
        if unknown:
            raise DomainError(
                f"unknown columns {unknown}: declare them in the domain (or drop them); "
                f"declared: {list(self.names)}"
            )
        if require_all:
            missing = [n for n in self.names if n not in frame.columns]
            if missing:
                raise DomainError(f"declared columns {missing} are missing from the data")
        for name in frame.columns:
            dom = self[name]
            inside = self._inside(name, frame[name])
            if inside.all():
                continue
            if isinstance(dom, CategoricalDomain):
                problem = "hold values not among the declared categories (or missing ones)"
            elif dom.values is not None:
                problem = "hold values off the declared grid (or missing ones)"
            elif dom.lower is not None and dom.upper is not None:
                problem = f"hold values outside the declared bounds [{dom.lower}, {dom.upper}]"
            else:
                problem = "hold missing, non-numeric or non-finite values"
            raise DomainError(f"column {name!r}: rows {problem}; a release leaves such rows out")

    def conform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``frame`` whose every value lies inside its column's domain.

        A row-wise filter, so a release stays ε-DP with one execution as the unit: a row
        off a declared grid, beyond declared bounds, of an undeclared category or with a
        missing value is left out before anything is computed, and nothing says how many
        (a refusal or a count would depend on the private rows). Columns are not checked
        here (see :meth:`validate`).
        """
        relabelled = {}
        for name, dom in self.columns:
            if isinstance(dom, CategoricalDomain) and name in frame.columns:
                # a label is a text: the value 9630 is the declared label "9630" and back
                by_text = {text_label(v): v for v in dom.values}
                relabelled[name] = frame[name].map(
                    lambda v, t=by_text: t.get(text_label(v), v) if pd.notna(v) else v
                )
        if relabelled:
            frame = frame.assign(**relabelled)
        keep = np.ones(len(frame), dtype=bool)
        for name in frame.columns:
            if name in self:
                keep &= self._inside(name, frame[name])
        return frame if keep.all() else frame[keep]

    def _inside(self, name: str, col: pd.Series) -> np.ndarray:
        """Which values of column ``name`` lie inside its domain (missing ones do not)."""
        dom = self[name]
        if isinstance(dom, CategoricalDomain):
            return np.asarray(col.isin(list(dom.values)) & col.notna(), dtype=bool)
        x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        ok = np.isfinite(x)
        if dom.values is not None:
            grid = np.asarray(dom.values, dtype=float)
            on = (np.abs(x[:, None] - grid[None, :]) <= 1e-9 * np.abs(grid)[None, :]).any(axis=1)
            return ok & on
        if dom.lower is not None and dom.upper is not None:
            with np.errstate(invalid="ignore"):
                ok &= (x >= dom.lower) & (x <= dom.upper)
        return ok


def read_domain_json(path: str | Path) -> Any:
    """A domain file's JSON, not yet checked (its ``machines`` entry may still be in it).

    Raises
    ------
    DomainError
        If the file cannot be read or is not JSON; the message names the file (and line).
    """
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise DomainError(f"{p}: cannot read domain file: {e.strerror or e}") from e
    except json.JSONDecodeError as e:
        raise DomainError(f"{p}, line {e.lineno}: not valid JSON: {e.msg}") from e


def load_domain(path: str | Path) -> Domain:
    """Read a domain file (format in this module's docstring).

    Raises
    ------
    DomainError
        If the file cannot be read or is malformed; the message names the file.
    """
    p = Path(path)
    data = read_domain_json(p)
    try:
        return Domain.from_dict(data)
    except DomainError as e:
        raise DomainError(f"{p}: {e}") from e


def save_domain(domain: Domain, path: str | Path) -> None:
    """Write ``domain`` as a domain file."""
    Path(path).write_text(json.dumps(domain.to_dict(), indent=2) + "\n", encoding="utf-8")
