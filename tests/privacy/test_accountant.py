import math

import pytest

from jobcast.errors import BudgetExceededError, PrivacyError
from jobcast.privacy import Accountant


def test_spends_sum_and_rest_exhausts_exactly():
    acc = Accountant(1.0)
    for i in range(3):
        acc.spend(f"part{i}", 1.0 / 7)
    acc.spend_rest("rest")
    assert acc.exhausted
    assert acc.spent == pytest.approx(1.0, rel=1e-12)
    assert [s.label for s in acc.ledger] == ["part0", "part1", "part2", "rest"]
    acc.check_exhausted()


def test_refuses_over_budget_and_records_nothing():
    acc = Accountant(0.5)
    acc.spend("a", 0.4)
    with pytest.raises(BudgetExceededError, match="over|>"):
        acc.spend("b", 0.2)
    assert len(acc.ledger) == 1
    acc.spend_rest("c")
    with pytest.raises(BudgetExceededError):
        acc.spend_rest("d")


@pytest.mark.parametrize("eps", [0, 0.0, -1, math.nan, math.inf, None, "1", True])
def test_epsilon_must_be_positive_number(eps):
    with pytest.raises(PrivacyError):
        Accountant(eps)  # type: ignore[arg-type]


def test_spend_of_zero_is_an_error():
    acc = Accountant(1.0)
    with pytest.raises(PrivacyError):
        acc.spend("nothing", 0.0)


def test_check_exhausted_detects_underspending():
    acc = Accountant(1.0)
    acc.spend("half", 0.5)
    with pytest.raises(PrivacyError, match="spent"):
        acc.check_exhausted()
    assert acc.to_dict()["ledger"] == [{"label": "half", "epsilon": 0.5}]
