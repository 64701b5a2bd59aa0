"""Every door is rate-limited: 429 problems with Retry-After and RateLimit-* fields, counted
in memory or, shared by all replicas, in the real Redis; CORS only for the allowed origins."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from eantrag.runtime import Runtime
from eantrag.settings import Settings
from identity.ratelimit import RateLimits, TooManyRequests
from tests.conftest import EXAMPLES, need_service, new_message
from tests.identity.conftest import AppClient
from tests.identity.support import register, token_for

REDIS_URL = "redis://127.0.0.1:6379/0"
PROBLEM = "application/problem+json"
XML = {"content-type": "application/xml"}


def assert_limited(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "rate_limited"
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert response.headers["ratelimit-limit"] == str(limit)
    assert response.headers["ratelimit-remaining"] == "0"
    assert int(response.headers["ratelimit-reset"]) == retry_after


async def test_the_intake_is_limited_per_portal(app_client: AppClient, runtime: Runtime) -> None:
    body = (EXAMPLES / "hundeanmeldung.xml").read_bytes()
    async with app_client(rate_limit_intake="2/minute") as api:
        first = await token_for(api, *await register(runtime.db))
        second = await token_for(api, *await register(runtime.db))

        async def send(token: str) -> httpx.Response:
            return await api.post(
                "/v1/applications",
                content=new_message(body),
                headers={**XML, "authorization": f"Bearer {token}"},
            )

        assert [(await send(first)).status_code for _ in range(2)] == [202, 202]
        assert_limited(await send(first), 2)
        assert (await send(second)).status_code == 202, "another portal has its own count"


async def test_the_token_endpoint_is_limited_per_address(
    app_client: AppClient, runtime: Runtime
) -> None:
    client_id, secret = await register(runtime.db)
    async with app_client(rate_limit_token="3/minute") as api:
        grant = {"grant_type": "client_credentials"}
        statuses = [
            (await api.post("/oauth/token", data=grant, auth=(client_id, "wrong"))).status_code
            for _ in range(3)
        ]
        assert statuses == [401, 401, 401]
        # the fourth try is refused before the secret is even checked, right or wrong
        assert_limited(await api.post("/oauth/token", data=grant, auth=(client_id, secret)), 3)


async def test_the_status_urls_are_limited_per_address(
    app_client: AppClient, runtime: Runtime
) -> None:
    async with app_client(rate_limit_status="3/minute", intake_auth="off") as api:
        receipt = await api.post(
            "/v1/applications",
            content=(EXAMPLES / "hundeanmeldung.xml").read_bytes(),
            headers=XML,
        )
        url = httpx.URL(receipt.json()["statusUrl"])
        guessed = f"/v1/applications/{uuid.uuid4()}"
        statuses = [
            (await api.get(url.path, params=dict(url.params))).status_code,
            (await api.get(guessed, params={"token": "x"})).status_code,
            (await api.get(guessed, params={"token": "y"})).status_code,
        ]
        assert statuses == [200, 404, 404]
        assert_limited(await api.get(url.path, params=dict(url.params)), 3)


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test run alone in the real Redis; its keys are removed after."""
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.ping()
    except Exception:
        await redis.aclose()
        need_service("Redis at " + REDIS_URL, "start it with: redis-server --daemonize yes")
    prefix = f"eantrag-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    async for key in redis.scan_iter(match=f"{prefix}*"):
        await redis.delete(key)
    await redis.aclose()


async def test_replicas_share_their_counts_in_redis(settings: Settings, redis_prefix: str) -> None:
    """Two API replicas (two RateLimits over their own Redis connections): together they
    admit the limit, not twice the limit."""
    shared = settings.model_copy(
        update={
            "redis_url": SecretStr(REDIS_URL),
            "rate_limit_prefix": redis_prefix,
            "rate_limit_login": "4/minute",
        }
    )
    one, two = RateLimits(shared), RateLimits(shared)
    for limits in (one, two, one, two):
        await limits.hit("login", "203.0.113.7")
    with pytest.raises(TooManyRequests) as refused:
        await two.hit("login", "203.0.113.7")
    assert refused.value.headers["RateLimit-Limit"] == "4"
    await one.hit("login", "203.0.113.8")  # another address counts on its own
    await one.close()
    await two.close()
    redis = Redis.from_url(REDIS_URL)
    keys = [key async for key in redis.scan_iter(match=f"{redis_prefix}*")]
    await redis.aclose()
    assert keys, "the counters are in Redis under the run's prefix"


async def test_the_login_door_as_the_people_s_login_uses_it(
    app_client: AppClient, redis_prefix: str
) -> None:
    """`identity.ratelimit.per_address("login")` before an endpoint, on Redis, over HTTP."""
    from fastapi import Depends, FastAPI

    from identity import ratelimit

    settings = Settings(
        redis_url=SecretStr(REDIS_URL), rate_limit_prefix=redis_prefix, rate_limit_login="2/minute"
    )
    app = FastAPI()
    app.state.rate_limits = RateLimits(settings)
    app.add_exception_handler(TooManyRequests, lambda r, e: e.to_response())  # type: ignore[arg-type,return-value]

    @app.post("/login", dependencies=[Depends(ratelimit.per_address("login"))])
    async def login() -> dict[str, str]:
        return {"status": "ok"}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
        results = await asyncio.gather(*(api.post("/login") for _ in range(3)))
    await app.state.rate_limits.close()
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 200, 429]
    assert_limited(next(r for r in results if r.status_code == 429), 2)


async def test_cors_preflight_only_for_allowed_origins(app_client: AppClient) -> None:
    preflight = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
    }
    async with app_client(cors_origins=["https://portal.example.de"]) as api:
        allowed = await api.options(
            "/v1/applications", headers={**preflight, "origin": "https://portal.example.de"}
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://portal.example.de"
        assert "POST" in allowed.headers["access-control-allow-methods"]
        assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
        other = await api.options(
            "/v1/applications", headers={**preflight, "origin": "https://evil.example"}
        )
        assert other.status_code == 400
        assert "access-control-allow-origin" not in other.headers
        forms = await api.get("/v1/forms", headers={"origin": "https://portal.example.de"})
        assert forms.headers["access-control-allow-origin"] == "https://portal.example.de"
    async with app_client() as api:  # the default: no origin at all
        refused = await api.options(
            "/v1/applications", headers={**preflight, "origin": "https://portal.example.de"}
        )
        assert refused.status_code == 405
        assert "access-control-allow-origin" not in refused.headers
        forms = await api.get("/v1/forms", headers={"origin": "https://portal.example.de"})
        assert "access-control-allow-origin" not in forms.headers
