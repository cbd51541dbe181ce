"""One rule for an ε: :func:`check_epsilon`, and the history's values that hold one."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from jobcast.errors import InputError, PrivacyError
from jobcast.history import HistoryRepository
from jobcast.history.records import Provenance, SourceKind
from jobcast.history.values import check_epsilon

#: Values no ε may take, and a word of the message each gets.
INVALID: list[tuple[Any, str]] = [
    (math.inf, "finite"),
    (-math.inf, "finite"),
    (math.nan, "finite"),
    (0, "> 0"),
    (0.0, "> 0"),
    (-1.0, "> 0"),
    (True, "number"),
    (False, "number"),
    (np.bool_(True), "number"),
    ("1.0", "number"),
    (1 + 0j, "number"),
    ([1.0], "number"),
]


@pytest.mark.parametrize(("value", "word"), INVALID)
def test_check_epsilon_refuses_what_is_no_budget_amount(value: Any, word: str) -> None:
    with pytest.raises(InputError, match=word) as raised:
        check_epsilon(value, what="--epsilon")
    assert str(raised.value).startswith("--epsilon must be a ")  # names the field


@pytest.mark.parametrize(
    ("value", "expected"), [(1, 1.0), (0.5, 0.5), (np.float32(0.25), 0.25), (np.int64(3), 3.0)]
)
def test_check_epsilon_accepts_finite_positive_numbers(value: Any, expected: float) -> None:
    got = check_epsilon(value)
    assert got == expected and type(got) is float


def test_check_epsilon_keeps_the_callers_minimum_error_and_hint() -> None:
    with pytest.raises(PrivacyError, match=r"^epsilon 1e-07 is below the smallest accepted 1e-06"):
        check_epsilon(1e-7, minimum=1e-6, error=PrivacyError)
    assert check_epsilon(1e-6, minimum=1e-6) == 1e-6
    with pytest.raises(PrivacyError, match=r"got inf; use --no-dp$"):
        check_epsilon(math.inf, error=PrivacyError, hint="use --no-dp")


@pytest.mark.parametrize(("value", "word"), INVALID)
def test_a_share_provenance_refuses_an_invalid_epsilon(value: Any, word: str) -> None:
    """``Provenance(..., epsilon=inf)`` and ``epsilon=True`` were accepted."""
    with pytest.raises(InputError, match=f"a share's epsilon must be .*{word}"):
        Provenance(SourceKind.SHARE, "x", epsilon=value)


def test_a_share_provenance_keeps_its_epsilon_as_a_float() -> None:
    assert Provenance(SourceKind.SHARE, "x", epsilon=np.float32(0.5)).epsilon == 0.5
    assert type(Provenance(SourceKind.SHARE, "x", epsilon=2).epsilon) is float
    assert Provenance(SourceKind.SHARE, "x").epsilon is None  # a share without DP


@pytest.mark.parametrize(("value", "word"), INVALID)
def test_the_ledger_refuses_an_invalid_epsilon(
    repo: HistoryRepository, value: Any, word: str
) -> None:
    """The release lease let +inf and True through (inf then read as over budget)."""
    from tests.history.test_repository import _spec, _table

    repo.import_executions(_table(_spec()))
    with repo.release_lock("j") as lease:
        with pytest.raises(InputError, match=f"epsilon .*{word}"):
            lease.check(value)
        lease.check(None, no_dp=True)  # no ε without DP
    with pytest.raises(InputError, match=word):
        repo.record_release("j", epsilon=value, method="m", rows=10)
    with pytest.raises(InputError, match=f"^a privacy budget must be .*{word}"):
        repo.set_privacy_budget("j", value)
    assert repo.releases("j") == []
