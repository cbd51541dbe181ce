"""Messages name what exists: commands and options of the CLI, the unit of --deadline."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from jobcast.collect.protocol import EXECUTIONS_PATH
from jobcast.models.training_data import TrainingSet
from tests.cli.conftest import Jobcast


def test_the_left_out_warning_names_real_ways_to_report_attributes(jobcast: Jobcast) -> None:
    """Was: "the collector's params, `jobcast collect --set`", a command that never existed."""
    data = TrainingSet(pd.DataFrame({"scale_out": [2]}), np.array([1.0]), (("size", 1),), 1)
    (warning,) = data.warnings("pagerank")
    commands = re.findall(r"`jobcast ([^`]+)`", warning)
    assert commands, warning
    for command in commands:
        words = command.split()
        option = next(w for w in words if w.startswith("--"))
        code, help_text, err = jobcast(*words[: words.index(option)], "--help")
        assert code == 0, (command, err)
        assert f"{option} " in help_text, command
    assert EXECUTIONS_PATH in warning


@pytest.mark.parametrize(
    ("command", "given", "seconds"),
    [
        (("configure", "--job", "j"), "10min", "600"),
        (("configure", "--job", "j"), "2h", "7200"),
        (("configure", "--job", "j"), "soon", "600"),
        (("watch", "--job", "j"), "10min", "600"),
        (("watch", "--job", "j"), "later", "900"),
    ],
)
def test_a_deadline_with_a_unit_is_told_to_be_seconds(
    jobcast: Jobcast, command: tuple[str, ...], given: str, seconds: str
) -> None:
    """Was: only pydantic's "unable to parse string as a number"."""
    code, _, err = jobcast(*command, "--deadline", given)
    message = " ".join(err.split())
    assert code == 2 and f"'{given}' is not a number of seconds" in message, message
    assert f"e.g. --deadline {seconds}" in message, message
    assert "unable to parse" not in message


@pytest.mark.parametrize(
    ("command", "option", "given", "seconds"),
    [
        (("watch", "--job", "j"), "--interval", "2s", "2"),
        (("watch", "--job", "j"), "--timeout", "10min", "600"),
        (("watch", "--job", "j"), "--warn-after", "1h", "3600"),
        (("agent", "--collector", "http://127.0.0.1:9"), "--interval", "500ms", "0.5"),
        (("serve",), "--watch-interval", "1min", "60"),
    ],
)
def test_every_option_in_seconds_names_its_unit(
    jobcast: Jobcast, command: tuple[str, ...], option: str, given: str, seconds: str
) -> None:
    """Was: typer's generic "is not a valid float" for --interval and --timeout."""
    code, _, err = jobcast(*command, option, given)
    message = " ".join(err.split())
    assert code == 2 and f"'{given}' is not a number of seconds" in message, message
    assert f"e.g. {option} {seconds}" in message, message


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ("--test-size", "1.5"),
            "--test-size is the held-out share of the executions, between 0 and 1",
        ),
        (("--repeats", "0"), "--repeats takes a whole number >= 1"),
        (("--train-sizes", "3,6,..,30"), "a progression like 3,6,...,30"),
    ],
)
def test_evaluate_models_names_a_bad_option_before_it_runs(
    jobcast: Jobcast, args: tuple[str, ...], says: str
) -> None:
    """Was: exit 1 with "cannot be split -50%/150% ... import more executions"."""
    code, _, err = jobcast("evaluate", "models", "--job", "j", *args)
    message = " ".join(err.split())
    assert code == 2 and says in message, message
