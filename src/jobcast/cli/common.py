"""Shared pieces of the command line: options, output, error reporting.

typer and rich are imported on first use (the option types and consoles are module
attributes built by ``__getattr__``), so the fast path of ``jobcast jobs`` pays for rich
only when it draws a table and never for typer.
"""

from __future__ import annotations

import json
import math
import sys
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from numbers import Integral, Real
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from jobcast.cli.option_values import (
    check_output_file,
    check_seconds,
    parse_assignments,
    parse_int_list,
    parse_name_list,
    seconds_option,
    seconds_parser,
)
from jobcast.errors import InputError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from jobcast.history import HistoryRepository

    DbOption = Annotated[str | None, "--db"]
    JsonOption = Annotated[bool, "--json"]
    IterationsOption = Annotated[str, "--iterations"]
    console: Console
    err_console: Console

__all__ = [
    "DbOption",
    "JsonOption",
    "IterationsOption",
    "console",
    "err_console",
    "open_repo",
    "emit_json",
    "emit_json_line",
    "table",
    "plain",
    "number",
    "print_error",
    "progress_callback",
    "parse_assignments",
    "parse_int_list",
    "parse_name_list",
    "check_seconds",
    "seconds_parser",
    "seconds_option",
    "check_output_file",
    "show_jobs",
]


def _console(stream: Any) -> Console:
    from rich.console import Console

    # Outside a terminal (pipes, CI logs) nothing is wrapped or cut at 80 columns.
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):
        terminal = False
    return Console(stderr=stream is sys.stderr, width=None if terminal else 100_000)


def _options() -> dict[str, Any]:
    import typer

    return {
        "DbOption": Annotated[
            str | None,
            typer.Option(
                "--db",
                help="History database URL (sqlite:///FILE or postgresql+psycopg://USER@HOST/DB);"
                " default $JOBCAST_DB, else a SQLite file in your data directory.",
                show_default=False,
            ),
        ],
        "JsonOption": Annotated[
            bool,
            typer.Option("--json", help="Print stable machine-readable JSON instead of a table."),
        ],
        # the default, "auto", is each command's (DEFAULT_ITERATIONS is not imported here:
        # it would load pandas at startup)
        "IterationsOption": Annotated[
            str,
            typer.Option(
                "--iterations",
                help="What an iteration is: auto (job groups or descriptions when the "
                "application sets them, else each Spark job), jobs, job-groups, or a REGEX on "
                "the job description/group.",
            ),
        ],
    }


def __getattr__(name: str) -> Any:
    # built once, on first use: see the module docstring
    if name in ("console", "err_console"):
        value: Any = _console(sys.stdout if name == "console" else sys.stderr)
    elif name in ("DbOption", "JsonOption", "IterationsOption"):
        value = _options()[name]
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def _out(name: str) -> Console:
    console: Console = globals()[name] if name in globals() else __getattr__(name)
    return console


def open_repo(db: str | None, *, existing: bool = False) -> HistoryRepository:
    """Open (and migrate) the history database named by ``--db``.

    With ``existing`` (commands that only read a history), a SQLite file that does not
    exist is refused instead of created: a mistyped ``--db`` would otherwise leave an
    empty database behind and report an unknown job.
    """
    from jobcast.history import HistoryRepository
    from jobcast.lean import resolve_url

    url = resolve_url(db)
    path = missing_sqlite(url)
    if existing and path is not None:
        raise InputError(
            f"no history database at {path}; check --db (or $JOBCAST_DB), or import "
            "executions into it first (`jobcast import ...`)"
        )
    return HistoryRepository(url)


