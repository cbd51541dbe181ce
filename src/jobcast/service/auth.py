"""Bearer-token checks of the service as FastAPI dependencies: 401 without, 403 wrong scope."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from jobcast.history.tokens import TokenInfo, TokenStore

__all__ = ["Authenticator", "SERVICE_ADMIN", "COOKIE"]

#: Cookie holding the dashboard's token (set by the page ``/login``).
COOKIE = "jobcast_token"

#: Who every request is when the service runs without tokens (``require_tokens=False``).
SERVICE_ADMIN = TokenInfo(
    id=0,
    scope="admin",
    organization=None,
    create_jobs=True,
    note="tokens not required",
    created_at=datetime(1970, 1, 1, tzinfo=UTC),
    revoked_at=None,
)

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="jobcast"'}


class Authenticator:
    """Builds the dependencies that guard the routes.

    Parameters
    ----------
    store
        Where tokens are looked up (by the SHA-256 of the presented text).
    anonymous_read
        Whether requests without a token may use ``read`` routes.
    require_tokens
        False: every request is :data:`SERVICE_ADMIN` (behind an authenticating proxy).
    """

    def __init__(
        self,
        store: TokenStore,
        *,
        anonymous_read: bool,
        require_tokens: bool,
        cache_s: float = 2.0,
    ) -> None:
        self.store = store
        self.anonymous_read = anonymous_read
        self.require_tokens = require_tokens
        self.cache_s = cache_s
        self._known: dict[str, tuple[TokenInfo, float]] = {}
        # one lookup per token at a time; requests presenting it meanwhile await it
        self._lookups: dict[str, asyncio.Task[TokenInfo | None]] = {}

    def _lookup(self, secret: str) -> asyncio.Task[TokenInfo | None]:
        task = self._lookups.get(secret)
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            task = asyncio.ensure_future(self._fetch(secret))
            # a background lookup's failure is the next request's to report
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
            self._lookups[secret] = task
        return task

    async def _fetch(self, secret: str) -> TokenInfo | None:
        try:
            started = time.monotonic()
            info = await run_in_threadpool(self.store.authenticate, secret)
            if info is not None:
                if len(self._known) > 10_000:
                    self._known.clear()
                self._known[secret] = (info, started)
            else:
                self._known.pop(secret, None)
            return info
        finally:
            if self._lookups.get(secret) is asyncio.current_task():
                del self._lookups[secret]

    async def identify(self, request: Request) -> TokenInfo | None:
        """The token a request presents; None without one.

        A valid token is looked up again after ``cache_s`` seconds at most: a revocation
        takes effect within that time, and requests do not each query the database. A
        token in use is looked up again in the background after half that time, so its
        requests do not wait for the database; concurrent requests share one lookup.

        Raises
        ------
        HTTPException
            401 for a malformed header or an unknown or revoked token.
        """
        if not self.require_tokens:
            return SERVICE_ADMIN
        header = request.headers.get("authorization")
        if header is None:
            # the dashboard's pages and their reads carry the token in a cookie; never
            # accepted for writes, so a page cannot be made to post on a user's behalf
            cookie = request.cookies.get(COOKIE)
            if cookie and request.method in ("GET", "HEAD"):
                header = f"Bearer {cookie}"
            else:
                return None
        kind, _, secret = header.partition(" ")
        if kind.lower() != "bearer" or not secret.strip():
            raise HTTPException(
                401, "the Authorization header must be 'Bearer TOKEN'", headers=_CHALLENGE
            )
        info = await self.authenticate(secret.strip())
        if info is None:
            raise HTTPException(
                401,
                "unknown or revoked token; create one with `jobcast token create`",
                headers=_CHALLENGE,
            )
        return info

    async def authenticate(self, secret: str) -> TokenInfo | None:
        """The valid token whose text is ``secret``; None for an unknown or revoked one.

        Looked up as :meth:`identify` does (cached for ``cache_s`` seconds at most).
        """
        hit = self._known.get(secret)
        age = None if hit is None else time.monotonic() - hit[1]
        if hit is not None and age is not None and age <= self.cache_s:
            if age > self.cache_s / 2:
                # looked up again in the background: a token in use never waits for it
                self._lookup(secret)
            return hit[0]
        return await asyncio.shield(self._lookup(secret))

    def admit(
        self,
        info: TokenInfo | None,
        scope: str,
        *,
        anonymous: bool = True,
        organizations: bool = False,
    ) -> None:
        """Refuse ``info`` (None: no token) where it may not act with ``scope``.

        Raises
        ------
        HTTPException
            401 without a token (unless an anonymous read is allowed), 403 for a token
            of a lower scope, or of an organization where ``organizations`` is False.
        """
        if info is None:
            if scope == "read" and anonymous and self.anonymous_read:
                return
            raise HTTPException(
                401,
                f"this needs a bearer token with scope {scope!r} "
                "(Authorization: Bearer TOKEN; `jobcast token create`)",
                headers=_CHALLENGE,
            )
        if not info.allows(scope):
            raise HTTPException(
                403, f"token {info.id} has scope {info.scope!r}; this needs {scope!r}"
            )
        if info.organization is not None and not organizations:
            raise HTTPException(
                403,
                f"token {info.id} belongs to organization {info.organization!r}: it may "
                "use the sharing hub (/api/v1/hub) only, not this service's own history",
            )

    def require(
        self, scope: str, *, anonymous: bool = True, organizations: bool = False
    ) -> Callable[[Request], Awaitable[TokenInfo | None]]:
        """A dependency admitting requests whose token has ``scope`` (or a higher one).

        For ``read`` with ``anonymous_read`` (and ``anonymous`` left True) a request without
        a token is admitted and the dependency returns None. Tokens of an organization
        are admitted only where ``organizations`` is True (the hub): they never read or
        write the service team's own history.
        """

        async def dependency(request: Request) -> TokenInfo | None:
            info = await self.identify(request)
            self.admit(info, scope, anonymous=anonymous, organizations=organizations)
            if info is not None:
                request.state.token = info
            return info

        dependency.__name__ = f"require_{scope}"
        return dependency
