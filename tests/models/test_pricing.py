from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from jobcast.errors import ImportFormatError, InputError
from jobcast.models import DEFAULT_PRICES, PriceTable


def test_defaults_cover_the_c3o_machine_types() -> None:
    table = PriceTable.default()
    for machine_type in ["c4.2xlarge", "m4.2xlarge", "r4.2xlarge", "r4.xlarge"]:
        assert table.price(machine_type) == DEFAULT_PRICES[machine_type] > 0


def test_table_is_frozen_and_edits_return_a_new_table() -> None:
    table = PriceTable.default()
    with pytest.raises(dataclasses.FrozenInstanceError):
        table.currency = "EUR"  # type: ignore[misc]
    with pytest.raises(TypeError):
        table.prices["m4.2xlarge"] = 1.0  # type: ignore[index]
    edited = table.with_prices({"m4.2xlarge": 0.1, "x1.big": 9.0})
    assert edited.price("m4.2xlarge") == 0.1 and edited.price("x1.big") == 9.0
    assert table.price("m4.2xlarge") == DEFAULT_PRICES["m4.2xlarge"]


def test_unknown_machine_type_says_how_to_add_it() -> None:
    with pytest.raises(InputError, match="price file"):
        PriceTable.default().price("z9.huge")


def test_load_json_overrides_defaults(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"m4.2xlarge": 0.25, "new.type": 1.5}))
    table = PriceTable.from_json(path)
    assert table.price("m4.2xlarge") == 0.25
    assert table.price("new.type") == 1.5
    assert table.price("r4.2xlarge") == DEFAULT_PRICES["r4.2xlarge"]
    only = PriceTable.from_json(path, defaults=False)
    assert set(only.prices) == {"m4.2xlarge", "new.type"}


@pytest.mark.parametrize(
    ("content", "match", "line"),
    [
        ('{"m4.2xlarge": 0.4,\n "r4.xlarge": }', "not valid JSON", 2),
        ("[0.4]", "JSON object", None),
        ("{}", "JSON object", None),
        ('{\n"m4.2xlarge": 0.4,\n"r4.xlarge": "cheap"\n}', "must be a number", 3),
        ('{"m4.2xlarge": -1}', "must be a finite number > 0", 1),
        ('{"m4.2xlarge": true}', "must be a number", 1),
        ('{"m4.2xlarge": NaN}', "must be a finite number > 0", 1),
        ('{"m4.2xlarge": Infinity}', "must be a finite number > 0 per machine-hour, got inf", 1),
        ('{"m4.2xlarge": 0.4,\n "currency": 3}', '"currency" must name', 2),
        ('{"currency": "EUR"}', "JSON object", None),
        ('{"": 0.3}', "non-empty", 1),
    ],
)
def test_bad_price_files_are_refused_with_the_place(
    tmp_path: Path, content: str, match: str, line: int | None
) -> None:
    path = tmp_path / "prices.json"
    path.write_text(content)
    with pytest.raises(ImportFormatError, match=match) as info:
        PriceTable.from_json(path)
    assert info.value.path == str(path)
    assert info.value.line == line


def test_missing_price_file(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError, match="cannot read"):
        PriceTable.from_json(tmp_path / "absent.json")


def test_constructor_validates() -> None:
    with pytest.raises(InputError):
        PriceTable({"m4.2xlarge": 0.0})


def test_a_partial_file_says_what_the_defaults_price(tmp_path: Path) -> None:
    """Was: the other machine types silently got AWS USD prices, costs labelled USD."""
    path = tmp_path / "p.json"
    path.write_text('{"r4.xlarge": 0.01}')
    table = PriceTable.from_json(path)
    assert table.currency == "price units" and table.price("r4.xlarge") == 0.01
    assert table.defaulted == set(DEFAULT_PRICES) - {"r4.xlarge"}
    assert table.price("m4.2xlarge") == DEFAULT_PRICES["m4.2xlarge"]
    assert PriceTable.default().currency == "USD"
    assert PriceTable.default().defaulted == set(DEFAULT_PRICES)
    assert PriceTable.default().with_prices({"m4.2xlarge": 1.0}).defaulted == (
        set(DEFAULT_PRICES) - {"m4.2xlarge"}
    )
    # an optional currency: USD keeps the defaults, another one does not mix with them
    path.write_text('{"r4.xlarge": 0.01, "currency": "USD"}')
    usd = PriceTable.from_json(path)
    assert usd.currency == "USD" and usd.defaulted == table.defaulted
    path.write_text('{"r4.xlarge": 0.01, "currency": "EUR"}')
    eur = PriceTable.from_json(path)
    assert eur.currency == "EUR" and dict(eur.prices) == {"r4.xlarge": 0.01}
    assert eur.defaulted == frozenset()
    with pytest.raises(InputError, match=r"'m4\.2xlarge'.*do not price EUR\); add it to the JSON"):
        eur.price("m4.2xlarge")
    assert PriceTable.of({"x1": 2.0}, defaults=False).to_dict() == {
        "currency": "price units",
        "prices": {"x1": 2.0},
    }
