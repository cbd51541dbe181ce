"""Fixtures of the command-line tests: the ``jobcast`` entry point as a user runs it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.helpers import run_main

#: ``jobcast(*args)``: exit status, standard output and standard error.
Jobcast = Callable[..., tuple[int, str, str]]


@pytest.fixture
def jobcast(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Jobcast:
    """Run ``jobcast ARGS`` through :func:`jobcast.cli.main`, in this process.

    Unlike ``CliRunner.invoke(app, ...)``, a jobcast error ends as ``main`` ends it: the
    ``error: ...`` line on standard error and exit status 2 (bad input) or 1.
    """

    def run(*args: str) -> tuple[int, str, str]:
        return run_main(monkeypatch, capsys, *args)

    return run
