"""Declared column domains (the public facts a release may use for free) and their JSON format.

A domain file (``jobcast share --domain FILE.json``) is a JSON object with one entry per
column of the job's executions::

    {
      "format": "jobcast-domain/1",
      "columns": {
        "instance_count": {"type": "numeric", "values": [2, 4, 6, 8, 10, 12], "integer": true},
        "machine_type":   {"type": "categorical", "values": ["m5.xlarge", "c5.2xlarge"]},
        "data_size_MB":   {"type": "numeric", "lower": 1000, "upper": 100000, "log": true},
        "gross_runtime":  {"type": "numeric", "lower": 10, "upper": 14400, "log": true}
      }
    }

Column kinds:

``numeric`` with ``values``
    A public grid (the scale-outs a cloud offers, a parameter grid).  Values are kept
    exact, cost nothing, and a value outside the grid is an error.
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
ignored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jobcast.errors import DomainError

__all__ = [
    "DOMAIN_FORMAT",
    "NumericDomain",
    "CategoricalDomain",
    "ColumnDomain",
    "Domain",
    "integer_bounds",
    "load_domain",
    "save_domain",
]

DOMAIN_FORMAT = "jobcast-domain/1"
_DEFAULT_BINS = 20


#: Largest magnitude of a declared bound or grid value (as the history stores numbers).
MAX_MAGNITUDE = 1e15
#: Most bins a numeric column may be discretized into (beyond, the tables outgrow memory).
MAX_BINS = 10_000


def _finite(x: float, what: str) -> float:
    if isinstance(x, bool | str) or not isinstance(x, int | float | np.integer | np.floating):
        raise DomainError(f"{what} must be a number, got {x!r}")
    v = float(x)
    if not math.isfinite(v):
        raise DomainError(f"{what} must be finite, got {x!r}")
    if abs(v) > MAX_MAGNITUDE:
        raise DomainError(f"{what} must lie within ±{MAX_MAGNITUDE:g}, got {x!r}")
    return v


def _text(value: Any) -> str:
    """A categorical value as text: 9630, 9630.0 and "9630" are all "9630"."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _flag(spec: Mapping[str, Any], key: str) -> bool:
    value = spec.get(key, False)
    if not isinstance(value, bool):
        raise DomainError(f"{key!r} must be true or false, got {value!r}")
    return value


@dataclass(frozen=True)
class NumericDomain:
    """Domain of a numeric column: a public grid, public bounds, or bounds to estimate.

    Parameters
    ----------
    lower, upper
        Public bounds (inclusive).  ``None`` for both means "estimate with budget"
        (only for ``log=True``).  Ignored when ``values`` is given.
    log
        Log-scale column (positive values; bins are log-spaced).
    integer
        Values are integers (synthetic values are rounded).
    bins
        Number of bins used for discretization when the column is not a grid.
    values
        A public grid of allowed values, kept exact.
    """

    lower: float | None = None
    upper: float | None = None
    log: bool = False
    integer: bool = False
    bins: int = _DEFAULT_BINS
    values: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.values is not None:
            vals = tuple(sorted({_finite(v, "a grid value") for v in self.values}))
            if not vals:
                raise DomainError("a numeric grid needs at least one value")
            if self.log and vals[0] <= 0:
                raise DomainError(f"a log-scale grid needs positive values, got {vals[0]}")
            if self.integer and any(not v.is_integer() for v in vals):
                odd = next(v for v in vals if not v.is_integer())
                raise DomainError(
                    f"an integer grid holds {odd:g}; give whole numbers or set \"integer\": false"
                )
            object.__setattr__(self, "values", vals)
            object.__setattr__(self, "lower", vals[0])
            object.__setattr__(self, "upper", vals[-1])
            return
        if (self.lower is None) != (self.upper is None):
            raise DomainError("declare both 'lower' and 'upper', or neither (to estimate them)")
        if not isinstance(self.bins, int | np.integer) or isinstance(self.bins, bool):
            raise DomainError(f"'bins' must be an integer, got {self.bins!r}")
        if not 1 <= self.bins <= MAX_BINS:
            raise DomainError(f"'bins' must lie within 1 .. {MAX_BINS}, got {self.bins}")
        if self.lower is None:
            if not self.log:
                raise DomainError(
                    "bounds can only be estimated for log-scale (positive) columns; "
                    "declare 'lower' and 'upper' or set \"log\": true"
                )
            return
        lo = _finite(self.lower, "'lower'")
        hi = _finite(self.upper if self.upper is not None else math.nan, "'upper'")
        if not lo < hi:
            raise DomainError(f"'lower' ({lo}) must be smaller than 'upper' ({hi})")
        if self.log and lo <= 0:
            raise DomainError(f"a log-scale column needs 'lower' > 0, got {lo}")
        if self.integer and math.ceil(lo) > math.floor(hi):
            raise DomainError(
                f"an integer column's bounds [{lo:g}, {hi:g}] hold no integer; widen them "
                "or set \"integer\": false"
            )
        object.__setattr__(self, "lower", lo)
        object.__setattr__(self, "upper", hi)

    @property
    def kind(self) -> str:
        """``"grid"``, ``"bounded"`` or ``"estimated"``."""
        if self.values is not None:
            return "grid"
        return "bounded" if self.lower is not None else "estimated"

    @property
    def declared(self) -> bool:
        """Whether everything needed to discretize the column is public."""
        return self.lower is not None

    def with_bounds(self, lower: float, upper: float) -> NumericDomain:
        """Return a copy with (estimated or located) bounds filled in.

        For an integer column, bounds that hold no integer (a DP estimate can fall
        between two) are widened to the nearest one inside this domain's own bounds
        (:func:`integer_bounds`); bounds that hold one are kept.
        """
        if self.integer:
            lower, upper = integer_bounds(lower, upper, self.lower, self.upper, log=self.log)
        return NumericDomain(
            lower=lower, upper=upper, log=self.log, integer=self.integer, bins=self.bins
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the domain file format)."""
        d: dict[str, Any] = {"type": "numeric"}
        if self.values is not None:
            d["values"] = [int(v) if self.integer else v for v in self.values]
        elif self.lower is not None:
            d["lower"] = self.lower
            d["upper"] = self.upper
            d["bins"] = int(self.bins)
        else:
            d["bins"] = int(self.bins)
        d["log"] = self.log
        d["integer"] = self.integer
        return d


def integer_bounds(
    low: float, high: float, lower: float | None = None, upper: float | None = None,
    *, log: bool = False,
) -> tuple[float, float]:
    """``[low, high]`` widened to half a unit beyond the nearest integer when it holds none.

    A DP window or range of a column whose values are integers can fall between two of
    them (a noise spike in a log bin such as ``[0.27, 0.45]``): synthetic values drawn in
    it would round outside it.  The nearest integer is taken inside the outer bounds
    ``[lower, upper]`` (when given; at least 1 on a log scale), and the result stays
    inside them.  Post-processing: a range holding an integer is returned unchanged.
    """
    smallest: float = math.ceil(lower) if lower is not None else (1 if log else -math.inf)
    largest: float = math.floor(upper) if upper is not None else math.inf
    if max(math.ceil(low), smallest) <= min(math.floor(high), largest):
        return low, high
    below, above = math.floor(low), math.ceil(high)
    nearest: float = below if low - below <= above - high else above
    nearest = min(max(nearest, smallest), largest)
    out_low, out_high = min(low, nearest - 0.5), max(high, nearest + 0.5)
    return (
        max(lower, out_low) if lower is not None else out_low,
        min(upper, out_high) if upper is not None else out_high,
    )


@dataclass(frozen=True)
class CategoricalDomain:
    """Domain of a categorical column: the declared labels.

    Parameters
    ----------
    values
        The allowed labels (strings or numbers), in the order used for codes.
    """

    values: tuple[Any, ...]

    def __post_init__(self) -> None:
        vals = tuple(self.values)
        if not vals:
            raise DomainError("a categorical domain needs at least one declared value")
        if len(set(vals)) != len(vals):
            raise DomainError(f"categorical values must be distinct, got {list(vals)!r}")
        object.__setattr__(self, "values", vals)

    kind = "categorical"
    declared = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the domain file format)."""
        return {"type": "categorical", "values": list(self.values)}


