"""/docs and /redoc load every asset from this server: nothing from a CDN or Google Fonts."""

from __future__ import annotations

import re

import httpx
import pytest

ABSOLUTE = re.compile(r"""(?:src|href)=["']?(https?:)?//""", re.I)
ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']|url:\s*['"]([^'"]+)['"]""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_documentation_pages_load_nothing_from_elsewhere(
    client: httpx.AsyncClient, page: str
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    html = response.text
    assert not ABSOLUTE.search(html), "an asset from another host"
    assert "fonts.googleapis" not in html and "cdn.jsdelivr" not in html
    assets = [a or b for a, b in ASSET.findall(html)]
    scripts = [a for a in assets if a.endswith(".js")]
    assert scripts, "the page loads its script"
    for asset in assets:
        loaded = await client.get(asset)
        assert loaded.status_code == 200, asset
        assert loaded.content, asset


# Where a script or style sheet names a URL the browser would request by itself: an image or
# script source, a CSS url() or @import, a fetch, Swagger UI's validator badge.
FETCHED = re.compile(
    r"""(?:\bsrc|\bsrcset|\burl|validatorUrl|@import|\bfetch)\s*[:=(]\s*["'`]?((?:https?:)?//[^"'`)\s]*)""",
    re.I,
)
# Absolute URLs in those positions that are data, not requests.
NOT_FETCHED = {
    "https://github.com/mermade/oas-kit",  # ReDoc's converter notes itself in x-origin
    "http://",  # Swagger UI's autolinker prefixes a bare host when it renders a link
    "https://",  # ReDoc's URL parser tries a scheme on a relative reference (new URL(...))
    # Swagger UI's default, overridden by the page's validatorUrl: null (asserted below)
    "https://validator.swagger.io/validator",
}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_vendored_assets_fetch_nothing_from_elsewhere(
    client: httpx.AsyncClient, page: str
) -> None:
    html = (await client.get(page)).text
    # Swagger UI would otherwise show the online validator's badge, an image of another host.
    assert page != "/docs" or '"validatorUrl": null' in html
    assets = [a or b for a, b in ASSET.findall(html)]
    scripts = [a for a in assets if a.endswith((".js", ".css"))]
    assert scripts
    for asset in scripts:
        text = (await client.get(asset)).text
        fetched = set(FETCHED.findall(text)) - NOT_FETCHED
        assert not fetched, f"{asset} fetches {sorted(fetched)}"
        assert "cdn." not in " ".join(re.findall(r"https?://[^\s\"'`]+", text)), asset


async def test_metrics_label_the_documentation_by_route_not_unmatched(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/docs", "/openapi.json", "/redoc", "/docs-assets/redoc/LICENSE", "/nowhere"):
        await client.get(path)
    metrics = (await client.get("/metrics")).text
    for template in ("/docs", "/openapi.json", "/redoc", "/docs-assets/{path}"):
        assert f'route="{template}"' in metrics, template
    assert 'route="unmatched",status="404"' in metrics
