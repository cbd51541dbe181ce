"""The privacy ledger: budgets and releases, tied to job names and to the executions' data.

A release is charged to the job it was made from *and* to the data it used: the ledger
keeps the fingerprint (a hash of the canonical row) of every execution a release read.
A job's spend is the sum of the differentially private releases made under its name or
from any of the executions it holds now, so importing the same file as another job,
renaming, or deleting and re-importing does not reset it; the ledger has no foreign key
to the jobs table and survives :meth:`~jobcast.history.base.RepositoryBase.delete_job`.
Its budget is the smallest of the budgets of every job name those releases were made
under (a copy cannot raise it). A lowered budget is tied to the data too, by a marker
entry (method :data:`BUDGET_MARK`, never listed as a release) holding the job's
fingerprints: a copy imported before the change is held to it as well.

Every budget check runs inside the transaction that records the release, under a lock
(``BEGIN IMMEDIATE`` on SQLite; a ledger-wide advisory lock and the job's row lock on
PostgreSQL; waiting for it is logged), so concurrent releases never spend more than the
budget. A release commits its entry before writing any file; :meth:`settle_release`
then adds the digest, or turns it into a refusal (still charged).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from sqlalchemy import Text, insert, select, type_coerce, update
from sqlalchemy.orm import Session

from jobcast.errors import BudgetExceededError, DatabaseError, InputError, UnknownJobError
from jobcast.history.base import RepositoryBase
from jobcast.history.locks import hold_write_lock
from jobcast.history.records import Release, SourceKind
from jobcast.history.schema import (
    BudgetChangeRow,
    ExecutionRow,
    JobRow,
    LedgerEntryRow,
    LedgerFingerprintRow,
)
from jobcast.history.values import check_epsilon

if TYPE_CHECKING:
    from typing_extensions import Unpack

logger = logging.getLogger(__name__)

__all__ = [
    "PrivacyLedger",
    "DEFAULT_PRIVACY_BUDGET",
    "BudgetChange",
    "BudgetState",
    "ReleaseFields",
    "ReleaseLease",
    "BUDGET_MARK",
]

#: Total epsilon a job may release over its lifetime unless configured otherwise.
#: Chosen so that a few releases at epsilon = 1 fit, the range differential-privacy
#: deployments treat as strong protection.
DEFAULT_PRIVACY_BUDGET = 5.0


def _fingerprints() -> Any:
    # imported on first use: it loads pandas, which opening the history does not need
    from jobcast.history import fingerprints

    return fingerprints


def __getattr__(name: str) -> Any:
    if name in ("execution_fingerprint", "current_user"):
        return getattr(_fingerprints(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# one constant key: every release and budget change of a PostgreSQL history queues here,
# because a release may be charged to several jobs through shared data
_PG_LEDGER_LOCK = 0x6A6F6263  # "jobc"
_CHUNK = 2000
_TOLERANCE = 1e-12
#: The method of a budget change's marker entry (ties the change to the job's data).
BUDGET_MARK = "(budget change)"
# how long a release waits for another one's ledger lock on SQLite (it says so first)
_SQLITE_WAIT_MS = 600_000
_SQLITE_BUSY_MS = 30_000


class ReleaseFields(TypedDict):
    """The keyword arguments of :meth:`ReleaseLease.record`: what a ledger entry says."""

    epsilon: float | None
    method: str
    rows: int
    no_dp: NotRequired[bool]
    destination: NotRequired[str | None]
    digest: NotRequired[str | None]
    released_by: NotRequired[str | None]


@dataclass(frozen=True)
class BudgetChange:
    """One recorded change of a job's budget."""

    job: str
    changed_at: datetime
    changed_by: str | None
    from_epsilon: float
    to_epsilon: float


@dataclass(frozen=True)
class BudgetState:
    """What a job may still release: its budget and the releases charged to it."""

    job: str
    budget: float
    spent: float
    releases: tuple[Release, ...]

    @property
    def remaining(self) -> float:
        """Epsilon left (never negative)."""
        return max(self.budget - self.spent, 0.0)


def _release(e: LedgerEntryRow) -> Release:
    return Release(
        e.job_name, e.epsilon, e.method, e.rows, e.no_dp, e.created_at,
        destination=e.destination, released_by=e.released_by, digest=e.digest,
    )  # fmt: skip


