"""Imported shares: which job holds a share's rows, and claims that keep two imports apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from jobcast.errors import InputError
from jobcast.history.ledger import PrivacyLedger
from jobcast.history.records import SourceKind
from jobcast.history.schema import ImportRow, JobRow, LedgerEntryRow, ShareImportRow

__all__ = ["ShareImports"]

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

    def claim_share_import(self, digest: str, *, job: str, origin: str) -> None:
        """Claim share ``digest`` for an import, refusing one this history already holds.

        The import records the digest in its origin; the claim only keeps two imports of
        one package from racing and is dropped (:meth:`drop_share_claim`) when the import
        ends. A claim older than ten minutes is left over from a killed process.

        Raises
        ------
        InputError
            When the share was imported before (naming the job holding it), or is
            being imported right now.
        """
        with self.transaction() as s:
            self._lock(s)
            held = self._share_holder(s, digest)
            if held is not None:
                raise InputError(
                    f"this share (sha256 {digest[:16]}...) was already imported into job "
                    f"{held!r}; importing it again would count its rows twice. "
                    "Nothing was written."
                )
            old = s.scalar(select(ShareImportRow).where(ShareImportRow.digest == digest))
            if old is not None:
                claimed = old.imported_at
                claimed = claimed if claimed.tzinfo else claimed.replace(tzinfo=UTC)
                if datetime.now(UTC) - claimed < _CLAIM_TIMEOUT:
                    raise InputError(
                        f"this share (sha256 {digest[:16]}...) is being imported right now "
                        f"(into {old.job_name!r}); importing it twice would count its rows "
                        "twice. Nothing was written."
                    )
                s.delete(old)
                s.flush()
            s.add(ShareImportRow(digest=digest, job_name=job, origin=origin))

    def drop_share_claim(self, digest: str) -> None:
        """Remove the claim of share ``digest`` (its import failed)."""
        with self.transaction() as s:
            s.execute(delete(ShareImportRow).where(ShareImportRow.digest == digest))
