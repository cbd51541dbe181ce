"""The sharing hub's routes: organizations publish DP share packages, others list and pull."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from jobcast.app.hub import HUB_PATH, MAX_ROWS_CSV, get_share, list_shares, publish
from jobcast.errors import InputError
from jobcast.history import HistoryRepository
from jobcast.history.tokens import TokenInfo
from jobcast.service.auth import Authenticator

__all__ = ["PublishRequest", "hub_router"]

class PublishRequest(BaseModel):
    """A share package: ``manifest.json`` as an object and ``rows.csv`` as text."""

    model_config = ConfigDict(extra="forbid")

    manifest: dict[str, Any]
    rows_csv: str = Field(max_length=MAX_ROWS_CSV)
    organization: str | None = Field(
        default=None, description="Must be the token's own organization when given."
    )


def hub_router(repo: HistoryRepository, auth: Authenticator) -> APIRouter:
    """``/api/v1/hub/shares``: publish (``collect`` token of an organization), list, pull."""
    router = APIRouter(tags=["hub"])
    write = auth.require("collect", anonymous=False, organizations=True)
    read = Depends(auth.require("read", organizations=True))

    @router.post(HUB_PATH, status_code=201)
    def publish_share(
        body: PublishRequest, response: Response, token: TokenInfo | None = Depends(write)
    ) -> dict[str, Any]:
        """Publish a share in the name of the token's organization (validated, DP only).

        201 with the new record; 200 with the existing one when the organization
        published the same package before (``already_published``).
        """
        if token is None or token.organization is None:
            raise HTTPException(
                403,
                "publishing needs a token of an organization "
                "(`jobcast token create --scope collect --org NAME`)",
            )
        if body.organization is not None and body.organization != token.organization:
            raise HTTPException(
                403,
                f"this token publishes for {token.organization!r}, not {body.organization!r}; "
                "an organization can only publish in its own name",
            )
        record = publish(repo, token.organization, body.manifest, body.rows_csv)
        if record.get("already_published"):
            response.status_code = 200
        return record

    @router.get(HUB_PATH, dependencies=[read])
    def shares(job: str | None = None, attribute: list[str] = Query(default=[])) -> dict[str, Any]:
        """Shares of ``job`` (all without), holding every ``attribute`` given."""
        return {"shares": list_shares(repo, job=job, attributes=attribute)}

    @router.get(HUB_PATH + "/{share_id}", dependencies=[read])
    def share(share_id: int) -> dict[str, Any]:
        """One share: its record, manifest and rows (404 for an id the hub does not hold)."""
        try:
            return get_share(repo, share_id)
        except InputError as e:  # get_share's only refusal: no such share
            raise HTTPException(404, str(e)) from e

    return router
