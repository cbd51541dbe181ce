"""Reading option values: ``KEY=VALUE`` pairs, lists, seconds, output files.

Each check names the option and gives an example of a value it takes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from jobcast.errors import InputError

__all__ = [
    "MAX_LIST_ENTRIES",
    "parse_assignments",
    "parse_int_list",
    "parse_name_list",
    "check_seconds",
    "seconds_parser",
    "seconds_option",
    "check_output_file",
]


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
            raise InputError(f"{option}: {part!r} is no integer; {syntax}, got {text!r}") from None
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


def seconds_option(help: str, option: str, *, example: str) -> Any:
    """A typer option in seconds that names its unit for text such as ``10min``.

    ``option`` is the option's name as typed (``--interval``), ``example`` a value.
    """
    import typer

    return typer.Option(option, help=help, parser=seconds_parser(option, example=example))
