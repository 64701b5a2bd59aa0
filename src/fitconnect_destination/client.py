"""The receiving side of the FIT-Connect Submission API 1.1.3, over httpx.

The access token (OAuth2 client credentials) is fetched once and refreshed shortly before it
expires, and once more when the Zustelldienst answers 401 (a token revoked early).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import structlog

log = structlog.get_logger(__name__)

PAGE_SIZE = 100
TOKEN_MARGIN_SECONDS = 30
"""A token is renewed this long before it expires, so none expires in flight."""


class Transient(Exception):
    """The Zustelldienst cannot be reached or answered 5xx/429: try again later."""


class Refused(Exception):
    """The Zustelldienst refused the request (4xx other than 401/429)."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:300]}")
        self.status = status


@dataclass(frozen=True)
class SubmissionRef:
    submission_id: str
    case_id: str
    destination_id: str


class SubmissionApi:
    def __init__(
        self,
        base_url: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        http: httpx.AsyncClient | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))
        self._page_size = page_size
        self._token: str | None = None
        self._expires_at = 0.0

    async def close(self) -> None:
        await self._http.aclose()

    async def _access_token(self, renew: bool = False) -> str:
        if self._token is not None and not renew and time.monotonic() < self._expires_at:
            return self._token
        try:
            response = await self._http.post(
                self._token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": self._client_id,
                    "client_secret": self._client_secret,
                },
            )
        except httpx.HTTPError as exc:
            raise Transient(f"token endpoint: {exc!r}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise Transient(f"token endpoint: HTTP {response.status_code}")
        if response.status_code != 200:
            raise Refused(response.status_code, response.text)
        body = response.json()
        self._token = str(body["access_token"])
        lifetime = float(body.get("expires_in", 300))
        self._expires_at = time.monotonic() + max(lifetime - TOKEN_MARGIN_SECONDS, 0)
        log.info("fitconnect.token", expires_in=lifetime)
        return self._token

    async def _request(
        self, method: str, path: str, *, accept: str = "application/json", **kwargs: Any
    ) -> httpx.Response:
        renewed = False
        while True:
            token = await self._access_token(renew=renewed)
            headers = {"Authorization": f"Bearer {token}", "Accept": accept}
            headers.update(kwargs.pop("headers", {}))
            try:
                response = await self._http.request(
                    method, self._base + path, headers=headers, **kwargs
                )
            except httpx.HTTPError as exc:
                raise Transient(f"{method} {path}: {exc!r}") from exc
            if response.status_code == 401 and not renewed:
                renewed = True
                continue
            if response.status_code >= 500 or response.status_code == 429:
                raise Transient(f"{method} {path}: HTTP {response.status_code}")
            if response.status_code >= 400:
                raise Refused(response.status_code, response.text)
            return response

    async def submissions(self, destination_id: str) -> AsyncIterator[SubmissionRef]:
        """Every submission ready for pick-up, page by page."""
        offset = 0
        while True:
            page = (
                await self._request(
                    "GET",
                    "/v1/submissions",
                    params={
                        "destinationId": destination_id,
                        "limit": self._page_size,
                        "offset": offset,
                    },
                )
            ).json()
            items = page.get("submissions") or []
            for item in items:
                yield SubmissionRef(
                    str(item["submissionId"]), str(item["caseId"]), str(item["destinationId"])
                )
            offset += len(items)
            if not items or offset >= int(page.get("totalCount", 0)):
                return

    async def submission(self, submission_id: str) -> dict[str, Any]:
        body: dict[str, Any] = (
            await self._request("GET", f"/v1/submissions/{submission_id}")
        ).json()
        return body

    async def attachment(self, submission_id: str, attachment_id: str) -> str:
        response = await self._request(
            "GET",
            f"/v1/submissions/{submission_id}/attachments/{attachment_id}",
            accept="application/jose",
        )
        return response.text

    async def send_event(self, case_id: str, token: str) -> None:
        await self._request(
            "POST",
            f"/v1/cases/{case_id}/events",
            content=token.encode("ascii"),
            headers={"Content-Type": "application/jose"},
        )

    async def event_log(self, case_id: str) -> list[str]:
        tokens: list[str] = []
        offset = 0
        while True:
            page = (
                await self._request(
                    "GET",
                    f"/v1/cases/{case_id}/events",
                    params={"limit": 500, "offset": offset},
                )
            ).json()
            items = page.get("eventLog") or []
            tokens += [str(t) for t in items]
            offset += len(items)
            if not items or offset >= int(page.get("totalCount", 0)):
                return tokens
