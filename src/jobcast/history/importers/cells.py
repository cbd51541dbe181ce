"""What a cell of a delimited file holds: a number, text, or a refusal naming the fix.

The one rule for every importer of delimited files (``import csv``, ``import c3o``,
``import traces``): how a cell reads as a number (with ``--decimal ,`` a decimal comma
too), when a column counts as text, and what the error says about a cell that fits
neither.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from jobcast.errors import ImportFormatError, InputError

__all__ = [
    "TYPE_ROWS",
    "BadCell",
    "bad_cell",
    "cell_number",
    "check_separator",
    "comma_decimal",
    "context_values",
    "is_number",
    "number_values",
    "starts_text",
    "text_column_problem",
]

#: Rows that decide whether a column holds numbers.
TYPE_ROWS = 1000

#: A number written with a decimal comma (``0,5``), as spreadsheets of many locales save.
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+([eE][+-]?\d+)?$")

#: The roles every row must have, and whose rows need them.
_REQUIRED = {
    "runtime": "every execution",
    "scale-out": "every execution",
    "duration": "every iteration",
    "iteration index": "every iteration",
}


@dataclass(frozen=True)
class BadCell:
    """A refused cell: its row (0-based, among the data rows) and why, with the fix."""

    row: int
    message: str


def comma_decimal(decimal: str) -> bool:
    """Whether ``decimal`` (``--decimal``: ``.`` or ``,``) is the comma.

    Raises
    ------
    InputError
        For any other mark.
    """
    if decimal not in (".", ","):
        raise InputError(f"--decimal must be '.' or ',', got {decimal!r}")
    return decimal == ","


def check_separator(path: str, separator: str, *, comma: bool) -> None:
    """Refuse decimal commas in a file whose fields a comma separates.

    Raises
    ------
    ImportFormatError
        Naming the file's first line, when ``comma`` and ``separator`` is ``,``.
    """
    if comma and separator == ",":
        raise ImportFormatError(
            path,
            "--decimal , needs a field separator other than ',' (';' or a tab; `import csv` "
            "takes --sep ';' for a file whose separator is not guessed)",
            line=1,
        )


def is_number(text: str, *, comma: bool = False) -> bool:
    """Whether ``text`` reads as a number (NaN and infinities included)."""
    return cell_number(text, comma=comma) is not None


def cell_number(cell: str, *, comma: bool = False) -> float | None:
    """The number ``cell`` holds (NaN and infinities included), or None for text.

    With ``comma`` (``--decimal ,``), a decimal comma reads as a point; a point still does.
    Only ASCII digits count: Python's ``float`` also reads ``1_0`` as 10 and full-width
    or Arabic-Indic digits, so a typo became a value without a word.
    """
    if "_" in cell or not cell.isascii():
        return None
    try:
        return float(cell.replace(",", ".", 1) if comma and "," in cell else cell)
    except ValueError:
        return None


def starts_text(cell: str, row: int, number: float | None) -> bool:
    """Whether ``cell`` on data row ``row``, read as ``number``, makes its column text.

    ``number`` is :func:`cell_number` of the cell (None: it is text), passed in so that
    a streaming reader parses each cell once. A column is text when one of its first
    :data:`TYPE_ROWS` rows holds text (not empty, not a number); later text in a column
    of numbers is refused as a bad number.
    """
    return number is None and row < TYPE_ROWS and cell != ""


def bad_cell(text: str, *, column: str, what: str, comma: bool = False) -> str:
    """Why ``text``, in ``column`` of numbers, is refused, and how to fix it.

    ``what`` names the column's role (``runtime``, ``scale-out``, ``duration``,
    ``iteration index``, ``value``, ...); it picks the example and the fix.
    """
    if what == "scale-out":
        example = "a whole number of machines like 4"
    elif what == "iteration index":
        example = "a whole number like 0, 1, 2"
    else:
        example = "a plain number like 42 or 3.5"
    if text == "" and what in _REQUIRED:
        return f"empty {what}; fill it in, or remove the row ({_REQUIRED[what]} needs one)"
    if text == "":
        return "empty value; fill it in, or drop the column if it is not known for every row"
    if is_number(text, comma=comma):
        return f"{what} {text!r} is not a finite number (too large, or NaN); give a real value"
    if text == column:
        return (
            f"{what} {text!r} is the column's name: this line repeats the header "
            "(files joined with their headers?); remove it"
        )
    if "_" in text or not text.isascii():
        return (
            f"{what} {text!r} holds an underscore or a character that is not an ASCII "
            f"digit; write it as {example}"
        )
    if not comma and _DECIMAL_COMMA.match(text):
        return (
            f"{what} {text!r} has a decimal comma; give --decimal , (with --sep ';' or "
            "another separator than ','), or write it as " + example
        )
    return f"{what} {text!r} is not a number; write it as {example}"


def text_column_problem(texts: Sequence[str], *, comma: bool = False) -> BadCell | None:
    """Why a column read as text is refused (None when it is a column of texts).

    Refused: an empty cell; numbers with decimal commas (which would be read as text
    without ``--decimal ,``); a column of mostly numbers holding some text (a typo in a
    number would otherwise turn the attribute into categories).
    """
    if "" in texts:
        return BadCell(texts.index(""), bad_cell("", column="", what="value"))
    numeric_cells = sum(1 for t in texts if is_number(t, comma=comma))
    if not comma:
        commas = [i for i, t in enumerate(texts) if _DECIMAL_COMMA.match(t)]
        if commas and numeric_cells + len(commas) == len(texts):
            i = commas[0]
            return BadCell(
                i,
                f"{texts[i]!r}: the column holds numbers with a decimal comma, which "
                "would be read as text; give --decimal , (with another separator than ','), "
                "or write decimal points",
            )
    if 2 * numeric_cells > len(texts):
        i = next(i for i, t in enumerate(texts) if not is_number(t, comma=comma))
        return BadCell(i, f"{texts[i]!r} is text in a column of numbers; write a number there")
    return None


def number_values(
    cells: Sequence[str], *, column: str, what: str, comma: bool = False
) -> list[float] | BadCell:
    """The cells of a column of numbers as finite floats, or the first refused cell."""
    out: list[float] = []
    for row, cell in enumerate(cells):
        x = cell_number(cell, comma=comma)
        if x is None or not math.isfinite(x):
            return BadCell(row, bad_cell(cell, column=column, what=what, comma=comma))
        out.append(x)
    return out


def context_values(
    cells: Sequence[str], *, column: str, comma: bool = False
) -> tuple[list[float] | list[str], bool] | BadCell:
    """A context column's values and whether they are numbers, or the first refused cell.

    Numbers unless one of the first :data:`TYPE_ROWS` cells is text (see
    :func:`starts_text`); a column of numbers must hold finite numbers only, and a text
    column passes :func:`text_column_problem`.
    """
    head = enumerate(cells[:TYPE_ROWS])
    if any(starts_text(cell, row, cell_number(cell, comma=comma)) for row, cell in head):
        problem = text_column_problem(cells, comma=comma)
        return problem if problem is not None else (list(cells), False)
    numbers = number_values(cells, column=column, what="value", comma=comma)
    return numbers if isinstance(numbers, BadCell) else (numbers, True)
