"""Who may see the dashboard: the token form (``/login``), logging out, and refusals as pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from jobcast.service.auth import COOKIE, Authenticator

__all__ = ["PAGE_SCOPE", "access_router", "page_guard"]

#: The scope every page needs (the pages only read).
PAGE_SCOPE = "read"
_MAX_FORM = 16 * 1024
_CREATE = "create one with `jobcast token create --scope read`"


def _local(target: str | None) -> str:
    """``target`` when it is a path of this service, else ``/`` (no redirect elsewhere)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def _form(
    templates: Jinja2Templates,
    request: Request,
    *,
    status: int = 200,
    problem: str | None = None,
    notice: str | None = None,
    target: str = "/",
    headers: dict[str, str] | None = None,
    kept: bool | None = None,
) -> HTMLResponse:
    context = {
        "problem": problem,
        "notice": notice,
        "next": _local(target),
        "scope": PAGE_SCOPE,
        "kept": bool(request.cookies.get(COOKIE)) if kept is None else kept,
    }
    return templates.TemplateResponse(
        request, "login.html", context, status_code=status, headers=headers
    )


def _refusal(request: Request, e: HTTPException) -> str:
    """Why a page was refused, in the words of a browser user (cookie, not header)."""
    if e.status_code != 401:
        return f"The token kept in this browser may not open this page: {e.detail}."
    if request.cookies.get(COOKIE):
        return (
            "The token kept in this browser is unknown or was revoked. Enter another token "
            f"with scope {PAGE_SCOPE!r} ({_CREATE}), or forget this one."
        )
    return (
        f"This page needs a token with scope {PAGE_SCOPE!r} (or higher: collect, admin). "
        f"Enter it below ({_CREATE}); this browser then keeps it in a cookie."
    )


def page_guard(
    auth: Authenticator, templates: Jinja2Templates
) -> Callable[[Request], Awaitable[Response | None]]:
    """A dependency: None when the request may read pages, else the page refusing it.

    The page (401 without a token or with an unknown one, 403 with one of the wrong
    kind) is the token form with the reason and the scope needed; the API's routes
    keep answering JSON.
    """
    guard = auth.require(PAGE_SCOPE)

    async def dependency(request: Request) -> Response | None:
        try:
            await guard(request)
        except HTTPException as e:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return _form(
                templates,
                request,
                status=e.status_code,
                problem=_refusal(request, e),
                target=target,
                headers=dict(e.headers or {}),
            )
        return None

    return dependency


async def _posted(request: Request) -> dict[str, str]:
    """The fields of a posted form (``application/x-www-form-urlencoded``)."""
    body = await request.body()
    if len(body) > _MAX_FORM:
        raise HTTPException(413, f"the form is larger than {_MAX_FORM // 1024} KiB")
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in fields.items()}


def access_router(auth: Authenticator, templates: Jinja2Templates) -> APIRouter:
    """``GET``/``POST /login`` (check a token, keep it in a cookie) and ``POST /logout``."""
    router = APIRouter(include_in_schema=False)

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/") -> HTMLResponse:
        notice = None
        if not auth.require_tokens:
            notice = "This service runs without tokens: every page opens without one."
        return _form(templates, request, notice=notice, target=next)

    @router.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        if request.headers.get("sec-fetch-site") == "cross-site":
            # another site's form must not put its token into this browser
            return _form(
                templates, request, status=403, problem="Enter the token on this page itself."
            )
        form = await _posted(request)
        target = _local(form.get("next"))
        secret = form.get("token", "").strip()
        if not secret:
            return _form(
                templates,
                request,
                status=422,
                problem=f"The token field is empty: paste a token (jc_...); {_CREATE}.",
                target=target,
            )
        info = await auth.authenticate(secret)
        if info is None:
            return _form(
                templates,
                request,
                status=401,
                problem="Unknown or revoked token: check that it was pasted whole (it "
                f"starts with jc_), or {_CREATE}.",
                target=target,
            )
        try:
            auth.admit(info, PAGE_SCOPE, anonymous=False)
        except HTTPException as e:
            return _form(
                templates,
                request,
                status=e.status_code,
                problem=f"This token may not open the pages: {e.detail}. Use a token of "
                f"this service's team with scope {PAGE_SCOPE!r} or higher.",
                target=target,
            )
        done = RedirectResponse(target, status_code=303)
        done.set_cookie(
            COOKIE,
            secret,
            path="/",
            samesite="strict",
            httponly=True,
            secure=request.url.scheme == "https",
        )
        return done

    @router.post("/logout", response_class=HTMLResponse)
    def logout(request: Request) -> Response:
        out = _form(
            templates,
            request,
            notice="The token was removed from this browser.",
            kept=False,
        )
        out.delete_cookie(COOKIE, path="/", samesite="strict", httponly=True)
        return out

    return router
