"""Prices per machine-hour of cloud machine types, with defaults editable from a JSON file."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jobcast.errors import ImportFormatError, InputError

__all__ = ["DEFAULT_PRICES", "PriceTable"]

#: On-demand Linux prices in USD per machine-hour, AWS us-east-1, for the EC2 types of
#: the C3O traces and their neighbours. Prices change: load your own with
#: :meth:`PriceTable.from_json`.
DEFAULT_PRICES: Mapping[str, float] = MappingProxyType(
    {
        "c4.xlarge": 0.199,
        "c4.2xlarge": 0.398,
        "c5.xlarge": 0.17,
        "c5.2xlarge": 0.34,
        "m4.xlarge": 0.20,
        "m4.2xlarge": 0.40,
        "m5.xlarge": 0.192,
        "m5.2xlarge": 0.384,
        "r4.xlarge": 0.266,
        "r4.2xlarge": 0.532,
        "r5.xlarge": 0.252,
        "r5.2xlarge": 0.504,
    }
)


def _check_price(machine_type: Any, price: Any) -> float:
    if not isinstance(machine_type, str) or not machine_type.strip():
        raise InputError(f"Machine types must be non-empty strings, got {machine_type!r}.")
    if isinstance(price, bool) or not isinstance(price, (int, float)):
        raise InputError(
            f"The price of {machine_type!r} must be a number of currency units per "
            f"machine-hour, got {price!r}."
        )
    if not math.isfinite(price) or price <= 0:
        raise InputError(f"The price of {machine_type!r} must be > 0, got {price!r}.")
    return float(price)


@dataclass(frozen=True)
class PriceTable:
    """Prices per machine-hour by machine type; frozen, edits return a new table.

    Parameters
    ----------
    prices
        Machine type to price per machine-hour (> 0).
    currency
        The unit of the prices.

    Raises
    ------
    jobcast.errors.InputError
        If a machine type is not a non-empty string or a price is not a number > 0.

    Examples
    --------
    >>> table = PriceTable.default().with_prices({"m4.2xlarge": 0.35})
    >>> table.price("m4.2xlarge")
    0.35
    """

    prices: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    currency: str = "USD"

    def __post_init__(self) -> None:
        checked = {k: _check_price(k, v) for k, v in dict(self.prices).items()}
        object.__setattr__(self, "prices", MappingProxyType(checked))

    @classmethod
    def default(cls) -> PriceTable:
        """Return the table of :data:`DEFAULT_PRICES`."""
        return cls(dict(DEFAULT_PRICES))

    @classmethod
    def from_json(cls, path: str | Path, *, defaults: bool = True) -> PriceTable:
        """Load prices from a JSON object ``{"m4.2xlarge": 0.4, ...}``.

        Parameters
        ----------
        path
            The JSON file.
        defaults
            Start from :data:`DEFAULT_PRICES` and override them with the file's
            entries (True), or use only the file's entries (False).

        Returns
        -------
        PriceTable

        Raises
        ------
        jobcast.errors.ImportFormatError
            If the file cannot be read, is not JSON, is not an object, or holds a
            price that is not a number > 0 (the message names the file, line and
            machine type).
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise ImportFormatError(str(path), f"cannot read the price file: {e}") from e
        try:
            content = json.loads(text)
        except json.JSONDecodeError as e:
            raise ImportFormatError(
                str(path),
                f"not valid JSON ({e.msg} at character {e.colno} of the line); write an "
                'object like {"m4.2xlarge": 0.4}',
                line=e.lineno,
            ) from e
        if not isinstance(content, dict) or not content:
            raise ImportFormatError(
                str(path),
                "expected a non-empty JSON object of prices per machine-hour, like "
                '{"m4.2xlarge": 0.4}',
            )
        prices = dict(DEFAULT_PRICES) if defaults else {}
        lines = text.splitlines()
        for machine_type, price in content.items():
            try:
                prices[machine_type] = _check_price(machine_type, price)
            except InputError as e:
                line = next(
                    (i + 1 for i, row in enumerate(lines) if f'"{machine_type}"' in row), None
                )
                raise ImportFormatError(str(path), str(e), line=line, column=machine_type) from e
        return cls(prices)

    def with_prices(self, prices: Mapping[str, float]) -> PriceTable:
        """Return a new table with ``prices`` added or replaced."""
        return PriceTable({**self.prices, **dict(prices)}, currency=self.currency)

    def price(self, machine_type: str) -> float:
        """Return the price per machine-hour of ``machine_type``.

        Raises
        ------
        jobcast.errors.InputError
            If the machine type has no price; the message says how to add one.
        """
        try:
            return self.prices[machine_type]
        except KeyError:
            raise InputError(
                f"No price for machine type {machine_type!r} (known: "
                f"{', '.join(sorted(self.prices))}); add it to a JSON price file "
                f'like {{"{machine_type}": 0.4}}.'
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"currency": ..., "prices": {...}}`` for JSON output."""
        return {"currency": self.currency, "prices": dict(sorted(self.prices.items()))}
