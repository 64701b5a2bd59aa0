"""`POST /v1/fitconnect/callback`: authentic callbacks wake the worker, others are refused."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time

import httpx
import pytest
from pydantic import SecretStr

from eantrag.runtime import Runtime
from fitconnect_destination import consumers
from tests.fitconnect_destination.conftest import KeyFiles, Zustelldienst, fitconnect_settings
from tests.fitconnect_destination.test_exchange import send_wohngeld

SECRET = "callback-secret-of-the-destination"
BODY = (
    b'{"type":"https://schema.fitko.de/fit-connect/submission-api/callbacks/new-submissions",'
    b'"submissionIds":["ce75a6b8-d72f-4b94-b09e-af6be35bc2ae"]}'
)


def signed(body: bytes, secret: str = SECRET, at: float | None = None) -> dict[str, str]:
    timestamp = str(int(at if at is not None else time.time()))
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha512).hexdigest()
    return {
        "callback-authentication": mac,
        "callback-timestamp": timestamp,
        "content-type": "application/json",
    }


@pytest.fixture
def configured(
    runtime: Runtime, zustelldienst: Zustelldienst, destination_keys: KeyFiles
) -> Runtime:
    runtime.settings = fitconnect_settings(
        runtime.settings,
        zustelldienst,
        destination_keys,
        fitconnect_callback_secret=SecretStr(SECRET),
        fitconnect_poll_interval_seconds=3600,
    )
    return runtime


async def post(client: httpx.AsyncClient, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await client.post("/v1/fitconnect/callback", content=body, headers=headers)


async def test_a_valid_callback_wakes_the_worker(
    configured: Runtime, client: httpx.AsyncClient, zustelldienst: Zustelldienst
) -> None:
    worker = asyncio.create_task(consumers.workers(configured)["fitconnect"]())
    try:
        await asyncio.sleep(1.0)  # its first pass finds nothing; the next is an hour away
        _submission_id, case_id = await send_wohngeld(zustelldienst)
        await asyncio.sleep(0.5)
        assert case_id not in zustelldienst.state.events

        response = await post(client, BODY, signed(BODY))
        assert response.status_code == 200, response.text

        for _ in range(100):
            if case_id in zustelldienst.state.events:
                break
            await asyncio.sleep(0.1)
        assert len(zustelldienst.state.events[case_id]) == 1
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)


@pytest.mark.parametrize(
    "forgery",
    ["wrong-secret", "changed-body", "older-than-five-minutes", "from-the-future", "no-headers"],
)
async def test_a_forged_or_stale_callback_is_refused(
    configured: Runtime, client: httpx.AsyncClient, forgery: str
) -> None:
    body = BODY
    if forgery == "wrong-secret":
        headers = signed(body, secret="guessed")
    elif forgery == "changed-body":
        headers = signed(body)
        body = body.replace(b"ce75", b"ce76")
    elif forgery == "older-than-five-minutes":
        headers = signed(body, at=time.time() - 301)
    elif forgery == "from-the-future":
        headers = signed(body, at=time.time() + 400)
    else:
        headers = {"content-type": "application/json"}
    woken = asyncio.Event()
    consumers._wakers.add(woken)
    try:
        response = await post(client, body, headers)
    finally:
        consumers._wakers.discard(woken)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert not woken.is_set()


async def test_a_replayed_callback_is_refused(
    configured: Runtime, client: httpx.AsyncClient
) -> None:
    headers = signed(BODY)
    assert (await post(client, BODY, headers)).status_code == 200
    replay = await post(client, BODY, headers)
    assert replay.status_code == 401
    assert "replay" in replay.json()["detail"]


async def test_callbacks_are_refused_when_no_secret_is_configured(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    response = await post(client, BODY, signed(BODY))
    assert response.status_code == 404


async def test_without_settings_there_is_no_fitconnect_worker(runtime: Runtime) -> None:
    assert not runtime.settings.fitconnect_enabled
    assert consumers.workers(runtime) == {}
    assert "fitconnect" not in runtime.workers
