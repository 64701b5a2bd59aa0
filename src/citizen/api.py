"""The citizen's Bescheid, fetched through the status URL's token.

A wrong token, an unknown application and an application without a decision are the same 404:
the token is the only key, and nothing tells a guesser which part was wrong.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from citizen import bescheide
from eantrag.downloads import content_disposition
from eantrag.problems import NotFound, problem_responses
from eantrag.runtime import Runtime
from intake.service import StatusTokens

# The citizen reads this one (a Bescheid link opened in a browser).
NO_BESCHEID = (
    "Zu diesem Link gibt es keinen Bescheid. Bitte öffnen Sie den Link von der Statusseite "
    "oder aus der E-Mail zu Ihrem Antrag vollständig und unverändert."
)
router = APIRouter(prefix="/v1", tags=["intake"])


@router.get(
    "/applications/{application_id}/bescheid",
    name="citizen_bescheid",
    summary="The citizen's Bescheid (decision document), through the token of the statusUrl",
    response_class=Response,
    responses={
        200: {
            "description": "The Bescheid's bytes, checked against its recorded SHA-256.",
            "content": {"application/pdf": {}, "text/html": {}},
        },
        **problem_responses(404, 500),
    },
)
async def download_bescheid(
    request: Request,
    application_id: uuid.UUID,
    token: Annotated[
        str | None, Query(max_length=100, description="The token of the statusUrl.")
    ] = None,
) -> Response:
    runtime: Runtime = request.app.state.runtime
    tokens: StatusTokens = request.app.state.status_tokens
    if not tokens.verify(application_id, token):
        raise NotFound(NO_BESCHEID)
    fetched = await bescheide.fetch(runtime, application_id)
    if fetched is None:
        raise NotFound(NO_BESCHEID)
    bescheid = fetched.bescheid
    return Response(
        fetched.data,
        media_type=bescheid.media_type,
        headers={
            "Content-Disposition": content_disposition(bescheid.filename or "bescheid"),
            "ETag": f'"{bescheid.sha256}"',
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )
