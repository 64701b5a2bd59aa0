"""Access tokens: JWTs after RFC 9068 (`typ: at+jwt`), signed with ES256.

Verification accepts exactly ES256 with a `kid` of eantrag's own JWKS, the configured issuer and
audience, and an unexpired `exp`: `alg: none`, HMAC (with the public key as secret or anything
else), an unknown key or a token of another issuer is refused before any claim is read.

A portal sends the same token with every submission for its whole lifetime, so a verified token
is remembered until it expires: the signature is checked once per token, not once per request
(an ES256 verification costs ~10 % of what the rest of a small submission costs).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from identity.portals.keys import ALGORITHM, ActiveKey
from identity.portals.scopes import Grant

TOKEN_TYPE = "at+jwt"
REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "sub", "client_id", "scope"]
# How many verified tokens are remembered: far more than portals, each renews every 15 minutes.
CACHE_SIZE = 10_000
# An unknown kid makes the verifier read the JWKS again (a key rotated on another replica),
# but no more often than this, so that made-up kids cannot hammer the database.
RELOAD_INTERVAL_SECONDS = 5.0


class InvalidToken(Exception):
    """The token is not one of ours or no longer valid; the message says why (for the log)."""


@dataclass(frozen=True)
class Sender:
    """A portal as its access token names it."""

    client_id: str
    scopes: tuple[str, ...]
    grant: Grant
    expires_at: float


def issue(
    key: ActiveKey,
    *,
    client_id: str,
    scopes: list[str],
    issuer: str,
    audience: str,
    lifetime_seconds: int,
) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": client_id,
        "client_id": client_id,
        "scope": " ".join(scopes),
        "iat": now,
        "exp": now + lifetime_seconds,
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode(
        claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": TOKEN_TYPE}
    )


JwksLoader = Callable[[], Awaitable[list[dict[str, Any]]]]


class TokenVerifier:
    """Checks access tokens against eantrag's own JWKS (read through `load_jwks`)."""

    def __init__(self, load_jwks: JwksLoader, *, issuer: str, audience: str) -> None:
        self._load_jwks = load_jwks
        self.issuer = issuer
        self.audience = audience
        self._keys: dict[str, ec.EllipticCurvePublicKey] = {}
        self._loaded_at = float("-inf")
        self._reload = asyncio.Lock()
        self._verified: OrderedDict[str, Sender] = OrderedDict()

    async def verify(self, token: str) -> Sender:
        known = self._verified.get(token)
        if known is not None:
            if known.expires_at > time.time():
                return known
            del self._verified[token]
            raise InvalidToken("the token has expired")
        sender = self._check(token, await self._key_for(token))
        self._verified[token] = sender
        if len(self._verified) > CACHE_SIZE:
            self._verified.popitem(last=False)
        return sender

    async def _key_for(self, token: str) -> ec.EllipticCurvePublicKey:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"not a JWT: {exc}") from exc
        if header.get("alg") != ALGORITHM:
            raise InvalidToken(f"algorithm {header.get('alg')!r} is not accepted")
        if header.get("typ") != TOKEN_TYPE:
            raise InvalidToken(f"type {header.get('typ')!r} is not an access token")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidToken("the token names no key")
        key = self._keys.get(kid) or await self._refresh(kid)
        if key is None:
            raise InvalidToken(f"unknown key {kid[:64]!r}")
        return key

    async def _refresh(self, kid: str) -> ec.EllipticCurvePublicKey | None:
        """The key `kid` after reading the JWKS again (if that was not done just now)."""
        async with self._reload:
            # Requests that waited here for the same new key find it read already.
            if kid in self._keys or time.monotonic() - self._loaded_at < RELOAD_INTERVAL_SECONDS:
                return self._keys.get(kid)
            keys: dict[str, ec.EllipticCurvePublicKey] = {}
            for jwk in await self._load_jwks():
                public = ECAlgorithm.from_jwk(jwk)
                assert isinstance(public, ec.EllipticCurvePublicKey)
                keys[jwk["kid"]] = public
            self._keys = keys
            self._loaded_at = time.monotonic()
            return keys.get(kid)

    def _check(self, token: str, key: ec.EllipticCurvePublicKey) -> Sender:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                audience=self.audience,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        scopes = tuple(str(claims["scope"]).split())
        return Sender(str(claims["client_id"]), scopes, Grant.of(scopes), float(claims["exp"]))
