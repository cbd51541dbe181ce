"""One privacy accountant per release: pure ε-DP, sequential composition, labelled spends.

Sequential composition (Dwork, McSherry, Nissim, Smith, TCC 2006; McSherry, SIGMOD
2009, Theorem 1): running mechanisms of ε1, ..., εk on the same rows is
(ε1 + ... + εk)-differentially private.  Mechanisms on *disjoint* cells of one
partition (one histogram) are charged once (parallel composition, Theorem 2); the
caller charges such a histogram as one spend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from jobcast.errors import BudgetExceededError, PrivacyError
from jobcast.history.values import check_epsilon as valid_epsilon

__all__ = ["Spend", "Accountant", "check_epsilon"]

_REL_TOL = 1e-9


def check_epsilon(epsilon: Any, *, what: str = "epsilon") -> float:
    """Return ``epsilon`` as a float if it is a finite number > 0, else raise.

    The rule is :func:`jobcast.history.values.check_epsilon`'s, the one every ε in
    jobcast passes; here its error is a :class:`PrivacyError`.

    Raises
    ------
    PrivacyError
        If ``epsilon`` is not a finite number greater than 0.  (No truth test: 0 is an
        error, never "privacy off".)
    """
    return valid_epsilon(
        epsilon,
        what=what,
        error=PrivacyError,
        hint="to release without differential privacy, say so explicitly with no_dp=True (--no-dp)",
    )


@dataclass(frozen=True)
class Spend:
    """One recorded use of the budget.

    Parameters
    ----------
    label
        What was released (e.g. ``"conditional:gross_runtime"``).
    epsilon
        Its cost.
    """

    label: str
    epsilon: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"label": self.label, "epsilon": self.epsilon}


@dataclass
class Accountant:
    """Sum the ε of every mechanism of one release and refuse to go over the total.

    Parameters
    ----------
    epsilon
        The total the user asked for; must be > 0.

    Examples
    --------
    >>> acc = Accountant(1.0)
    >>> acc.spend("counts", 0.25)
    0.25
    >>> acc.spend_rest("fit")
    0.75
    >>> acc.exhausted
    True
    """

    epsilon: float
    _ledger: list[Spend] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        self.epsilon = check_epsilon(self.epsilon)

    @property
    def ledger(self) -> tuple[Spend, ...]:
        """Every spend so far, in order."""
        return tuple(self._ledger)

    @property
    def spent(self) -> float:
        """Total ε spent so far (exactly summed)."""
        return math.fsum(s.epsilon for s in self._ledger)

    @property
    def remaining(self) -> float:
        """ε still available."""
        return max(self.epsilon - self.spent, 0.0)

    @property
    def exhausted(self) -> bool:
        """Whether the total spent equals the requested ε (up to rounding)."""
        return math.isclose(self.spent, self.epsilon, rel_tol=_REL_TOL, abs_tol=0.0)

    def spend(self, label: str, epsilon: float) -> float:
        """Record a spend of ``epsilon`` and return it.

        Raises
        ------
        PrivacyError
            If ``epsilon`` is not > 0.
        BudgetExceededError
            If the spend would take the release over its total; nothing is recorded.
        """
        e = check_epsilon(epsilon, what=f"epsilon of {label!r}")
        total = self.spent + e
        if total > self.epsilon * (1 + _REL_TOL):
            raise BudgetExceededError(
                f"spending {e:g} on {label!r} would take this release to {total:g} "
                f"> its budget {self.epsilon:g} (already spent {self.spent:g})"
            )
        self._ledger.append(Spend(str(label), e))
        return e

    def spend_rest(self, label: str) -> float:
        """Spend exactly what remains (so the release ends with spent == ε) and return it.

        Raises
        ------
        BudgetExceededError
            If nothing remains.
        """
        rest = self.epsilon - self.spent
        if not rest > self.epsilon * _REL_TOL:
            raise BudgetExceededError(f"no budget left for {label!r}")
        self._ledger.append(Spend(str(label), rest))
        return rest

    def check_exhausted(self) -> None:
        """Raise unless the total spent equals the requested ε.

        Raises
        ------
        PrivacyError
            If less (or more) than ε was recorded.
        """
        if not self.exhausted:
            raise PrivacyError(f"release spent {self.spent!r} but {self.epsilon!r} was requested")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: total, spent and the ledger."""
        return {
            "epsilon": self.epsilon,
            "spent": self.spent,
            "ledger": [s.to_dict() for s in self._ledger],
        }
