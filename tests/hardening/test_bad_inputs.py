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
CASES = [
    # ------------------------------------------------------------- files
    _c("missing-file", f"{C}|{{d}}/nope.csv|--job|j|--runtime|t", "nope.csv", "no such file"),
    _c("directory", f"{C}|{{d}}|--job|j|--runtime|t", "is a directory", "pass the trace file"),
    _c("empty-file", f"{C}|{{d}}/empty.csv|--job|j|--runtime|t", "empty.csv", "empty"),
    _c("header-only", f"{C}|{{d}}/header.csv|--job|j|--runtime|t", "no data rows"),
    _c("field-count", f"{C}|{{d}}/fields.csv|--job|j|--runtime|t", "line 3", "--sep"),
    _c("not-utf8", f"{C}|{{d}}/latin1.csv|--job|j|--runtime|t", "not UTF-8", "save the file"),
    _c("no-runtime-col", f"{C}|{{d}}/good.csv|--job|j|--runtime|nope", "'nope'", "--runtime"),
    _c("runtime-text", f"{C}|{{d}}/rt_text.csv|--job|j|--runtime|t", "line 3", "not a number"),
    _c("runtime-negative", f"{C}|{{d}}/rt_neg.csv|--job|j|--runtime|t", "line 2", "> 0"),
    _c("runtime-inf", f"{C}|{{d}}/rt_inf.csv|--job|j|--runtime|t", "'inf'", "finite"),
    _c("runtime-nan", f"{C}|{{d}}/rt_nan.csv|--job|j|--runtime|t", "'nan'", "finite"),
    _c(
        "scale-out-1e30",
        f"{C}|{{d}}/so_huge.csv|--job|j|--runtime|t|--scale-out|n",
        "1e+30",
        "100000",
    ),
    _c(
        "scale-out-fraction",
        f"{C}|{{d}}/so_frac.csv|--job|j|--runtime|t|--scale-out|n",
        "'2.5'",
        "whole number",
    ),
    _c("scale-out-zero", f"{C}|{{d}}/so_zero.csv|--job|j|--runtime|t|--scale-out|n", "> 0"),
    _c("attribute-1e400", f"{C}|{{d}}/attr_inf.csv|--job|j|--runtime|t", "'1e400'", "finite"),
    _c("attribute-empty", f"{C}|{{d}}/attr_empty.csv|--job|j|--runtime|t", "empty value"),
    _c(
        "mixed-column",
        f"{C}|{{d}}/mixed.csv|--job|j|--runtime|t",
        "'abc'",
        "column of numbers",
        "line 4",
    ),
    _c(
        "sep-two-chars",
        f"{C}|{{d}}/colons.csv|--job|j|--runtime|t|--sep|::",
        "'::'",
        "one character",
    ),
    _c("sep-letter", f"{C}|{{d}}/good.csv|--job|j|--runtime|t|--sep|x", "'x'", "cannot separate"),
    _c(
        "same-column-twice",
        f"{C}|{{d}}/good.csv|--job|j|--runtime|t|--scale-out|t",
        "'t'",
        "--runtime and as --scale-out",
    ),
    _c(
        "runtime-is-machine-type",
        f"{C}|{{d}}/good.csv|--job|j|--runtime|t|--machine-type|t",
        "--machine-type",
    ),
    _c("long-job-name", f"{C}|{{d}}/good.csv|--job|{'x' * 5000}|--runtime|t", "at most 200"),
    _c("long-column-name", f"{C}|{{d}}/long_col.csv|--job|j|--runtime|t", "at most 200"),
    _c("nul-in-cell", f"{C}|{{d}}/nul.csv|--job|j|--runtime|t", "NUL"),
    _c("duplicate-header", f"{C}|{{d}}/dup_header.csv|--job|j|--runtime|t", "'a'", "2 times"),
    _c("unnamed-header", f"{C}|{{d}}/unnamed.csv|--job|j|--runtime|t", "no name", "line 1"),
    _c(
        "line-after-multiline-quote",
        f"{C}|{{d}}/multiline.csv|--job|j|--runtime|t",
        "line 5",
        "not a number",
    ),
    _c(
        "same-file-twice",
        f"{C}|{{d}}/good.csv|--job|twice|--runtime|t",
        "imported before",
        "another --job",
        before=(*f"{C}|{{d}}/good.csv|--job|twice|--runtime|t".split("|"),),
    ),
    _c("kind-unknown-column", f"{C}|{{d}}/good.csv|--job|j|--runtime|t|--kind|zz=dataset", "zz"),
    _c("kind-bad-value", f"{C}|{{d}}/good.csv|--job|j|--runtime|t|--kind|a=weird", "weird"),
    _c(
        "other-attributes",
        f"{C}|{{d}}/other_attrs.csv|--job|sort|--runtime|gross_runtime",
        "already exists",
        "another --job",
    ),
    _c(
        "machine-type-empty",
        f"{C}|{{d}}/mt_empty.csv|--job|j|--runtime|t|--machine-type|m",
        "empty machine type",
    ),
    _c(
        "machine-type-long",
        f"{C}|{{d}}/mt_long.csv|--job|j|--runtime|t|--machine-type|m",
        "machine_type",
        "at most 100",
    ),
    # --------------------------------------------------------------- c3o
    _c("c3o-no-runtime", "import|c3o|{d}/c3o_nort.csv|--job|j", "'gross_runtime'"),
    _c("c3o-scale-out-1e30", "import|c3o|{d}/c3o_huge.csv|--job|j", "instance_count", "100000"),
    _c("c3o-directory", "import|c3o|{d}|--job|j", "is a directory"),
    _c("c3o-twice", "import|c3o|{sort}|--job|sort", "imported before"),
    # ------------------------------------------------------------ traces
    _c(
        "trace-finish-before-start",
        "import|traces|{d}/tr_order.csv|--job|j|--started|s|--finished|f",
        "before it starts",
        "line 3",
    ),
    _c(
        "trace-run-finish-before-start",
        "import|traces|{d}/tr_run_order.csv|--job|j|--run-started|rs|--run-finished|rf",
        "before it starts",
    ),
    _c(
        "trace-bad-time",
        "import|traces|{d}/tr_badtime.csv|--job|j|--started|s|--finished|f",
        "not a timestamp",
        "ISO",
    ),
    _c("trace-duration-text", "import|traces|{d}/tr_dur.csv|--job|j", "not a number", "line 2"),
    _c("trace-no-execution-col", "import|traces|{d}/tr_noexec.csv|--job|j", "'execution'"),
    _c(
        "trace-duration-unit",
        "import|traces|{d}/tr_ok.csv|--job|j|--duration-unit|weeks",
        "--duration-unit",
        "weeks",
    ),
    _c(
        "trace-context-varies",
        "import|traces|{d}/tr_ctx.csv|--job|j|--context|size",
        "constant per execution",
    ),
    _c("trace-scale-out-huge", "import|traces|{d}/tr_huge.csv|--job|j", "scale-out", "100000"),
    _c(
        "trace-sep-tab-typed",
        "import|traces|{d}/tr_ok.csv|--job|j|--sep|\\t",
        "'execution'",
    ),
    # -------------------------------------------------------------- dool
    _c(
        "dool-epoch-1e300",
        "import|dool|{d}/dool_huge.csv|--job|sort|--execution|e1",
        "between 1970 and 9999",
    ),
    _c("dool-no-header", "import|dool|{d}/good.csv|--job|sort|--execution|e1", "no dool"),
    _c(
        "dool-unknown-execution",
        "import|dool|{d}/dool.csv|--job|sort|--execution|nope",
        "'nope'",
    ),
    _c("dool-unknown-job", "import|dool|{d}/dool.csv|--job|nojob|--execution|e1", "nojob"),
    _c("dool-missing-file", "import|dool|{d}/none.csv|--job|sort|--execution|e1", "none.csv"),
    # ---------------------------------------------------------- eventlog
    _c(
        "eventlog-not-spark",
        "import|eventlog|{d}/good.csv|--job|j",
        "good.csv",
    ),
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
