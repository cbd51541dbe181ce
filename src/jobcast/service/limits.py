"""Bounds on what one request may cost: the body's size, and what an error echoes back.

The collector's routes read at most :data:`jobcast.collect.protocol.MAX_BODY_BYTES`
themselves. Every other request with a body (predictions, configurations, a hub
publication) is refused with 413 beyond :data:`MAX_API_BODY_BYTES`, before anything
parses it; and a 422 names the fields that are wrong without echoing their values (an
invalid 60 MB field came back as a 60 MB answer).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobcast.collect.protocol import COLLECTOR_PREFIX

__all__ = ["MAX_API_BODY_BYTES", "BodyLimit", "validation_error"]

#: The largest body of a request outside the collector: a hub publication of the
#: largest ``rows.csv`` a hub takes (20,000,000 characters) with room for its manifest.
MAX_API_BODY_BYTES = 32 * 1024 * 1024

#: The longest text of an error's context kept in a 422 (values are never echoed).
_CONTEXT_CHARS = 200


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse(
        status_code=413,
        content={
            "detail": f"request body larger than {limit:,} bytes; send a smaller request "
            "(fewer rows or scale-outs, a share of fewer rows)"
        },
    )


class BodyLimit:
    """ASGI middleware: 413 for a body beyond ``limit`` bytes (the collector's excepted).

    A declared ``Content-Length`` is checked at once; a body without one (chunked) is
    read up to the limit before the application sees it.
    """

    def __init__(self, app: ASGIApp, *, limit: int = MAX_API_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 413 for a body beyond the limit, else pass the request on."""
        if (
            scope["type"] != "http"
            or scope["method"] in ("GET", "HEAD", "OPTIONS")
            or str(scope["path"]).startswith(COLLECTOR_PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > self.limit:
                await _too_large(self.limit)(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                await _too_large(self.limit)(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """422 naming each wrong field and why, without the values sent (they can be huge)."""
    errors: list[dict[str, Any]] = []
    for e in exc.errors() if isinstance(exc, RequestValidationError) else []:
        item = {k: v for k, v in e.items() if k not in ("input", "ctx", "url")}
        ctx = e.get("ctx")
        if isinstance(ctx, dict):
            item["ctx"] = {k: str(v)[:_CONTEXT_CHARS] for k, v in ctx.items()}
        if e.get("type") == "json_invalid":
            item["msg"] = (
                f"{e.get('msg', 'JSON decode error')}: the body is no valid JSON "
                "(send it with Content-Type: application/json)"
            )
        errors.append(item)
    return JSONResponse(status_code=422, content={"detail": errors})