_WAITING = (
    "another release or budget change (or, on SQLite, another write) holds the privacy "
    "ledger's lock; waiting for it to finish"
)


def _begin_immediate(raw: Any) -> None:
    """``BEGIN IMMEDIATE`` on a sqlite3 connection, saying so when it has to wait."""
    import sqlite3

    raw.execute("PRAGMA busy_timeout=200")
    try:
        raw.execute("BEGIN IMMEDIATE")
        return
    except sqlite3.OperationalError as e:
        if "locked" not in str(e) and "busy" not in str(e):
            raise
        logger.warning("%s (up to %d min)", _WAITING, _SQLITE_WAIT_MS // 60_000)
        raw.execute(f"PRAGMA busy_timeout={_SQLITE_WAIT_MS}")
        try:
            raw.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as again:
            raise DatabaseError(
                f"the privacy ledger stayed locked for {_SQLITE_WAIT_MS // 60_000} min by "
                "another release or write. Nothing was charged; run the command again"
            ) from again
    finally:
        raw.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS}")


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


class ReleaseLease:
    """A job's ledger, locked for one release: check, then record inside the lock.

    Obtained from :meth:`PrivacyLedger.release_lock`; valid until its block ends.
    """

    def __init__(self, session: Session, state: BudgetState, fingerprints: list[str]) -> None:
        self._session = session
        self.state = state
        self.fingerprints = fingerprints

    def check(self, epsilon: float | None, *, no_dp: bool = False) -> None:
        """Raise :class:`BudgetExceededError` if ``epsilon`` does not fit the budget.

        :class:`InputError` if it is no valid ε (:func:`jobcast.history.values.check_epsilon`).
        """
        if no_dp:
            return
        eps = check_epsilon(epsilon, what="the epsilon of a differentially private release")
        st = self.state
        if st.spent + eps > st.budget + _TOLERANCE:
            raise BudgetExceededError(
                f"job {st.job!r}: releasing epsilon={eps:g} would spend "
                f"{st.spent + eps:g} of its budget {st.budget:g} (already spent "
                f"{st.spent:g} in {len(st.releases)} release(s) of this job or of the same "
                "executions). Re-releasing is never free: share an existing package again, or "
                "raise the budget with `jobcast budget --job NAME --epsilon TOTAL "
                "--confirm-raise` if your policy allows."
            )

    def record(
        self,
        *,
        epsilon: float | None,
        method: str,
        rows: int,
        no_dp: bool = False,
        destination: str | None = None,
        digest: str | None = None,
        released_by: str | None = None,
    ) -> int:
        """Check the budget again and add the release (flushed, committed with the block).

        Returns the entry's id (for :meth:`PrivacyLedger.settle_release`).
        """
        self.check(epsilon, no_dp=no_dp)
        s = self._session
        entry = LedgerEntryRow(
            job_name=self.state.job,
            epsilon=None if no_dp else epsilon,
            no_dp=bool(no_dp),
            method=method,
            rows=int(rows),
            destination=destination,
            released_by=released_by or _fingerprints().current_user(),
            digest=digest,
        )
        s.add(entry)
        s.flush()
        if self.fingerprints:
            s.execute(
                insert(LedgerFingerprintRow),
                [{"entry_id": entry.id, "fingerprint": f} for f in self.fingerprints],
            )
        s.flush()
        return int(entry.id)


