"""Every ε jobcast accepts passes one rule (history.values.check_epsilon); errors per caller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from jobcast.app.hub import _hub_rules
from jobcast.errors import PrivacyError
from jobcast.privacy.accountant import Accountant, check_epsilon
from jobcast.privacy.release import _check_epsilon
from jobcast.privacy.share import SHARE_FORMAT
from tests.history.test_epsilon import INVALID


def _hub(value: Any) -> None:
    _hub_rules(
        {"format": SHARE_FORMAT, "differential_privacy": True, "epsilon": value, "columns": []}
    )


#: The privacy and hub callers: each refuses with a PrivacyError naming its field.
CALLERS: dict[str, tuple[Callable[[Any], object], str]] = {
    "accountant": (check_epsilon, "epsilon"),
    "a spend": (lambda v: Accountant(epsilon=10.0).spend("x", v), "epsilon of 'x'"),
    "a release": (lambda v: _check_epsilon(v, False), "epsilon"),
    "a hub package": (_hub, "a hub share's epsilon"),
}


@pytest.mark.parametrize("caller", sorted(CALLERS))
@pytest.mark.parametrize(("value", "word"), INVALID)
def test_every_caller_refuses_the_same_values(caller: str, value: Any, word: str) -> None:
    call, field = CALLERS[caller]
    with pytest.raises(PrivacyError, match=word) as raised:
        call(value)
    assert str(raised.value).startswith(f"{field} must be a ")


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_every_caller_accepts_a_finite_positive_epsilon(caller: str) -> None:
    CALLERS[caller][0](0.5)
