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

__all__ = ["DEFAULT_PRICES", "PRICE_UNITS", "PriceTable"]

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


#: The unit of prices given without a currency: the user's own, whatever it is.
PRICE_UNITS = "price units"


def _check_price(machine_type: Any, price: Any) -> float:
    if not isinstance(machine_type, str) or not machine_type.strip():
        raise InputError(f"Machine types must be non-empty strings, got {machine_type!r}.")
    if isinstance(price, bool) or not isinstance(price, (int, float)):
        raise InputError(
            f"The price of {machine_type!r} must be a number of currency units per "
            f"machine-hour, got {price!r}."
        )
    if not math.isfinite(price) or price <= 0:
        raise InputError(
            f"The price of {machine_type!r} must be a finite number > 0 per machine-hour, "
            f"got {price!r}."
        )
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
    defaulted
        The machine types whose price is a built-in default (:data:`DEFAULT_PRICES`,
        USD) rather than one the user gave; only those with a price are kept.

    Raises
    ------
    jobcast.errors.InputError
        If a machine type is not a non-empty string or a price is not a finite number > 0.

    Examples
    --------
    >>> table = PriceTable.default().with_prices({"m4.2xlarge": 0.35})
    >>> table.price("m4.2xlarge")
    0.35
    >>> PriceTable.of({"r4.xlarge": 0.01}).currency
    'price units'
    """

    prices: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    currency: str = "USD"
    defaulted: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        checked = {k: _check_price(k, v) for k, v in dict(self.prices).items()}
        if not isinstance(self.currency, str) or not self.currency.strip():
            raise InputError(
                f"A currency must be a non-empty name such as 'USD', got {self.currency!r}."
            )
        object.__setattr__(self, "prices", MappingProxyType(checked))
        object.__setattr__(self, "defaulted", frozenset(self.defaulted) & set(checked))

    @classmethod
    def default(cls) -> PriceTable:
        """Return the table of :data:`DEFAULT_PRICES` (USD), every price a default."""
        return cls(dict(DEFAULT_PRICES), defaulted=frozenset(DEFAULT_PRICES))

    @classmethod
    def of(
        cls, prices: Mapping[str, Any], *, currency: str | None = None, defaults: bool = True
    ) -> PriceTable:
        """The user's ``prices``, and the built-in ones for other machine types.

        Parameters
        ----------
        prices
            Machine type to price per machine-hour.
        currency
            Their unit; None labels costs neutrally, :data:`PRICE_UNITS`.
        defaults
            Price the machine types that ``prices`` leaves out by :data:`DEFAULT_PRICES`
            (listed in :attr:`defaulted`). Never for a currency other than USD: the
            defaults are in USD.

        Raises
        ------
        jobcast.errors.InputError
            On a bad machine type, price or currency.
        """
        own = {k: _check_price(k, v) for k, v in dict(prices).items()}
        fill = defaults and currency in (None, "USD")
        extra = {k: v for k, v in DEFAULT_PRICES.items() if k not in own} if fill else {}
        return cls(
            {**extra, **own},
            currency=PRICE_UNITS if currency is None else currency,
            defaulted=frozenset(extra),
        )

    @classmethod
    def from_json(cls, path: str | Path, *, defaults: bool = True) -> PriceTable:
        """Load prices from a JSON object ``{"m4.2xlarge": 0.4, ...}``.

        An optional ``"currency": "EUR"`` entry names their unit; without it costs are
        in :data:`PRICE_UNITS`. Machine types the file leaves out are priced by
        :data:`DEFAULT_PRICES` (USD; see :attr:`defaulted`) unless ``defaults`` is
        False or the file names a currency other than USD.

        Parameters
        ----------
        path
            The JSON file.
        defaults
            Price the machine types the file leaves out by the built-in defaults.

        Returns
        -------
        PriceTable

        Raises
        ------
        jobcast.errors.ImportFormatError
            If the file cannot be read, is not JSON, is not an object, or holds a
            price that is not a finite number > 0 or a currency that is not a name
            (the message names the file, line and machine type).
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
        if not isinstance(content, dict):
            content = None
        currency = (content or {}).pop("currency", None)
        lines = text.splitlines()

        def line_of(key: str) -> int | None:
            return next((i + 1 for i, row in enumerate(lines) if f'"{key}"' in row), None)

        if currency is not None and (not isinstance(currency, str) or not currency.strip()):
            raise ImportFormatError(
                str(path),
                f'"currency" must name the prices\' unit, like "EUR"; got {currency!r}',
                line=line_of("currency"),
                column="currency",
            )
        if not content:
            raise ImportFormatError(
                str(path),
                "expected a non-empty JSON object of prices per machine-hour, like "
                '{"m4.2xlarge": 0.4} (optionally with "currency": "EUR")',
            )
        for machine_type, price in content.items():
            try:
                _check_price(machine_type, price)
            except InputError as e:
                raise ImportFormatError(
                    str(path), str(e), line=line_of(machine_type), column=machine_type
                ) from e
        return cls.of(
            content, currency=None if currency is None else currency.strip(), defaults=defaults
        )

    def with_prices(self, prices: Mapping[str, float]) -> PriceTable:
        """Return a new table with ``prices`` added or replaced (no longer defaults)."""
        return PriceTable(
            {**self.prices, **dict(prices)},
            currency=self.currency,
            defaulted=self.defaulted - set(prices),
        )

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
            foreign = (
                f" (the built-in prices are in USD, so they do not price {self.currency})"
                if self.currency not in ("USD", PRICE_UNITS) and machine_type in DEFAULT_PRICES
                else ""
            )
            raise InputError(
                f"No price for machine type {machine_type!r} (known: "
                f"{', '.join(sorted(self.prices))}){foreign}; add it to the JSON price file "
                f'(--prices), like {{"{machine_type}": 0.4}}.'
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"currency": ..., "prices": {...}}`` for JSON output."""
        return {"currency": self.currency, "prices": dict(sorted(self.prices.items()))}