class PrivacyLedger(RepositoryBase):
    """The privacy budget and ledger of each job (see the module docstring)."""

    # ------------------------------------------------------------- locking
    def _lock(self, s: Session) -> None:
        # take the write lock now, before the first read, so the check below sees every
        # release committed before ours and none can commit until we do
        hold_write_lock(
            s.connection(),
            key=_PG_LEDGER_LOCK,
            table="jobs",
            column="name",
            begin=lambda conn: _begin_immediate(conn.connection.driver_connection),
            on_wait=lambda: logger.warning(_WAITING),
        )

    def _locked_job(self, s: Session, name: str) -> JobRow | None:
        query = select(JobRow).where(JobRow.name == name)
        if s.connection().dialect.name != "sqlite":
            # NO KEY UPDATE: collectors inserting executions (a key-share lock on the job)
            # are not held up while a release synthesizes
            query = query.with_for_update(key_share=True)
        return s.scalar(query)

    @contextmanager
    def release_lock(self, name: str) -> Iterator[ReleaseLease]:
        """Lock the ledger for a release of job ``name``; commit when the block ends.

        The lease holds the job's budget state, computed under the lock, and records
        the release in the same transaction; any error inside the block rolls it back.

        Raises
        ------
        UnknownJobError
            When there is no such job.
        """
        with self.transaction() as s:
            self._lock(s)
            row = self._locked_job(s, name)
            if row is None:
                self._job_row(s, name)  # raises with the list of known jobs
                raise UnknownJobError(f"unknown job {name!r}")
            fps = self._fingerprints(s, row.id)
            yield ReleaseLease(s, self._state(s, name, fps), fps)

    # ----------------------------------------------------------- the state
    @staticmethod
    def _fingerprints(s: Session, job_id: int) -> list[str]:
        # raw text where the driver allows: JSON and times parsed in bulk, not row by row
        rows = s.execute(
            select(
                ExecutionRow.scale_out,
                ExecutionRow.machine_type,
                ExecutionRow.gross_runtime,
                type_coerce(ExecutionRow.started_at, Text),
                type_coerce(ExecutionRow.finished_at, Text),
                type_coerce(ExecutionRow.attributes, Text),
            ).where(
                ExecutionRow.job_id == job_id,
                ExecutionRow.source != str(SourceKind.SHARE),
                ExecutionRow.gross_runtime.is_not(None),
            )
        ).all()
        if not rows:
            return []
        scale, mtype, runtime, started, finished, raw = zip(*rows, strict=True)
        if all(isinstance(a, str) for a in raw):
            attrs = json.loads("[" + ",".join(raw) + "]")
        else:
            attrs = [json.loads(a) if isinstance(a, str) else a for a in raw]
        fps = _fingerprints().frame_fingerprints(
            scale_out=scale,
            machine_type=mtype,
            gross_runtime=runtime,
            started_at=started,
            finished_at=finished,
            attributes=[a or {} for a in attrs],
        )
        return sorted(set(fps))

    @staticmethod
    def _own_budget(s: Session, name: str) -> float:
        last = s.scalar(
            select(BudgetChangeRow.to_epsilon)
            .where(BudgetChangeRow.job_name == name)
            .order_by(BudgetChangeRow.id.desc())
            .limit(1)
        )
        return float(last) if last is not None else DEFAULT_PRIVACY_BUDGET

    def _state(self, s: Session, name: str, fingerprints: Iterable[str]) -> BudgetState:
        ids = set(s.scalars(select(LedgerEntryRow.id).where(LedgerEntryRow.job_name == name)))
        for chunk in _chunks(list(fingerprints)):
            ids.update(
                s.scalars(
                    select(LedgerFingerprintRow.entry_id)
                    .where(LedgerFingerprintRow.fingerprint.in_(chunk))
                    .distinct()
                )
            )
        entries: list[LedgerEntryRow] = []
        for chunk_ids in (sorted(ids)[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)):
            entries.extend(
                s.scalars(select(LedgerEntryRow).where(LedgerEntryRow.id.in_(chunk_ids)))
            )
        entries.sort(key=lambda e: e.id)
        # budget marks tie a budget change to the data (see the module docstring)
        names = {name} | {e.job_name for e in entries}
        entries = [e for e in entries if e.method != BUDGET_MARK]
        spent = math.fsum(e.epsilon for e in entries if not e.no_dp and e.epsilon is not None)
        budget = min(self._own_budget(s, n) for n in names)
        return BudgetState(name, budget, spent, tuple(_release(e) for e in entries))

    def _state_of(self, s: Session, name: str) -> BudgetState:
        row = s.scalar(select(JobRow).where(JobRow.name == name))
        if row is None:
            known = s.scalar(
                select(LedgerEntryRow.id).where(LedgerEntryRow.job_name == name).limit(1)
            )
            if known is None:
                self._job_row(s, name)  # raises with the list of known jobs
            return self._state(s, name, [])
        if s.scalar(select(LedgerFingerprintRow.entry_id).limit(1)) is None:
            return self._state(s, name, [])  # no release recorded data yet: nothing to match
        return self._state(s, name, self._fingerprints(s, row.id))

    # ------------------------------------------------------------- reading
    def budget_state(self, name: str) -> BudgetState:
        """Budget, spend and releases of job ``name`` (also of a deleted job's ledger).

        Raises
        ------
        UnknownJobError
            When neither a job nor a ledger entry has that name.
        """
        with self.transaction() as s:
            return self._state_of(s, name)

    def privacy_budget(self, name: str) -> float:
        """The total epsilon job ``name`` may release."""
        return self.budget_state(name).budget

    def releases(self, name: str) -> list[Release]:
        """The releases charged to job ``name`` (by name or by data), oldest first."""
        return list(self.budget_state(name).releases)

    def spent_epsilon(self, name: str) -> float:
        """Epsilon spent by the differentially private releases charged to job ``name``."""
        return self.budget_state(name).spent

    def budget_changes(self, name: str) -> list[BudgetChange]:
        """Every recorded change of job ``name``'s budget, oldest first."""
        q = select(BudgetChangeRow).where(BudgetChangeRow.job_name == name)
        with self.transaction() as s:
            return [
                BudgetChange(name, c.changed_at, c.changed_by, c.from_epsilon, c.to_epsilon)
                for c in s.scalars(q.order_by(BudgetChangeRow.id))
            ]

    def check_budget(self, name: str, epsilon: float) -> None:
        """Raise :class:`BudgetExceededError` if ``epsilon`` would exceed the budget.

        An early answer: only the check under the lock of the release itself decides.
        """
        with self.release_lock(name) as lease:
            lease.check(epsilon)

    # ------------------------------------------------------------- writing
    def set_privacy_budget(
        self,
        name: str,
        epsilon: float,
        *,
        confirm_raise: bool = False,
        changed_by: str | None = None,
    ) -> BudgetChange:
        """Set the total epsilon job ``name`` may release, and record the change.

        Parameters
        ----------
        name
            The job.
        epsilon
            The new lifetime budget (finite, > 0).
        confirm_raise
            Required to raise the budget: a raise allows more to be learnt about the
            same executions and is a policy decision.
        changed_by
            Who changes it (default: the OS user).

        Raises
        ------
        InputError
            On a bad value, a budget below what was already spent, or a raise without
            ``confirm_raise``.
        """
        new = check_epsilon(epsilon, what="a privacy budget")
        with self.release_lock(name) as lease:
            s = lease._session
            st = lease.state
            old = self._own_budget(s, name)
            if new < st.spent - _TOLERANCE:
                raise InputError(
                    f"job {name!r} has already spent epsilon {st.spent:g} in "
                    f"{len(st.releases)} release(s); its budget cannot be set below that "
                    f"(asked {new:g}). Releases cannot be taken back; set {st.spent:g} or more."
                )
            if new > old + _TOLERANCE and not confirm_raise:
                raise InputError(
                    f"raising job {name!r}'s budget from {old:g} to {new:g} lets more be "
                    "learnt about the same executions; confirm it with --confirm-raise "
                    "(the change is recorded with your user name)"
                )
            change = BudgetChange(
                name, datetime.now(UTC), changed_by or _fingerprints().current_user(), old, new
            )
            if new != old:
                s.add(
                    BudgetChangeRow(
                        job_name=name,
                        changed_at=change.changed_at,
                        changed_by=change.changed_by,
                        from_epsilon=old,
                        to_epsilon=new,
                    )
                )
                logger.info("budget of job %r changed from %g to %g", name, old, new)
            if new < old and lease.fingerprints:
                # a copy imported before (or after) this change is held to it too
                lease.record(epsilon=None, method=BUDGET_MARK, rows=0, no_dp=True)
            return change

    def settle_release(self, entry_id: int, digest: str | None) -> None:
        """Finish ledger entry ``entry_id`` once its files are written, or void them.

        With the written package's ``digest``, the entry records it; with ``None`` (the
        package was not written, did not verify or was interrupted after the mechanism
        ran and its ε was committed) it becomes a refusal: 0 rows, nothing written,
        still charged.
        """
        done = {"digest": digest} if digest else {"rows": 0, "destination": None, "digest": None}
        with self.transaction() as s:
            s.execute(update(LedgerEntryRow).where(LedgerEntryRow.id == entry_id).values(**done))

    def record_release(self, name: str, **release: Unpack[ReleaseFields]) -> None:
        """Add a release to the ledger, refusing it if it would exceed the budget.

        The check and the insert run in one locked transaction; ``release`` takes the
        keyword arguments of :meth:`ReleaseLease.record`.
        """
        with self.release_lock(name) as lease:
            lease.record(**release)
