"""Bad inputs, each refused with a message naming the input and the fix, and nothing written.

Every command-line case runs ``jobcast`` in-process against a history on SQLite and on
PostgreSQL holding one job; the refusal must be a jobcast error (which ``jobcast`` prints
as one line, never a traceback) or a usage error, with a non-zero exit, and the row counts
of every history table must be the same afterwards. A few cases also run the real
``jobcast`` executable to check what a user sees.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from jobcast.cli import app
from jobcast.errors import JobcastError
from tests.conftest import shared_file
from tests.hardening.conftest import counts, runner


@dataclass(frozen=True)
class Case:
    """One bad input: the arguments (``{d}`` is the folder of files) and what the message says."""

    name: str
    args: tuple[str, ...]
    says: tuple[str, ...]
    before: tuple[tuple[str, ...], ...] = field(default_factory=tuple)


def _c(name: str, args: str, *says: str, before: tuple[str, ...] = ()) -> Case:
    return Case(name, tuple(args.split("|")), says, (before,) if before else ())


C = "import|csv"
TIMES = "--started|s|--finished|f"  # the iteration time columns of the trace files


def _on_file(name: str, command: str, options: str, file_args: str, says: tuple[str, ...]) -> Case:
    file, _, extra = file_args.partition("|")
    return _c(name, "|".join(x for x in (command, f"{{d}}/{file}", options, extra) if x), *says)


def _csv(name: str, file_args: str, *says: str) -> Case:
    """``jobcast import csv {d}/FILE --job j --runtime t`` (``file_args``: FILE|more|args)."""
    return _on_file(name, C, "--job|j|--runtime|t", file_args, says)


def _trace(name: str, file_args: str, *says: str) -> Case:
    """``jobcast import traces {d}/FILE --job j`` (``file_args``: FILE|more|args)."""
    return _on_file(name, "import|traces", "--job|j", file_args, says)


CASES = [
    # ------------------------------------------------------------- files
    _csv("missing-file", "nope.csv", "nope.csv", "no such file"),
    _c("directory", f"{C}|{{d}}|--job|j|--runtime|t", "is a directory", "pass the trace file"),
    _csv("empty-file", "empty.csv", "empty.csv", "empty"),
    _csv("header-only", "header.csv", "no data rows"),
    _csv("field-count", "fields.csv", "line 3", "--sep"),
    _csv("not-utf8", "latin1.csv", "not UTF-8", "save the file"),
    _csv("gzip-csv", "runs.csv.gz", "gzip-compressed", "zcat"),
    _csv("underscore-number", "underscore.csv", "line 3", "'3_6_8'", "underscore"),
    _csv("full-width-digit", "wide_digits.csv", "line 3", "not an ascii digit"),
    _csv("utf16-csv", "utf16.csv", "UTF-16", "save it as UTF-8"),
    _csv("xlsx", "book.xlsx", "zip archive", "export the sheet"),
    _c("no-runtime-col", f"{C}|{{d}}/good.csv|--job|j|--runtime|nope", "'nope'", "--runtime"),
    _csv("runtime-text", "rt_text.csv", "line 3", "not a number"),
    _csv("runtime-negative", "rt_neg.csv", "line 2", "> 0"),
    _csv("runtime-inf", "rt_inf.csv", "'inf'", "finite"),
    _csv("runtime-nan", "rt_nan.csv", "'nan'", "finite"),
    _csv("scale-out-1e30", "so_huge.csv|--scale-out|n", "1e+30", "100000"),
    _csv("scale-out-fraction", "so_frac.csv|--scale-out|n", "'2.5'", "whole number"),
    _csv("scale-out-zero", "so_zero.csv|--scale-out|n", "is below 1"),
    _csv("attribute-1e400", "attr_inf.csv", "'1e400'", "finite"),
    _csv("attribute-empty", "attr_empty.csv", "empty value"),
    _csv("attribute-1e39", "attr_huge.csv", "1e+39", "within -1e+15 .. 1e+15"),
    _csv("reserved-machine-type", "reserved_mt.csv|--scale-out|n", "'machine_type'",
         "pass it as --machine-type", "line 1"),
    _csv("reserved-runtime", "reserved_rt.csv|--scale-out|n", "'gross_runtime'", "--runtime"),
    _csv("reserved-source", "reserved_src.csv", "'source'", "rename the column"),
    _c("c3o-reserved", "import|c3o|{d}/c3o_reserved.csv|--job|j", "'scale_out'", "keeps that"),
    _csv("mixed-column", "mixed.csv", "'abc'", "column of numbers", "line 4"),
    _csv("sep-two-chars", "colons.csv|--sep|::", "'::'", "one character"),
    _csv("sep-letter", "good.csv|--sep|x", "'x'", "cannot separate"),
    _csv("same-column-twice", "good.csv|--scale-out|t", "'t'", "--runtime and as --scale-out"),
    _csv("runtime-is-machine-type", "good.csv|--machine-type|t", "--machine-type"),
    _c("long-job-name", f"{C}|{{d}}/good.csv|--job|{'x' * 5000}|--runtime|t", "at most 200"),
    _csv("long-column-name", "long_col.csv", "at most 200"),
    _csv("nul-in-cell", "nul.csv", "NUL"),
    _csv("duplicate-header", "dup_header.csv", "'a'", "2 times"),
    _csv("unnamed-header", "unnamed.csv", "no name", "line 1"),
    _csv("line-after-multiline-quote", "multiline.csv", "line 5", "not a number"),
    _csv("header-field-huge", "huge_header.csv", "malformed CSV", "line 1"),
    _c(
        "same-file-twice",
        f"{C}|{{d}}/good.csv|--job|twice|--runtime|t",
        "imported before",
        "another --job",
        before=(*f"{C}|{{d}}/good.csv|--job|twice|--runtime|t".split("|"),),
    ),
    _csv("kind-unknown-column", "good.csv|--kind|zz=dataset", "zz"),
    _csv("kind-bad-value", "good.csv|--kind|a=weird", "weird"),
    _csv("kind-twice", "good.csv|--kind|a=dataset|--kind|a=resource", "'a' twice"),
    _c(
        "kind-of-existing-job",
        f"{C}|{{d}}/good.csv|--job|kinds|--runtime|t|--kind|a=resource",
        "exists with 'a' as a dataset attribute",
        "new jobs only",
        before=(*f"{C}|{{d}}/good.csv|--job|kinds|--runtime|t|--kind|a=dataset".split("|"),),
    ),
    _c(
        "other-attributes",
        f"{C}|{{d}}/other_attrs.csv|--job|sort|--runtime|gross_runtime",
        "other_attrs.csv: job 'sort' already exists",
        "another --job",
    ),
    _csv("machine-type-empty", "mt_empty.csv|--machine-type|m", "empty machine type"),
    _csv("machine-type-long", "mt_long.csv|--machine-type|m", "machine_type", "at most 100"),
    # --------------------------------------------------------------- c3o
    _c("c3o-no-runtime", "import|c3o|{d}/c3o_nort.csv|--job|j", "'gross_runtime'",
       "name the right one with `jobcast import csv` --runtime"),
    _c("c3o-scale-out-1e30", "import|c3o|{d}/c3o_huge.csv|--job|j", "instance_count", "100000"),
    _c("c3o-directory", "import|c3o|{d}|--job|j", "is a directory"),
    _c("c3o-twice", "import|c3o|{sort}|--job|sort", "imported before"),
    # ------------------------------------------------------------ traces
    _trace("trace-finish-before-start", f"tr_order.csv|{TIMES}", "before it starts", "line 3"),
    _trace(
        "trace-run-finish-before-start",
        "tr_run_order.csv|--run-started|rs|--run-finished|rf",
        "before it starts",
    ),
    _trace("trace-bad-time", f"tr_badtime.csv|{TIMES}", "is not an ISO 8601 time", "year first"),
    _trace("trace-duration-text", "tr_dur.csv", "not a number", "line 2"),
    _trace("trace-no-execution-col", "tr_noexec.csv", "'execution'"),
    _trace("trace-duration-unit", "tr_ok.csv|--duration-unit|weeks", "--duration-unit", "weeks"),
    _trace("trace-context-varies", "tr_ctx.csv|--context|size", "constant per execution"),
    _trace("trace-scale-out-huge", "tr_huge.csv", "scale-out", "100000"),
    _trace("trace-sep-tab-typed", "tr_ok.csv|--sep|\\t", "'execution'"),
    # -------------------------------------------------------------- dool
    _c(
        "dool-epoch-1e300",
        "import|dool|{d}/dool_huge.csv|--job|sort|--execution|e1",
        "between 1970 and 9999",
    ),
    _c("dool-no-header", "import|dool|{d}/good.csv|--job|sort|--execution|e1", "no dool"),
    _c("dool-unknown-execution", "import|dool|{d}/dool.csv|--job|sort|--execution|nope", "'nope'"),
    _c("dool-unknown-job", "import|dool|{d}/dool.csv|--job|nojob|--execution|e1", "nojob"),
    _c("dool-missing-file", "import|dool|{d}/none.csv|--job|sort|--execution|e1", "none.csv"),
    # ---------------------------------------------------------- eventlog
    _c("eventlog-not-spark", "import|eventlog|{d}/good.csv|--job|j", "good.csv"),
    _c("eventlog-missing", "import|eventlog|{d}/nolog|--job|j", "nolog"),
    # ------------------------------------------------------ other commands
    _c("predict-unknown-job", "predict|--job|nojob|--scale-out|4", "nojob", "known jobs"),
    _c("configure-unknown-job", "configure|--job|nojob|--deadline|100", "nojob"),
    # ------------------------------------ fixes of other engineers' commands
    _c("predict-scale-out-cap", "predict|--job|sort|--scale-out|1-100000000", "10,000 values"),
    _c(
        "predict-unknown-machine-type",
        "predict|--job|sort|--scale-out|4|--machine-type|x9.huge",
        "x9.huge",
        "no machine types",
    ),
    _c(
        "share-epsilon-tiny",
        "share|--job|sort|--epsilon|1e-300|--rows|10|--out|{d}/share1",
        "1e-300",
        "useful range",
    ),
    _c(
        "share-rows-huge",
        "share|--job|sort|--epsilon|1|--rows|100000000000|--out|{d}/share2",
        "--rows",
        "10,000,000",
    ),
    _c(
        "share-out-exists",
        "share|--job|sort|--epsilon|1|--rows|10|--out|{d}/good.csv",
        "exists",
        "new directory",
    ),
    _c("eventlog-gzip", "import|eventlog|{d}/log.gz|--job|j", "gzip", "decompress"),
    _c(
        "eventlog-damaged-start", "import|eventlog|{d}/app-damaged|--job|j", "app-damaged",
        "line 2", "UnicodeDecodeError", "damaged",
    ),
    _c(
        "eventlog-job-ends-first", "import|eventlog|{d}/app-backwards|--job|j",
        "app-backwards", "before their submission", "damaged",
    ),
    _c("eventlog-bad-lz4", "import|eventlog|{d}/log.lz4|--job|j", "log.lz4", "lz4"),
    _c("dool-twice", "import|dool|{d}/dool.csv|--job|sort|--execution|e1", "stored already"),
]


def _expand(args: tuple[str, ...], files: Path) -> list[str]:
    sort = str(shared_file("c3o-paper", "sort.csv"))
    return [a.replace("{d}", str(files)).replace("{sort}", sort) for a in args]


def _refusal(result: object) -> str:
    """The message a user sees; fails when the command crashed instead of refusing."""
    exc = getattr(result, "exception", None)
    code = getattr(result, "exit_code", 0)
    assert code != 0, f"accepted: {getattr(result, 'output', '')}"
    if isinstance(exc, JobcastError):
        return str(exc)
    # usage errors (click) exit 2 and print their message; anything else is a crash
    assert isinstance(exc, SystemExit) or exc is None, f"crashed: {exc!r}"
    assert code == 2, f"exit {code}: {getattr(result, 'output', '')}"
    return str(getattr(result, "output", ""))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_refused(case: Case, history: str, files: Path) -> None:
    for before in case.before:
        runner.invoke(app, [*_expand(before, files), "--db", history])
    held = counts(history)
    result = runner.invoke(app, [*_expand(case.args, files), "--db", history])
    message = _refusal(result)
    for fragment in case.says:
        assert fragment.lower() in message.lower(), f"{fragment!r} not in: {message}"
    assert "Traceback" not in message and "SELECT" not in message and "INSERT" not in message
    assert counts(history) == held, "something was written"


def test_enough_cases() -> None:
    from tests.hardening.test_bad_reports import HTTP_CASES

    assert len(CASES) + len(HTTP_CASES) >= 60


# ------------------------------------------------------------------ the executable
@pytest.mark.parametrize(
    "args",
    [
        ("import", "csv", "{d}/so_huge.csv", "--job", "j", "--runtime", "t", "--scale-out", "n"),
        ("import", "csv", "{d}/colons.csv", "--job", "j", "--runtime", "t", "--sep", "::"),
        ("import", "dool", "{d}/dool_huge.csv", "--job", "sort", "--execution", "e1"),
    ],
    ids=["scale-out-1e30", "sep-two-chars", "dool-epoch"],
)
def test_the_executable_prints_one_line(args: tuple[str, ...], history: str, files: Path) -> None:
    exe = Path(sys.executable).with_name("jobcast")
    done = subprocess.run(
        [str(exe), *_expand(args, files), "--db", history],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error:") and "Traceback" not in done.stderr
