"""The address a client used, as a reverse proxy saw it: `Forwarded` and `X-Forwarded-*`.

Receipts link back to the API (`statusUrl`, `Location`); without `EANTRAG_PUBLIC_BASE_URL` those
links are built from the request. Behind a proxy the request's own scheme and host are the
proxy's, so its `Forwarded` (RFC 7239) or `X-Forwarded-Proto/-Host/-For` headers say what the
client used — but anyone can send those headers, so they count only from the addresses in
`EANTRAG_TRUSTED_PROXIES`. Each header's last value is the one the nearest proxy wrote.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(entries: Iterable[str]) -> list[Network]:
    """Addresses or networks (`10.0.0.0/8`), as given in the setting."""
    return [ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip()]


def _trusted(host: str | None, trusted: list[Network]) -> bool:
    if host is None or not trusted:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in trusted)


def _last(value: str) -> str:
    return value.rsplit(",", 1)[-1].strip()


def _forwarded_pairs(value: str) -> dict[str, str]:
    """The parameters of the last element of a `Forwarded` header."""
    pairs: dict[str, str] = {}
    for pair in _last(value).split(";"):
        name, _, raw = pair.partition("=")
        if raw:
            pairs[name.strip().lower()] = raw.strip().strip('"')
    return pairs


def _node_address(node: str) -> str:
    """`for=` of RFC 7239: `192.0.2.60`, `"[2001:db8::1]:4711"`, `192.0.2.60:4711`."""
    if node.startswith("["):
        return node[1:].split("]", 1)[0]
    if node.count(":") == 1:
        return node.split(":", 1)[0]
    return node


class ForwardedMiddleware:
    """From a trusted proxy: the client's scheme, host and address replace the proxy's."""

    def __init__(self, app: ASGIApp, trusted: list[Network]) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            if _trusted(client[0] if client else None, self.trusted):
                scope = self._rewrite(scope)
        await self.app(scope, receive, send)

    def _rewrite(self, scope: Scope) -> Scope:
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope["headers"]
        }
        proto = host = client = None
        if "forwarded" in headers:
            pairs = _forwarded_pairs(headers["forwarded"])
            proto, host = pairs.get("proto"), pairs.get("host")
            client = _node_address(pairs["for"]) if "for" in pairs else None
        else:
            if "x-forwarded-proto" in headers:
                proto = _last(headers["x-forwarded-proto"])
            if "x-forwarded-host" in headers:
                host = _last(headers["x-forwarded-host"])
            if "x-forwarded-for" in headers:
                client = _last(headers["x-forwarded-for"])
        scope = dict(scope)
        if proto and proto.lower() in ("http", "https"):
            scope["scheme"] = proto.lower() if scope["type"] == "http" else scope["scheme"]
        if host:
            scope["headers"] = [
                (name, value) for name, value in scope["headers"] if name.lower() != b"host"
            ] + [(b"host", host.encode("latin-1"))]
        if client:
            scope["client"] = (client, 0)
        return scope