def missing_sqlite(url: str) -> str | None:
    """The path of a SQLite history ``url`` names that does not exist yet, else None."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1]
    if path and path != ":memory:" and not Path(path).exists():
        return path
    return None


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


def emit_json_line(obj: Any) -> None:
    """Print ``obj`` as one line of JSON Lines on standard output, flushed at once.

    Compact, so that a stream of them (``watch --json``) is one object per line, and
    flushed, so that a pipe (``| jq``) gets each line when it is written.
    """
    sys.stdout.write(json.dumps(_jsonable(obj), separators=(",", ":")) + "\n")
    sys.stdout.flush()


def plain(value: Any) -> str:
    """``value`` as text safe to print: control characters escaped, rich markup inert.

    A job name holding an ANSI escape or a newline would otherwise restyle the
    terminal or break a table's rows; ``[bold]`` would be taken for markup.
    """
    from rich.markup import escape

    return escape(_printable(value))


def number(value: Any) -> str:
    """A number as plain text: integers in full, never in scientific notation."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        v = float(value)
        if not math.isfinite(v):
            return "" if math.isnan(v) else str(v)
        if v.is_integer() and abs(v) < 1e18:
            return f"{v:.0f}"
        if abs(v) >= 1000:
            return f"{v:.1f}"
        return f"{v:.4g}"
    return str(value)


def _printable(value: Any) -> str:
    return "".join(
        repr(ch)[1:-1] if unicodedata.category(ch).startswith("C") else ch for ch in str(value)
    )


def _cell(value: Any) -> Text:
    from rich.text import Text

    if value is None:
        return Text("")
    if isinstance(value, Text):
        return value
    if isinstance(value, Real):
        return Text(number(value))
    return Text(_printable(value))


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a table; cells are text as given (no markup), numbers in plain notation."""
    from rich.table import Table

    t = Table()
    for c in columns:
        t.add_column(plain(c), overflow="fold")
    for r in rows:
        t.add_row(*[_cell(v) for v in r])
    # the title on its own line: as the table's caption it would wrap to the table's width
    console = _out("console")
    console.print(f"[italic]{plain(title)}[/]", soft_wrap=True)
    console.print(t)


def print_error(error: BaseException) -> None:
    """Print ``error: MESSAGE`` on standard error (the message printed as it is)."""
    _out("err_console").print(
        f"[bold red]error:[/] {plain(error)}", highlight=False, soft_wrap=True
    )


@contextmanager
def progress_callback(
    description: str, *, quiet: bool = False, total: int | None = None
) -> Iterator[Callable[..., None]]:
    """A ``callback(done, total, message="")`` rendering a rich progress bar on stderr.

    ``total``, when known before the first report, shows from the bar's first frame.
    """
    if quiet:
        yield lambda *a, **k: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"),
        console=_out("err_console"),
        transient=True,
        # outside a terminal rich draws no bar, only a blank line when it stops (which
        # would stand before an error message): no bar at all there
        disable=not _out("err_console").is_interactive,
    ) as progress:
        task = progress.add_task(description, total=total, note="")

        def update(done: int, total: int | None = None, message: str = "") -> None:
            progress.update(task, completed=done, total=total, note=message)

        yield update


def show_jobs(
    jobs: Sequence[Mapping[str, Any]], *, as_json: bool, absent: str | None = None
) -> None:
    """Print the job listing (:func:`jobcast.app.jobs.summarize`'s entries) as ``jobs`` does.

    ``absent`` is the path of a SQLite history that does not exist yet (said, not created).
    """
    if as_json:
        emit_json({"jobs": list(jobs)})
        return
    if not jobs:
        where = f" (no database at {plain(absent)} yet)" if absent else ""
        _out("console").print(
            f"The history is empty{where}. Import a trace: jobcast import c3o FILE --job NAME"
        )
        return
    table(
        "Jobs",
        ["job", "executions", "of which shared", "iterations", "attributes"],
        [
            (
                j["name"],
                j["executions"],
                j["by_source"].get("share", 0),
                j["iterations"],
                ", ".join(f"{a['name']} ({a['kind']})" for a in j["attributes"]),
            )
            for j in jobs
        ],
    )
