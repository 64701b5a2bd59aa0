"""Links in receipts lead back to where the API was reached: no dead `localhost:8000` links."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from bootstrap.app import create_app
from eantrag.runtime import Runtime
from eantrag.settings import Settings
from tests.conftest import EXAMPLES
from tests.identity.support import as_portal

DOG = (EXAMPLES / "hundeanmeldung.xml").read_bytes()
XML = {"content-type": "application/xml"}


@asynccontextmanager
async def api(
    runtime: Runtime, settings: Settings, peer: str, base: str, **changes: object
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update=changes), runtime=runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url=base) as client:
            await as_portal(client, runtime.db)
            yield client


async def receipt_link(client: httpx.AsyncClient, headers: dict[str, str] | None = None) -> str:
    response = await client.post(
        "/v1/applications", content=DOG, headers={**XML, **(headers or {})}
    )
    assert response.status_code in (200, 202), response.text
    assert response.headers["location"] == response.json()["statusUrl"]
    link: str = response.json()["statusUrl"]
    return link


async def test_without_a_configured_base_the_links_point_where_the_request_went(
    runtime: Runtime, settings: Settings
) -> None:
    async with api(
        runtime, settings, "192.0.2.7", "http://127.0.0.1:8123", public_base_url=None
    ) as c:
        link = await receipt_link(c)
        assert link.startswith("http://127.0.0.1:8123/v1/applications/")
        assert (await c.get(httpx.URL(link).raw_path.decode())).status_code == 200


async def test_a_configured_base_wins(runtime: Runtime, settings: Settings) -> None:
    async with api(
        runtime,
        settings,
        "192.0.2.7",
        "http://127.0.0.1:8123",
        public_base_url="https://antrag.example.de/",
    ) as c:
        assert (await receipt_link(c)).startswith("https://antrag.example.de/v1/applications/")


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "antrag.example.de"},
        {"Forwarded": 'for="[2001:db8::1]:4711";proto=https;host=antrag.example.de'},
    ],
    ids=["x-forwarded", "forwarded"],
)
async def test_forwarded_headers_count_only_from_trusted_proxies(
    runtime: Runtime, settings: Settings, headers: dict[str, str]
) -> None:
    base = "http://10.0.0.2:8000"
    async with api(
        runtime, settings, "10.0.0.9", base, public_base_url=None, trusted_proxies=["10.0.0.0/24"]
    ) as proxied:
        assert (await receipt_link(proxied, headers)).startswith(
            "https://antrag.example.de/v1/applications/"
        )
    async with api(
        runtime, settings, "192.0.2.7", base, public_base_url=None, trusted_proxies=["10.0.0.0/24"]
    ) as direct:
        assert (await receipt_link(direct, headers)).startswith(base + "/v1/applications/")


def test_a_trusted_proxy_must_be_an_address() -> None:
    with pytest.raises(ValueError, match="not an IP address"):
        Settings(trusted_proxies=["proxy.local"])
