"""How often each door may be knocked on: per portal client on the intake, per address on the
token endpoint, the login and the citizens' status URLs.

Counters live in the process's memory on the embedded default and in Redis when
`EANTRAG_REDIS_URL` is set, so that all API replicas share them. A request over its limit gets a
429 problem with `Retry-After` and the `RateLimit-*` fields of the IETF draft
(draft-ietf-httpapi-ratelimit-headers); the request itself is not processed.

The login (and any other door) uses the same rules: `await hit(request, "login")` counts one
attempt of the caller's address and raises `TooManyRequests` when there were too many;
`Depends(per_address("login"))` does that before an endpoint runs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Literal

from fastapi import Request
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from redis.asyncio import ConnectionPool

from eantrag.problems import ProblemError
from eantrag.settings import Settings

Door = Literal["intake", "token", "login", "status"]
DOORS: tuple[Door, ...] = ("intake", "token", "login", "status")


class TooManyRequests(ProblemError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"


def _limits_of(settings: Settings) -> dict[Door, list[RateLimitItem]]:
    return {
        "intake": parse_many(settings.rate_limit_intake),
        "token": parse_many(settings.rate_limit_token),
        "login": parse_many(settings.rate_limit_login),
        "status": parse_many(settings.rate_limit_status),
    }


def open_storage(settings: Settings) -> tuple[Storage, ConnectionPool | None]:
    """The counters' storage, and the Redis connection pool to close at the end (if any)."""
    if settings.redis_url is None:
        return MemoryStorage(), None
    url = settings.redis_url.get_secret_value().removeprefix("async+")
    pool = ConnectionPool.from_url(url)
    storage = RedisStorage(
        "async+" + url,
        implementation="redispy",
        key_prefix=settings.rate_limit_prefix,
        connection_pool=pool,  # type: ignore[arg-type]  # passed on to redis.asyncio.Redis
    )
    return storage, pool


class RateLimits:
    """The limits of every door over one storage; built in the app's lifespan."""

    def __init__(self, settings: Settings) -> None:
        self.storage, self._pool = open_storage(settings)
        self.limiter = FixedWindowRateLimiter(self.storage)
        self.limits = _limits_of(settings)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()

    async def hit(self, door: Door, *identifiers: str) -> None:
        """Count one request of `identifiers` at `door`; TooManyRequests if it is one too many."""
        for item in self.limits[door]:
            if not await self.limiter.hit(item, door, *identifiers):
                stats = await self.limiter.get_window_stats(item, door, *identifiers)
                reset = max(1, math.ceil(stats.reset_time - time.time()))
                raise TooManyRequests(
                    f"more than {item.amount} requests per {item.multiples} {item.GRANULARITY.name}"
                    f"; try again in {reset} s",
                    headers={
                        "Retry-After": str(reset),
                        "RateLimit-Limit": str(item.amount),
                        "RateLimit-Remaining": str(max(0, stats.remaining)),
                        "RateLimit-Reset": str(reset),
                    },
                )


def client_address(request: Request) -> str:
    """The caller's address as the server sees it (behind a proxy, let uvicorn's
    `--proxy-headers` and `--forwarded-allow-ips` put the client's there)."""
    return request.client.host if request.client else "unknown"


async def hit(request: Request, door: Door, *identifiers: str) -> None:
    """Count one request at `door`, by the caller's address unless `identifiers` are given."""
    limits: RateLimits = request.app.state.rate_limits
    await limits.hit(door, *(identifiers or (client_address(request),)))


def per_address(door: Door) -> Callable[[Request], Awaitable[None]]:
    """A dependency that limits `door` per client address."""

    async def limited(request: Request) -> None:
        await hit(request, door)

    return limited
