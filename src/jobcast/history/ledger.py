"""The privacy ledger: each job's budget and every release, checked in one transaction."""

from __future__ import annotations

import logging
import math

from sqlalchemy import func, select

from jobcast.errors import (
    BudgetExceededError,
    InputError,
)
from jobcast.history.base import RepositoryBase
from jobcast.history.records import (
    Release,
)
from jobcast.history.schema import (
    ReleaseRow,
)

logger = logging.getLogger(__name__)

__all__ = ["PrivacyLedger", "DEFAULT_PRIVACY_BUDGET"]

#: Total epsilon a job may release over its lifetime unless configured otherwise.
#: Chosen so that a few releases at epsilon = 1 fit, the range differential-privacy
#: deployments treat as strong protection.
DEFAULT_PRIVACY_BUDGET = 5.0


class PrivacyLedger(RepositoryBase):
    """The privacy budget and ledger of each job."""

    def set_privacy_budget(self, name: str, epsilon: float) -> None:
        """Set the total epsilon job ``name`` may release over its lifetime."""
        if not (isinstance(epsilon, int | float) and math.isfinite(epsilon) and epsilon > 0):
            raise InputError(f"a privacy budget must be a finite number > 0, got {epsilon!r}")
        with self.transaction() as s:
            self._job_row(s, name).privacy_budget = float(epsilon)

    # -------------------------------------------------------- privacy ledger
    def privacy_budget(self, name: str) -> float:
        """The total epsilon job ``name`` may release."""
        with self.transaction() as s:
            row = self._job_row(s, name)
            return row.privacy_budget if row.privacy_budget is not None else DEFAULT_PRIVACY_BUDGET

    def releases(self, name: str) -> list[Release]:
        """The job's privacy ledger, oldest first."""
        with self.transaction() as s:
            row = self._job_row(s, name)
            return [
                Release(
                    job=name,
                    epsilon=r.epsilon,
                    method=r.method,
                    rows=r.rows,
                    no_dp=r.no_dp,
                    created_at=r.created_at,
                    destination=r.destination,
                )
                for r in s.scalars(
                    select(ReleaseRow).where(ReleaseRow.job_id == row.id).order_by(ReleaseRow.id)
                )
            ]

    def spent_epsilon(self, name: str) -> float:
        """Epsilon spent by the job's differentially private releases so far."""
        return float(sum(r.epsilon or 0.0 for r in self.releases(name) if not r.no_dp))

    def check_budget(self, name: str, epsilon: float) -> None:
        """Raise :class:`BudgetExceededError` if releasing ``epsilon`` would exceed the budget."""
        budget = self.privacy_budget(name)
        spent = self.spent_epsilon(name)
        if spent + epsilon > budget + 1e-12:
            raise BudgetExceededError(
                f"job {name!r}: releasing epsilon={epsilon:g} would spend {spent + epsilon:g} "
                f"of its budget {budget:g} (already spent {spent:g} in "
                f"{len(self.releases(name))} release(s)). Re-releasing is never free: share an "
                "existing package again, or raise the budget with "
                "`jobcast budget --job NAME --epsilon TOTAL` if your policy allows."
            )

    def record_release(
        self,
        name: str,
        *,
        epsilon: float | None,
        method: str,
        rows: int,
        no_dp: bool = False,
        destination: str | None = None,
    ) -> None:
        """Add a release to the ledger, refusing it if it would exceed the budget.

        The check and the insert run in one transaction.
        """
        if not no_dp and (epsilon is None or not epsilon > 0):
            raise InputError(f"a differentially private release needs epsilon > 0, got {epsilon}")
        with self.transaction() as s:
            row = self._job_row(s, name)
            if not no_dp and epsilon is not None:
                budget = (
                    row.privacy_budget if row.privacy_budget is not None else DEFAULT_PRIVACY_BUDGET
                )
                spent = (
                    s.scalar(
                        select(func.coalesce(func.sum(ReleaseRow.epsilon), 0.0)).where(
                            ReleaseRow.job_id == row.id, ReleaseRow.no_dp.is_(False)
                        )
                    )
                    or 0.0
                )
                if spent + epsilon > budget + 1e-12:
                    raise BudgetExceededError(
                        f"job {name!r}: releasing epsilon={epsilon:g} would spend "
                        f"{spent + epsilon:g} of its budget {budget:g} (already spent {spent:g}). "
                        "Re-releasing is never free; raise the budget with "
                        "`jobcast budget --job NAME --epsilon TOTAL` if your policy allows."
                    )
            s.add(
                ReleaseRow(
                    job_id=row.id,
                    epsilon=None if no_dp else epsilon,
                    no_dp=no_dp,
                    method=method,
                    rows=int(rows),
                    destination=destination,
                )
            )
