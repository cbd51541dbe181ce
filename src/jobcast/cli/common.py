"""Shared pieces of the command line: options, output, error reporting.

typer and rich are imported on first use (the option types and consoles are module
attributes built by ``__getattr__``), so the fast path of ``jobcast jobs`` pays for rich
only when it draws a table and never for typer.
"""

from __future__ import annotations

import json
import math
import os
import sys
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from numbers import Integral, Real
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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


def parse_assignments(items: Sequence[str] | None, *, option: str = "--set") -> dict[str, Any]:
    """Parse ``KEY=VALUE`` options; numbers become floats, anything else stays text.

    A key given twice is refused (naming both values), not silently overwritten.
    """
    out: dict[str, Any] = {}
    given: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"{option} takes KEY=VALUE, got {item!r}")
        if key.strip() in given:
            raise InputError(
                f"{option} {key.strip()} is given twice ({given[key.strip()]!r} and "
                f"{value!r}); give each key once"
            )
        given[key.strip()] = value
        try:
            out[key.strip()] = float(value)
        except ValueError:
            out[key.strip()] = value.strip()
    return out


def check_seconds(value: float | None, *, option: str, example: str, zero: bool = False) -> None:
    """Refuse a number of seconds that is not finite and > 0 (>= 0 with ``zero``).

    ``None`` (the option not given) passes. A float option reads ``nan``, ``inf`` and
    ``1e400`` (infinite) as numbers; none of them is a duration.

    Raises
    ------
    jobcast.errors.InputError
        Naming the option, what it takes and ``example`` (e.g. ``"900"``).
    """
    if value is None:
        return
    if not (math.isfinite(value) and (value >= 0 if zero else value > 0)):
        bound = ">= 0" if zero else "> 0"
        raise InputError(
            f"{option} must be a finite number of seconds {bound}, e.g. {option} {example}; "
            f"got {value:g}"
        )


def seconds_parser(option: str, *, example: str) -> Callable[[Any], float]:
    """A typer ``parser`` of an option in seconds that says so for text such as ``10min``.

    typer's own float parsing answers only "unable to parse string as a number"; this
    one names the unit and ``example`` (converting ``10min``, ``2h``, ``90s``, ``500ms``).
    """

    def parse(value: Any) -> float:
        try:
            return float(value)
        except (TypeError, ValueError):
            pass
        from jobcast.history.importers.units import DURATION_UNITS

        text = str(value).strip()
        given = next((u for u in ("ms", "min", "h", "s") if text.endswith(u)), None)
        try:
            seconds = float(text[: -len(given)]) * DURATION_UNITS[given] if given else None
        except ValueError:
            seconds = None
        hint = example if seconds is None else f"{seconds:g}"
        import typer

        raise typer.BadParameter(
            f"{value!r} is not a number of seconds; give seconds, e.g. {option} {hint}",
            param_hint=f"'{option}'",
        )

    return parse


def check_output_file(path: Path | None, *, option: str) -> None:
    """Refuse, before any work, an output file that cannot be written.

    As ``share --out`` does for its directory: the folder must exist (it is not
    created) and be writable, and the path must not be a directory.

    Raises
    ------
    jobcast.errors.InputError
        Naming the option, the path and what to do.
    """
    if path is None:
        return
    target = path.expanduser()
    folder = target.absolute().parent
    if target.is_dir():
        raise InputError(f"{option} {path} is a directory; give a file name, e.g. {path}/plot.png")
    if not folder.is_dir():
        raise InputError(f"{option} {path}: the folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK) or (
        target.exists() and not os.access(target, os.W_OK)
    ):
        raise InputError(f"{option} {path}: cannot write there (permission denied)")


#: Most entries a list option such as ``--scale-out 2-12`` may expand to.
MAX_LIST_ENTRIES = 10_000


def _too_long(option: str, text: str) -> InputError:
    return InputError(
        f"{option} {text!r} expands to more than {MAX_LIST_ENTRIES:,} values; give a shorter "
        "range or a step, e.g. 10,20,...,1000"
    )


def parse_int_list(text: str | None, *, option: str) -> list[int] | None:
    """Parse ``2,4,8``, ``2-8`` (every integer) or ``3,6,...,30`` into positive integers.

    Raises
    ------
    jobcast.errors.InputError
        On anything else, a value <= 0, or more than :data:`MAX_LIST_ENTRIES` values.
    """
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
        if (last - a) // (b - a) + k > MAX_LIST_ENTRIES:
            raise _too_long(option, text)
        parts = [str(x) for x in (*(int(p) for p in parts[: k - 2]), *range(a, last + 1, b - a))]
    syntax = "write integers like 2,4,8, a range like 2-12 or a progression like 3,6,...,30"
    for part in parts:
        if not part:
            raise InputError(f"{option} {text!r} has an empty entry; {syntax}")
        lo, dash, hi = part.partition("-")
        if dash and lo.strip() and not hi.strip():
            raise InputError(f"{option} {text!r}: the range {part!r} has no end; {syntax}")
        try:
            bounds = (int(lo), int(hi) if hi else int(lo))
        except ValueError:
            raise InputError(f"{option} takes integers like 2,4,8 or 2-12, got {text!r}") from None
        if bounds[1] < bounds[0]:
            raise InputError(
                f"{option} {text!r}: the range {part!r} is reversed; write it as "
                f"{bounds[1]}-{bounds[0]}"
            )
        if len(out) + max(bounds[1] - bounds[0] + 1, 0) > MAX_LIST_ENTRIES:
            raise _too_long(option, text)
        out.extend(range(bounds[0], bounds[1] + 1))
    if not out or any(x <= 0 for x in out):
        raise InputError(f"{option} needs positive integers, got {text!r}")
    return out


def parse_name_list(items: Sequence[str] | None, *, option: str) -> list[str] | None:
    """Names of a repeatable option that also takes comma lists: ``a,b`` or ``a`` ``b``.

    Raises
    ------
    jobcast.errors.InputError
        On an empty entry (``a,,b``), naming the option.
    """
    if not items:
        return None
    out: list[str] = []
    for item in items:
        parts = [p.strip() for p in item.split(",")]
        if not all(parts):
            raise InputError(
                f"{option} {item!r} has an empty entry; write names like a,b (or repeat {option})"
            )
        for part in parts:
            if part not in out:
                out.append(part)
    return out


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