ColumnDomain = NumericDomain | CategoricalDomain

_NUMERIC_KEYS = {"type", "lower", "upper", "log", "integer", "bins", "values"}
_CATEGORICAL_KEYS = {"type", "values"}


def _column_from_dict(name: str, spec: Any) -> ColumnDomain:
    if not isinstance(spec, Mapping):
        raise DomainError(f"column {name!r}: expected an object, got {type(spec).__name__}")
    kind = spec.get("type")
    if kind == "numeric":
        extra = set(spec) - _NUMERIC_KEYS
        if extra:
            raise DomainError(f"column {name!r}: unknown keys {sorted(extra)}")
        values = spec.get("values")
        if values is not None and not isinstance(values, list):
            raise DomainError(f"column {name!r}: 'values' must be a list")
        try:
            return NumericDomain(
                lower=spec.get("lower"),
                upper=spec.get("upper"),
                log=_flag(spec, "log"),
                integer=_flag(spec, "integer"),
                bins=spec.get("bins", _DEFAULT_BINS),
                values=tuple(values) if values is not None else None,
            )
        except DomainError as e:
            raise DomainError(f"column {name!r}: {e}") from e
    if kind == "categorical":
        extra = set(spec) - _CATEGORICAL_KEYS
        if extra:
            raise DomainError(f"column {name!r}: unknown keys {sorted(extra)}")
        values = spec.get("values")
        if not isinstance(values, list):
            raise DomainError(f"column {name!r}: a categorical column needs a 'values' list")
        try:
            return CategoricalDomain(tuple(values))
        except DomainError as e:
            raise DomainError(f"column {name!r}: {e}") from e
    raise DomainError(f'column {name!r}: \'type\' must be "numeric" or "categorical", got {kind!r}')


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
        return cls(tuple((str(n), _column_from_dict(str(n), s)) for n, s in cols.items()))

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
                by_text = {_text(v): v for v in dom.values}
                relabelled[name] = frame[name].map(
                    lambda v, t=by_text: t.get(_text(v), v) if pd.notna(v) else v
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


def load_domain(path: str | Path) -> Domain:
    """Read a domain file (format in this module's docstring).

    Raises
    ------
    DomainError
        If the file cannot be read or is malformed; the message names the file.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise DomainError(f"{p}: cannot read domain file: {e.strerror or e}") from e
    except json.JSONDecodeError as e:
        raise DomainError(f"{p}, line {e.lineno}: not valid JSON: {e.msg}") from e
    try:
        return Domain.from_dict(data)
    except DomainError as e:
        raise DomainError(f"{p}: {e}") from e


def save_domain(domain: Domain, path: str | Path) -> None:
    """Write ``domain`` as a domain file."""
    Path(path).write_text(json.dumps(domain.to_dict(), indent=2) + "\n", encoding="utf-8")
