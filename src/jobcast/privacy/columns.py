"""The domain of one column: a numeric grid or bounds, or categorical labels, and its JSON entry.

:mod:`jobcast.privacy.domain` gathers them into a table's :class:`Domain` and documents the
domain file's format.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from jobcast.errors import DomainError

__all__ = [
    "MAX_BINS",
    "MAX_MAGNITUDE",
    "CategoricalDomain",
    "ColumnDomain",
    "NumericDomain",
    "column_from_dict",
    "integer_bounds",
    "text_label",
]

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


def text_label(value: Any) -> str:
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


def column_from_dict(name: str, spec: Any) -> ColumnDomain:
    """One column's entry of a domain file, checked (the message names the column)."""
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
