"""The page layer every screen shares: Jinja2 templates, the base layout, static files.

Templates are looked up in `web/templates` first and then in each package registered with
`add_templates` (a context's own pages), so every page extends `base.html`. The layout shows the
logged-in person in the header and carries the CSRF token for forms (`csrf_field()`) and for
htmx requests (`X-CSRF-Token` on every request it makes).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, select_autoescape
from markupsafe import Markup, escape

HERE = Path(__file__).parent
STATIC_URL = "/static"
BERLIN = ZoneInfo("Europe/Berlin")

_loaders: list[Any] = [FileSystemLoader(HERE / "templates")]
env = Environment(
    loader=ChoiceLoader(_loaders),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


_packages: set[tuple[str, str]] = set()


def add_templates(package: str, directory: str = "templates") -> None:
    """Let `package`'s own templates extend the base layout (once per package)."""
    if (package, directory) not in _packages:
        _packages.add((package, directory))
        _loaders.append(PackageLoader(package, directory))


def _date_time(value: datetime | None) -> str:
    """`23.11.2026, 14:05` in Berlin time."""
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(BERLIN).strftime("%d.%m.%Y, %H:%M")


env.filters["datum_zeit"] = _date_time


def csrf_field(token: str | None) -> Markup:
    if not token:
        return Markup("")
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(escape(token))


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page. `context` may hold `person` (a Principal) and `csrf_token`; the identity
    layer's `render_page` fills them in from the session."""
    values: dict[str, Any] = {"request": request, "static": STATIC_URL, **(context or {})}
    values.setdefault("person", None)
    values.setdefault("csrf_token", None)
    values["csrf_field"] = csrf_field(values["csrf_token"])
    html = env.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    # Pages carry a person's data: never cached, never framed, no scripts but our own.
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    )
    return response


def mount_static(app: FastAPI) -> None:
    """The vendored assets (KERN, htmx) and the project's own CSS under /static."""
    app.mount(STATIC_URL, StaticFiles(directory=HERE / "static"), name="static")
