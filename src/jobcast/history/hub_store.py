"""The sharing hub's stored share packages: each published once, listed and read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from jobcast.errors import ConflictError
from jobcast.history.base import RepositoryBase
from jobcast.history.locks import hold_write_lock
from jobcast.history.schema import HubShareRow, OrganizationRow

__all__ = ["HubShare", "store_hub_share", "hub_shares", "hub_share"]

# publications of a PostgreSQL hub queue here (any fixed number; the ledger's is "jobc")
_PG_HUB_LOCK = 0x6A687562  # "jhub"


@dataclass(frozen=True)
class HubShare:
    """A share package stored in the hub, with the name of the organization that published it.

    Attributes
    ----------
    id
        The share's number in the hub.
    organization
        The publishing organization's name.
    job, epsilon, rows
        The package's job, ε and row count.
    manifest
        The package's manifest as published.
    rows_csv
        The package's rows as published.
    published_at
        When it was stored.
    """

    id: int
    organization: str
    job: str
    epsilon: float
    rows: int
    manifest: dict[str, Any]
    rows_csv: str
    published_at: datetime


def _share(row: HubShareRow, org: str) -> HubShare:
    return HubShare(
        id=row.id,
        organization=org,
        job=row.job,
        epsilon=row.epsilon,
        rows=row.rows,
        manifest=row.manifest,
        rows_csv=row.rows_csv,
        published_at=row.published_at,
    )


def store_hub_share(
    repo: RepositoryBase,
    *,
    org_id: int,
    organization: str,
    job: str,
    epsilon: float,
    rows: int,
    manifest: dict[str, Any],
    rows_csv: str,
) -> tuple[HubShare, bool]:
    """Store a package in the hub for organization ``org_id``, unless it is stored already.

    Publications take the hub's lock in turn, so one package is stored once. A package
    of ``job`` with the same ``manifest_sha256`` (which seals the rows too) as a stored
    one is the same package: the stored one is returned.

    Parameters
    ----------
    repo
        The hub's history.
    org_id, organization
        The publishing organization's id and name.
    job, epsilon, rows, manifest, rows_csv
        The package, validated by the caller.

    Returns
    -------
    tuple of (HubShare, bool)
        The stored share, and whether it was stored before (``already_published``).

    Raises
    ------
    ConflictError
        When another organization published this very package.
    """
    digest = manifest.get("manifest_sha256")
    with repo.transaction() as s:
        hold_write_lock(s.connection(), key=_PG_HUB_LOCK, table="hub_shares")
        same_job = s.execute(  # manifests only: the rows stay in the database
            select(HubShareRow.id, HubShareRow.org_id, HubShareRow.manifest)
            .where(HubShareRow.job == job)
            .order_by(HubShareRow.id)
        )
        for old_id, old_org, old_manifest in same_job:
            if old_manifest.get("manifest_sha256") != digest:
                continue
            if old_org != org_id:
                raise ConflictError(
                    f"this package (sha256 {str(digest)[:16]}...) was published by another "
                    f"organization as share {old_id}; an organization publishes its own shares"
                )
            return _share(s.get_one(HubShareRow, old_id), organization), True
        row = HubShareRow(
            org_id=org_id,
            job=job,
            epsilon=epsilon,
            rows=rows,
            manifest=manifest,
            rows_csv=rows_csv,
        )
        s.add(row)
        s.flush()
        return _share(row, organization), False


def hub_shares(repo: RepositoryBase, *, job: str | None = None) -> list[HubShare]:
    """The shares in the hub (of ``job`` when given), newest first."""
    q = select(HubShareRow, OrganizationRow.name).join(
        OrganizationRow, OrganizationRow.id == HubShareRow.org_id
    )
    if job is not None:
        q = q.where(HubShareRow.job == job)
    with repo.transaction() as s:
        return [_share(r, org) for r, org in s.execute(q.order_by(HubShareRow.id.desc()))]


def hub_share(repo: RepositoryBase, share_id: int) -> HubShare | None:
    """The share ``share_id`` of the hub, or None when the hub has none of that number."""
    with repo.transaction() as s:
        found = s.execute(
            select(HubShareRow, OrganizationRow.name)
            .join(OrganizationRow, OrganizationRow.id == HubShareRow.org_id)
            .where(HubShareRow.id == share_id)
        ).first()
        return None if found is None else _share(*found)
