"""Fixtures of the command-line tests: the ``jobcast`` entry point as a user runs it."""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest

from jobcast.cli import main

#: ``jobcast(*args)``: exit status, standard output and standard error.
Jobcast = Callable[..., tuple[int, str, str]]


@pytest.fixture
def jobcast(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Jobcast:
    """Run ``jobcast ARGS`` through :func:`jobcast.cli.main`, in this process.

    Unlike ``CliRunner.invoke(app, ...)``, a jobcast error ends as ``main`` ends it: the
    ``error: ...`` line on standard error and exit status 2 (bad input) or 1.
    """

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["jobcast", *args])
        capsys.readouterr()  # what earlier steps of the test printed
        with pytest.raises(SystemExit) as ended:
            main()
        out, err = capsys.readouterr()
        code = ended.value.code
        return (0 if code is None else code if isinstance(code, int) else 1), out, err

    return run
