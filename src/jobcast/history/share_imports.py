"""Imported shares: which job holds a share's rows, and claims that keep two imports apart."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from jobcast.errors import InputError
from jobcast.history.ledger import PrivacyLedger
from jobcast.history.records import SourceKind
from jobcast.history.schema import ImportRow, JobRow, LedgerEntryRow, ShareImportRow

__all__ = ["ShareImports"]

logger = logging.getLogger(__name__)

#: A claim older than this is left over from a killed import.
_CLAIM_TIMEOUT = timedelta(minutes=10)


class ShareImports(PrivacyLedger):
    """Shares imported into this history (claims take the ledger's lock)."""

    @staticmethod
    def _share_holder(s: Session, digest: str) -> str | None:
        return s.scalar(
            select(JobRow.name)
            .join(ImportRow, ImportRow.job_id == JobRow.id)
            .where(ImportRow.source == str(SourceKind.SHARE), ImportRow.origin.contains(digest))
            .limit(1)
        )

    def share_imported_into(self, digest: str) -> str | None:
        """The job holding the rows of share ``digest``, or ``None`` if not imported."""
        with self.transaction() as s:
            return self._share_holder(s, digest)

    def share_released_from(self, digest: str) -> str | None:
        """The job of this history that released share ``digest``, or ``None``."""
        with self.transaction() as s:
            return s.scalar(
                select(LedgerEntryRow.job_name).where(LedgerEntryRow.digest == digest).limit(1)
            )

    def claim_share_import(
        self, digest: str, *, job: str, origin: str, take_over: bool = False
    ) -> None:
        """Claim share ``digest`` for an import, refusing one this history already holds.

        The import records the digest in its origin; the claim only keeps two imports of
        one package from racing and is dropped (:meth:`drop_share_claim`) when the import
        ends. A claim older than ten minutes is left over from a killed process;
        ``take_over`` takes a younger one over at once (when no import is running).

        Raises
        ------
        InputError
            When the share was imported before (naming the job holding it), or is
            being imported right now (saying when that claim expires).
        """
        refused = self.try_claim_share_import(digest, job=job, origin=origin, take_over=take_over)
        if refused is not None:
            raise InputError(f"{refused[1]}. Nothing was written.")

    def try_claim_share_import(
        self, digest: str, *, job: str, origin: str, take_over: bool = False
    ) -> tuple[str, str] | None:
        """Claim share ``digest``; or why not: ``("imported", message)`` or ``("importing", ...)``.

        See :meth:`claim_share_import`.
        """
        with self.transaction() as s:
            self._lock(s)
            held = self._share_holder(s, digest)
            if held is not None:
                return "imported", (
                    f"this share (sha256 {digest[:16]}...) was already imported into job "
                    f"{held!r}; importing it again would count its rows twice"
                )
            old = s.scalar(select(ShareImportRow).where(ShareImportRow.digest == digest))
            if old is not None:
                claimed = old.imported_at
                claimed = claimed if claimed.tzinfo else claimed.replace(tzinfo=UTC)
                expires = claimed + _CLAIM_TIMEOUT
                if datetime.now(UTC) < expires and not take_over:
                    return "importing", (
                        f"this share (sha256 {digest[:16]}...) is claimed by an import into "
                        f"{old.job_name!r} since {claimed:%Y-%m-%d %H:%M:%S} UTC: another "
                        "process is importing it (importing it twice would count its rows "
                        "twice), or an interrupted import left the claim behind. It expires "
                        f"at {expires:%H:%M:%S} UTC; if no import of it is running, pass "
                        "--take-over to take it over now"
                    )
                if take_over:
                    logger.warning(
                        "taking over the claim of share %s... (import into %r since %s)",
                        digest[:16],
                        old.job_name,
                        f"{claimed:%Y-%m-%d %H:%M:%S} UTC",
                    )
                s.delete(old)
                s.flush()
            s.add(ShareImportRow(digest=digest, job_name=job, origin=origin))
            return None

    def drop_share_claim(self, digest: str) -> None:
        """Remove the claim of share ``digest`` (its import failed)."""
        with self.transaction() as s:
            s.execute(delete(ShareImportRow).where(ShareImportRow.digest == digest))
