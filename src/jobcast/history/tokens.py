"""Bearer tokens and organizations of the service: created, listed, revoked, checked.

A token is ``jc_`` followed by 43 URL-safe characters (256 random bits); only the SHA-256
of it is stored, so a leaked database does not leak usable tokens. Scopes are ordered:
``read`` < ``collect`` < ``admin``; a token satisfies every scope up to its own.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobcast.errors import InputError
from jobcast.history.base import RepositoryBase
from jobcast.history.schema import OrganizationRow, TokenRow

__all__ = [
    "Scope",
    "SCOPES",
    "TOKEN_PREFIX",
    "TokenInfo",
    "IssuedToken",
    "TokenStore",
    "digest",
    "scope_allows",
]

Scope = Literal["read", "collect", "admin"]
SCOPES: tuple[str, ...] = get_args(Scope)
TOKEN_PREFIX = "jc_"


def digest(secret: str) -> str:
    """The stored form of a token: the hex SHA-256 of its text."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def scope_allows(have: str, need: str) -> bool:
    """Whether a token of scope ``have`` may do what needs scope ``need``."""
    return SCOPES.index(have) >= SCOPES.index(need)


def _aware(t: datetime) -> datetime:
    # SQLite keeps the wall time only; every stored time is UTC
    return t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)


def _check_scope(scope: str) -> None:
    if scope not in SCOPES:
        raise InputError(f"unknown token scope {scope!r}; use one of {', '.join(SCOPES)}")


@dataclass(frozen=True)
class TokenInfo:
    """What is known about a token (never its secret).

    Attributes
    ----------
    id
        The token's number (``jobcast token revoke ID``).
    scope
        ``read``, ``collect`` or ``admin``.
    organization
        The organization it acts for, or None (the service's own team).
    create_jobs
        Whether collector submissions with it may create jobs that do not exist yet.
    note
        Free text given at creation.
    created_at, revoked_at
        When it was created and revoked (None while valid).
    """

    id: int
    scope: str
    organization: str | None
    create_jobs: bool
    note: str | None
    created_at: datetime
    revoked_at: datetime | None

    def __post_init__(self) -> None:
        _check_scope(self.scope)

    @property
    def active(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None

    def allows(self, need: str) -> bool:
        """Whether this token may act with scope ``need``."""
        return self.active and scope_allows(self.scope, need)


@dataclass(frozen=True)
class IssuedToken:
    """A freshly created token: the only time its secret is known."""

    token: str
    info: TokenInfo


class TokenStore:
    """Tokens and organizations in the history database.

    Parameters
    ----------
    repo
        The history (any :class:`~jobcast.history.HistoryRepository`): its tables and
        transactions are used.

    Examples
    --------
    >>> store = TokenStore(repo)  # doctest: +SKIP
    >>> issued = store.create("collect", organization="acme")  # doctest: +SKIP
    >>> store.authenticate(issued.token).scope  # doctest: +SKIP
    'collect'
    """

    def __init__(self, repo: RepositoryBase) -> None:
        self.repo = repo

    @staticmethod
    def _info(row: TokenRow, org: str | None) -> TokenInfo:
        return TokenInfo(
            id=row.id,
            scope=row.scope,
            organization=org,
            create_jobs=bool(row.create_jobs),
            note=row.note,
            created_at=_aware(row.created_at),
            revoked_at=None if row.revoked_at is None else _aware(row.revoked_at),
        )

    @staticmethod
    def _org(s: Session, name: str, *, create: bool) -> OrganizationRow:
        row = s.scalar(select(OrganizationRow).where(OrganizationRow.name == name))
        if row is None:
            if not create:
                raise InputError(f"unknown organization {name!r}; create a token with --org first")
            row = OrganizationRow(name=name)
            s.add(row)
            s.flush()
        return row

    def organization_id(self, name: str) -> int:
        """The id of organization ``name`` (created when new)."""
        with self.repo.transaction() as s:
            return self._org(s, name, create=True).id

    def organizations(self) -> list[str]:
        """Names of every organization."""
        with self.repo.transaction() as s:
            return list(s.scalars(select(OrganizationRow.name).order_by(OrganizationRow.name)))

    def create(
        self,
        scope: str,
        *,
        organization: str | None = None,
        create_jobs: bool | None = None,
        note: str | None = None,
    ) -> IssuedToken:
        """Create a token; its secret is returned once and stored only hashed.

        Parameters
        ----------
        scope
            ``read``, ``collect`` or ``admin``.
        organization
            Organization it acts for (created when new); None for the service's own team.
        create_jobs
            Whether collector submissions may create new jobs; default: only ``admin``.
        note
            Free text shown by ``token list``.

        Raises
        ------
        InputError
            For an unknown scope or an empty organization name.
        """
        _check_scope(scope)
        if organization is not None and not organization.strip():
            raise InputError("--org needs a non-empty organization name")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        allowed = scope == "admin" if create_jobs is None else bool(create_jobs)
        with self.repo.transaction() as s:
            org_id = None if organization is None else self._org(s, organization, create=True).id
            row = TokenRow(
                digest=digest(secret),
                scope=scope,
                org_id=org_id,
                create_jobs=allowed,
                note=note,
                created_at=datetime.now(UTC),
            )
            s.add(row)
            s.flush()
            return IssuedToken(secret, self._info(row, organization))

    def list(self, *, include_revoked: bool = True) -> list[TokenInfo]:
        """Every token, oldest first."""
        q = select(TokenRow, OrganizationRow.name).outerjoin(
            OrganizationRow, TokenRow.org_id == OrganizationRow.id
        )
        if not include_revoked:
            q = q.where(TokenRow.revoked_at.is_(None))
        with self.repo.transaction() as s:
            return [self._info(row, org) for row, org in s.execute(q.order_by(TokenRow.id))]

    def revoke(self, token_id: int) -> TokenInfo:
        """Revoke token ``token_id`` (idempotent).

        Raises
        ------
        InputError
            When no token has that id.
        """
        with self.repo.transaction() as s:
            row = s.get(TokenRow, token_id)
            if row is None:
                raise InputError(f"no token has id {token_id}; see `jobcast token list`")
            if row.revoked_at is None:
                row.revoked_at = datetime.now(UTC)
            org = None if row.org_id is None else s.get(OrganizationRow, row.org_id)
            return self._info(row, None if org is None else org.name)

    def authenticate(self, secret: str) -> TokenInfo | None:
        """The valid token whose text is ``secret``, or None (unknown or revoked)."""
        if not secret.startswith(TOKEN_PREFIX):
            return None
        q = (
            select(TokenRow, OrganizationRow.name)
            .outerjoin(OrganizationRow, TokenRow.org_id == OrganizationRow.id)
            .where(TokenRow.digest == digest(secret))
        )
        with self.repo.transaction() as s:
            found = s.execute(q).first()
        if found is None or found[0].revoked_at is not None:
            return None
        return self._info(found[0], found[1])
