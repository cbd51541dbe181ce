"""Shared pieces of the command line: options, output, error reporting."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jobcast.errors import InputError
from jobcast.history import HistoryRepository

__all__ = [
    "DbOption",
    "JsonOption",
    "console",
    "err_console",
    "open_repo",
    "emit_json",
    "table",
    "progress_callback",
    "parse_assignments",
    "parse_int_list",
]

console = Console()
err_console = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="History database URL (sqlite:///FILE or postgresql+psycopg://USER@HOST/DB); "
        "default $JOBCAST_DB, else a SQLite file in your data directory.",
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print stable machine-readable JSON instead of a table.")
]


def open_repo(db: str | None) -> HistoryRepository:
    """Open (and migrate) the history database named by ``--db``."""
    return HistoryRepository(db)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item"):
        return _jsonable(obj.item())
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return obj


def emit_json(obj: Any) -> None:
    """Print ``obj`` as JSON on standard output (NaN and infinities become null)."""
    sys.stdout.write(json.dumps(_jsonable(obj), indent=2, sort_keys=False) + "\n")


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a rich table."""
    t = Table(title=title)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*[_fmt(v) for v in r])
    console.print(t)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e6 else f"{v:.4e}"
    return "" if v is None else str(v)


@contextmanager
def progress_callback(description: str, *, quiet: bool = False) -> Iterator[Callable[..., None]]:
    """A ``callback(done, total, message="")`` rendering a rich progress bar on stderr."""
    if quiet:
        yield lambda *a, **k: None
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=None, note="")

        def update(done: int, total: int | None = None, message: str = "") -> None:
            progress.update(task, completed=done, total=total, note=message)

        yield update


def parse_assignments(items: Sequence[str] | None, *, option: str = "--set") -> dict[str, Any]:
    """Parse ``KEY=VALUE`` options; numbers become floats, anything else stays text."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"{option} takes KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            out[key.strip()] = value.strip()
    return out


def parse_int_list(text: str | None, *, option: str) -> list[int] | None:
    """Parse ``2,4,8`` or ``2-8`` (every integer) into a list of positive integers."""
    if text is None:
        return None
    out: list[int] = []
    parts = [p.strip() for p in text.split(",")]
    if "..." in parts:
        # "3,6,...,30": the step of the first two, up to the last
        k = parts.index("...")
        try:
            if k < 2 or k != len(parts) - 2:
                raise ValueError
            a, b, last = int(parts[k - 2]), int(parts[k - 1]), int(parts[-1])
            if b <= a or last < b:
                raise ValueError
        except ValueError:
            raise InputError(
                f"{option}: write a progression as FIRST,SECOND,...,LAST (e.g. 3,6,...,30), "
                f"got {text!r}"
            ) from None
        parts = [str(x) for x in (*(int(p) for p in parts[: k - 2]), *range(a, last + 1, b - a))]
    for part in parts:
        try:
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                out.extend(range(lo, hi + 1))
            elif part:
                out.append(int(part))
        except ValueError:
            raise InputError(f"{option} takes integers like 2,4,8 or 2-12, got {text!r}") from None
    if not out or any(x <= 0 for x in out):
        raise InputError(f"{option} needs positive integers, got {text!r}")
    return out
