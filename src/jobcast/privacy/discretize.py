"""Integer codes for runtime metrics: exact configuration grids, log-scale bins for sizes/runtimes.

Configuration attributes declared as grids (scale-outs, machine types, parameter grids)
keep one code per declared value, so synthetic rows carry exact configurations.  Sizes
and runtimes declared with bounds are cut into bins (log-spaced when ``log`` is set, so
a bin is a constant *relative* width, which is what matters for MAPE), and synthetic
values are drawn inside their bin (log-uniformly for log-scale columns), so that a row
keeps the relation between its exact configuration and its runtime bin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from jobcast.errors import DomainError
from jobcast.privacy.domain import CategoricalDomain, ColumnDomain, Domain, NumericDomain

__all__ = ["Discretizer"]


def _edges(dom: NumericDomain) -> np.ndarray:
    assert dom.lower is not None and dom.upper is not None  # guaranteed by Discretizer
    if dom.log:
        return np.exp(np.linspace(np.log(dom.lower), np.log(dom.upper), dom.bins + 1))
    return np.linspace(dom.lower, dom.upper, dom.bins + 1)


@dataclass(frozen=True)
class Discretizer:
    """Map a table to integer codes and back, column by column, from a declared domain.

    Parameters
    ----------
    domain
        Every column's domain, with bounds declared or already estimated.
    """

    domain: Domain

    def __post_init__(self) -> None:
        if self.domain.undeclared:
            raise DomainError(
                f"columns {list(self.domain.undeclared)} have no bounds yet; estimate them "
                "with budget before discretizing"
            )

    @property
    def names(self) -> tuple[str, ...]:
        """Column names, in code order."""
        return self.domain.names

    def cardinality(self, name: str) -> int:
        """Number of codes of a column."""
        dom = self.domain[name]
        if isinstance(dom, CategoricalDomain):
            return len(dom.values)
        if dom.values is not None:
            return len(dom.values)
        return dom.bins

    @property
    def cardinalities(self) -> np.ndarray:
        """Number of codes of every column (int64 array)."""
        return np.array([self.cardinality(n) for n in self.names], dtype=np.int64)

    def encode_column(self, name: str, values: pd.Series | np.ndarray) -> np.ndarray:
        """Codes of one column's values (which must lie inside the domain)."""
        dom: ColumnDomain = self.domain[name]
        if isinstance(dom, CategoricalDomain):
            codes = pd.Categorical(pd.Series(values), categories=list(dom.values)).codes
            if (codes < 0).any():
                raise DomainError(f"column {name!r}: value(s) outside the declared categories")
            return np.asarray(codes, dtype=np.int64)
        x = np.asarray(values, dtype=float)
        if dom.values is not None:
            grid = np.asarray(dom.values, dtype=float)
            pos = np.clip(np.searchsorted(grid, x), 0, len(grid) - 1)
            left = np.clip(pos - 1, 0, len(grid) - 1)
            closer_left = np.abs(x - grid[left]) < np.abs(x - grid[pos])
            return np.where(closer_left, left, pos).astype(np.int64)
        edges = _edges(dom)
        return np.clip(np.searchsorted(edges, x, side="right") - 1, 0, dom.bins - 1).astype(
            np.int64
        )

    def encode(self, frame: pd.DataFrame, *, validate: bool = True) -> np.ndarray:
        """Codes of a whole table, shape ``(rows, columns)`` in domain order.

        Parameters
        ----------
        frame
            The table.
        validate
            Check columns and values against the domain first (skip only when the
            caller has just done so).

        Raises
        ------
        DomainError
            On unknown or missing columns or values outside the domain.
        """
        if validate:
            self.domain.validate(frame)
        if len(frame) == 0:
            return np.zeros((0, len(self.names)), dtype=np.int64)
        return np.column_stack([self.encode_column(n, frame[n]) for n in self.names])

    def centers(self, name: str) -> np.ndarray:
        """A representative numeric value per code (grid value or bin centre).

        For categorical columns the codes themselves are returned.
        """
        dom = self.domain[name]
        if isinstance(dom, CategoricalDomain):
            return np.arange(len(dom.values), dtype=float)
        if dom.values is not None:
            return np.asarray(dom.values, dtype=float)
        e = _edges(dom)
        return np.sqrt(e[:-1] * e[1:]) if dom.log else (e[:-1] + e[1:]) / 2

    def decode_column(self, name: str, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Values for codes: grid values and categories exact, bins sampled inside."""
        dom = self.domain[name]
        codes = np.asarray(codes, dtype=np.int64)
        if isinstance(dom, CategoricalDomain):
            return np.asarray(dom.values, dtype=object)[codes]
        if dom.values is not None:
            vals = np.asarray(dom.values, dtype=float)[codes]
            return np.rint(vals).astype(np.int64) if dom.integer else vals
        edges = _edges(dom)
        u = rng.random(codes.shape[0])
        if dom.log:
            le = np.log(edges)
            x = np.exp(le[codes] + u * (le[codes + 1] - le[codes]))
        else:
            x = edges[codes] + u * (edges[codes + 1] - edges[codes])
        return self.finish_numeric(name, x)

    def finish_numeric(self, name: str, x: np.ndarray) -> np.ndarray:
        """Clip to the declared bounds and round integer columns."""
        dom = self.domain[name]
        if not isinstance(dom, NumericDomain) or dom.lower is None or dom.upper is None:
            return x
        x = np.clip(x, dom.lower, dom.upper)
        if dom.integer:
            lo, hi = np.ceil(dom.lower), np.floor(dom.upper)
            return np.clip(np.rint(x), lo, hi).astype(np.int64)
        return x

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        """A table from codes (``(rows, columns)`` in domain order)."""
        return pd.DataFrame(
            {n: self.decode_column(n, codes[:, j], rng) for j, n in enumerate(self.names)}
        )
