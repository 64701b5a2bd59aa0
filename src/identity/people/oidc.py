"""Login at the operator's OpenID Connect provider: authorization code flow with PKCE (S256).

The provider's endpoints come from its discovery document
(`<issuer>/.well-known/openid-configuration`), cached for an hour. The ID token is checked before
anything is believed: signature with a key of the provider's JWKS (asymmetric algorithms only;
an unknown `kid` refetches the JWKS once), `iss`, `aud` (and `azp` when there are several
audiences), `exp`, `iat`, and the `nonce` this login sent. The person's authority and role come
from the claims the settings name (Keycloak groups such as `/stadt-dresden/clerk`, for example).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from eantrag.settings import Settings
from identity.people.principal import ROLES

ASYMMETRIC = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
METADATA_TTL = 3600.0
CLOCK_SKEW = 120
FAILED = "Die Anmeldung beim Dienstkonto ist fehlgeschlagen."


class OidcError(Exception):
    """The login cannot go on; the message is for the log, `german` for the person."""

    def __init__(
        self, message: str, german: str = "Die Anmeldung beim Dienstkonto ist fehlgeschlagen."
    ) -> None:
        super().__init__(message)
        self.german = german


@dataclass(frozen=True)
class Metadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    auth_methods: tuple[str, ...]
    algorithms: tuple[str, ...]


@dataclass(frozen=True)
class AuthRequest:
    """What one login sends and must find again in the callback."""

    state: str
    nonce: str
    verifier: str

    @classmethod
    def new(cls) -> AuthRequest:
        return cls(secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64))

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True)
class Identity:
    issuer: str
    subject: str
    username: str
    display_name: str
    authority_id: str | None
    role: str


class OidcClient:
    """eantrag as a confidential client of the provider; one per process."""

    def __init__(
        self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        if not (settings.oidc_issuer and settings.oidc_client_id):
            raise ValueError("EANTRAG_OIDC_ISSUER and EANTRAG_OIDC_CLIENT_ID are needed")
        self.settings = settings
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        secret = settings.oidc_client_secret
        self.client_secret = secret.get_secret_value() if secret else None
        self.redirect_url = settings.effective_oidc_redirect_url
        self.transport = transport
        self._metadata: tuple[float, Metadata] | None = None
        self._keys: KeySet | None = None

    def _http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=10.0, follow_redirects=False, transport=self.transport)

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with self._http() as http:
                response = await http.get(url, headers={"accept": "application/json"})
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError(f"GET {url} failed: {exc!r}") from exc
        if not isinstance(data, dict):
            raise OidcError(f"GET {url} did not return a JSON object")
        return data

    async def metadata(self) -> Metadata:
        if self._metadata and self._metadata[0] > time.monotonic():
            return self._metadata[1]
        data = await self._get_json(self.issuer + "/.well-known/openid-configuration")
        if str(data.get("issuer", "")).rstrip("/") != self.issuer:
            raise OidcError(f"the discovery document names issuer {data.get('issuer')!r}")
        try:
            found = Metadata(
                issuer=str(data["issuer"]),
                authorization_endpoint=str(data["authorization_endpoint"]),
                token_endpoint=str(data["token_endpoint"]),
                jwks_uri=str(data["jwks_uri"]),
                auth_methods=tuple(
                    data.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
                ),
                algorithms=tuple(
                    a
                    for a in data.get("id_token_signing_alg_values_supported", ["RS256"])
                    if a in ASYMMETRIC
                ),
            )
        except KeyError as exc:
            raise OidcError(f"the discovery document lacks {exc}") from exc
        self._metadata = (time.monotonic() + METADATA_TTL, found)
        return found

    async def authorization_url(self, request: AuthRequest) -> str:
        meta = await self.metadata()
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_url,
            "scope": self.settings.oidc_scopes,
            "state": request.state,
            "nonce": request.nonce,
            "code_challenge": request.challenge,
            "code_challenge_method": "S256",
        }
        separator = "&" if "?" in meta.authorization_endpoint else "?"
        return meta.authorization_endpoint + separator + urlencode(query)

    async def exchange(self, code: str, request: AuthRequest) -> str:
        """Trade the code (and the PKCE verifier) for tokens; return the ID token."""
        meta = await self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_url,
            "code_verifier": request.verifier,
        }
        auth: httpx.Auth | None = None
        if self.client_secret is not None and "client_secret_basic" in meta.auth_methods:
            auth = httpx.BasicAuth(self.client_id, self.client_secret)
        else:
            form["client_id"] = self.client_id
            if self.client_secret is not None:
                form["client_secret"] = self.client_secret
        try:
            async with self._http() as http:
                if auth is None:
                    response = await http.post(meta.token_endpoint, data=form)
                else:
                    response = await http.post(meta.token_endpoint, data=form, auth=auth)
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError(f"token request failed: {exc!r}") from exc
        if response.status_code != 200 or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else None
            raise OidcError(f"token endpoint answered {response.status_code} ({error})")
        id_token = body.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError("the token response has no id_token")
        return id_token

    async def _keyset(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            meta = await self.metadata()
            try:
                self._keys = KeySet.import_key_set(await self._get_json(meta.jwks_uri))  # type: ignore[arg-type]
            except (JoseError, ValueError, TypeError) as exc:
                raise OidcError(f"the provider's JWKS is not usable: {exc!r}") from exc
        return self._keys

    async def verify_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        meta = await self.metadata()
        if not meta.algorithms:
            raise OidcError("the provider offers no asymmetric ID token algorithm")
        try:
            token = jwt.decode(id_token, await self._keyset(), algorithms=list(meta.algorithms))
        except (JoseError, ValueError) as exc:
            # A rotated key: fetch the JWKS once more before refusing.
            try:
                keys = await self._keyset(refresh=True)
                token = jwt.decode(id_token, keys, algorithms=list(meta.algorithms))
            except (JoseError, ValueError):
                raise OidcError(f"the ID token's signature does not verify: {exc!r}") from exc
        claims: dict[str, Any] = dict(token.claims)
        now = time.time()
        if str(claims.get("iss", "")).rstrip("/") != self.issuer:
            raise OidcError(f"ID token issuer {claims.get('iss')!r} is not {self.issuer!r}")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.client_id not in audiences:
            raise OidcError(f"ID token audience {audience!r} does not include this client")
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise OidcError("ID token with several audiences is not authorized for this client")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp + CLOCK_SKEW < now:
            raise OidcError("the ID token has expired")
        iat = claims.get("iat")
        if isinstance(iat, int | float) and iat - CLOCK_SKEW > now:
            raise OidcError("the ID token was issued in the future")
        if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise OidcError("the ID token's nonce is not this login's")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise OidcError("the ID token has no subject")
        return claims

    def identity(self, claims: dict[str, Any]) -> Identity:
        authority, role = authority_and_role(
            claims, self.settings.oidc_authority_claim, self.settings.oidc_role_claim
        )
        subject = str(claims["sub"])
        username = str(claims.get(self.settings.oidc_username_claim) or subject)
        name = str(claims.get(self.settings.oidc_name_claim) or username)
        return Identity(self.issuer, subject, username, name[:200], authority, role)


def _values(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _parts(value: str) -> list[str]:
    return [p for p in value.strip().split("/") if p]


def authority_and_role(
    claims: dict[str, Any], authority_claim: str, role_claim: str
) -> tuple[str | None, str]:
    """The one (authority, role) the claims give; anything else refuses the login."""
    refused = "Ihrem Dienstkonto ist keine eindeutige Behörde und Rolle in eantrag zugeordnet."
    if authority_claim == role_claim:
        pairs: set[tuple[str | None, str]] = set()
        for value in _values(claims.get(authority_claim)):
            parts = _parts(value)
            if parts and parts[-1] in ROLES:
                pairs.add((parts[-2] if len(parts) > 1 else None, parts[-1]))
        if len(pairs) != 1:
            raise OidcError(
                f"claim {authority_claim!r} gives {len(pairs)} authority/role pairs", refused
            )
        return pairs.pop()
    authorities = {_parts(v)[-1] for v in _values(claims.get(authority_claim)) if _parts(v)}
    roles = {_parts(v)[-1] for v in _values(claims.get(role_claim)) if _parts(v)} & set(ROLES)
    if len(roles) != 1 or len(authorities) > 1:
        raise OidcError(
            f"claims give roles {sorted(roles)} and authorities {sorted(authorities)}", refused
        )
    return (authorities.pop() if authorities else None), roles.pop()
