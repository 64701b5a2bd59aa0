"""OIDC login (authorization code with PKCE) against a real OpenID provider running in this
process: oidc-provider-mock, an authlib-based provider from PyPI, with its own keys, discovery
document, login form and token endpoint. It does not check PKCE itself, so a small WSGI layer in
front of it does, as RFC 7636 says (S256)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import oidc_provider_mock
import pytest
import werkzeug.serving
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from pydantic import SecretStr
from sqlalchemy import select

from eantrag.runtime import Runtime
from eantrag.settings import Settings
from identity.people import service
from identity.people.models import PersonSession, User
from identity.people.oidc import AuthRequest, OidcClient, OidcError, authority_and_role
from tests.casefile.support import authority_message, file_directly
from tests.identity.people.support import LEIPZIG_ID

pytestmark = pytest.mark.usefixtures("directory")


class PkceEnforcing:
    """RFC 7636 in front of the provider: a code is bound to the `code_challenge` (S256) of the
    authorization request that got it, and the token endpoint refuses a `code_verifier` that
    does not hash to it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.challenges: dict[str, str] = {}
        self.refused = 0

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        if path == "/oauth2/authorize" and method == "POST":
            query = parse_qs(environ.get("QUERY_STRING", ""))
            if query.get("code_challenge_method") != ["S256"] or not query.get("code_challenge"):
                return self._refuse(start_response, "invalid_request")
            challenge = query["code_challenge"][0]

            def remember(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
                for name, value in headers:
                    if name.lower() == "location":
                        for code in parse_qs(urlsplit(value).query).get("code", []):
                            self.challenges[code] = challenge
                return start_response(status, headers, *rest)

            return self.app(environ, remember)
        if path == "/oauth2/token" and method == "POST":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            form = parse_qs(body.decode())
            challenge = self.challenges.pop(form.get("code", [""])[0], None)
            verifier = form.get("code_verifier", [""])[0].encode()
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
            if challenge is None or digest.decode() != challenge:
                self.refused += 1
                return self._refuse(start_response, "invalid_grant")
            environ["wsgi.input"] = io.BytesIO(body)
        return self.app(environ, start_response)

    @staticmethod
    def _refuse(start_response: Callable[..., Any], error: str) -> Iterable[bytes]:
        start_response("400 Bad Request", [("Content-Type", "application/json")])
        return [f'{{"error": "{error}"}}'.encode()]


@pytest.fixture(scope="module")
def pkce() -> PkceEnforcing:
    return PkceEnforcing(oidc_provider_mock.app(require_nonce=True))


@pytest.fixture(scope="module")
def provider(pkce: PkceEnforcing) -> Iterator[str]:
    server = werkzeug.serving.make_server("localhost", 0, pkce, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield f"http://localhost:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@pytest.fixture
def oidc_settings(runtime: Runtime, settings: Settings, provider: str) -> Settings:
    runtime.settings = settings.model_copy(
        update={
            "oidc_issuer": provider,
            "oidc_client_id": "eantrag",
            "oidc_client_secret": SecretStr("geheim"),
        }
    )
    return runtime.settings


def person_at_provider(provider: str, sub: str, **claims: object) -> None:
    response = httpx.put(f"{provider}/users/{sub}", json=claims)
    assert response.status_code == 204


async def start(client: httpx.AsyncClient, next_url: str = "/konto") -> str:
    """Click "Mit Dienstkonto anmelden": eantrag sends the browser to the provider."""
    response = await client.get("/login/oidc", params={"next": next_url})
    assert response.status_code == 303
    return response.headers["location"]


async def authorize_at_provider(authorize_url: str, sub: str) -> str:
    """The person logs in at the provider, which sends the browser back with a code."""
    async with httpx.AsyncClient() as browser:
        answer = await browser.post(authorize_url, data={"sub": sub})
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    assert back.path == "/login/oidc/callback"
    return f"{back.path}?{back.query}"


async def test_an_oidc_login_lands_in_a_session_with_authority_and_role(
    client: httpx.AsyncClient, runtime: Runtime, oidc_settings: Settings, provider: str
) -> None:
    person_at_provider(
        provider,
        "a1b2-c3",
        preferred_username="berta.leipzig",
        name="Berta Beispiel",
        groups=["/stadt-leipzig/clerk", "/alle-mitarbeitenden"],
    )
    login_page = (await client.get("/login")).text
    assert 'href="/login/oidc?next=/"' in login_page  # "Mit Dienstkonto anmelden"
    authorize_url = await start(client)
    sent = parse_qs(urlsplit(authorize_url).query)
    assert authorize_url.startswith(provider + "/oauth2/authorize?")
    assert sent["response_type"] == ["code"] and sent["client_id"] == ["eantrag"]
    assert sent["code_challenge_method"] == ["S256"] and len(sent["code_challenge"][0]) == 43
    assert sent["redirect_uri"] == ["http://testserver/login/oidc/callback"]
    assert "openid" in sent["scope"][0].split()

    callback = await authorize_at_provider(authorize_url, "a1b2-c3")
    landed = await client.get(callback)
    assert landed.status_code == 303 and landed.headers["location"] == "/konto"
    assert "eantrag_session" in client.cookies
    page = (await client.get("/konto")).text
    assert "Berta Beispiel" in page and "Stadt Leipzig" in page and "Sachbearbeitung" in page

    async with runtime.db.sessionmaker() as session:
        user = await session.scalar(select(User).where(User.subject == "a1b2-c3"))
        assert user is not None
        assert (user.username, user.authority_id, user.role) == (
            "berta.leipzig",
            LEIPZIG_ID,
            "clerk",
        )
        assert user.issuer == provider and user.password_hash is None
        methods = list(await session.scalars(select(PersonSession.method)))
    assert methods == ["oidc"]
    # The same session as a local login: the clerk API answers with Leipzig's cases.
    leipzig = await file_directly(runtime, await authority_message(runtime.blobs, LEIPZIG_ID))
    inbox = (await client.get("/v1/cases")).json()
    assert [c["id"] for c in inbox["items"]] == [str(leipzig.id)]


async def test_the_provider_s_groups_follow_the_person(
    client: httpx.AsyncClient, runtime: Runtime, oidc_settings: Settings, provider: str
) -> None:
    person_at_provider(provider, "wechsel", name="Wim Wechsel", groups=["/stadt-leipzig/clerk"])
    await client.get(await authorize_at_provider(await start(client), "wechsel"))
    person_at_provider(provider, "wechsel", name="Wim Wechsel", groups=["/triage"])
    await client.get(await authorize_at_provider(await start(client), "wechsel"))
    async with runtime.db.sessionmaker() as session:
        users = list(await session.scalars(select(User).where(User.subject == "wechsel")))
    assert [(u.authority_id, u.role) for u in users] == [(None, "triage")]
    assert (await client.get("/v1/triage")).status_code == 200


async def test_no_session_without_a_clear_authority_and_role(
    client: httpx.AsyncClient, runtime: Runtime, oidc_settings: Settings, provider: str
) -> None:
    for sub, groups in (
        ("zwei-rollen", ["/stadt-leipzig/clerk", "/stadt-dresden/clerk"]),
        ("ohne-gruppe", []),
        ("unbekannte-behoerde", ["/stadt-atlantis/clerk"]),
    ):
        person_at_provider(provider, sub, name=sub, groups=groups)
        refused = await client.get(await authorize_at_provider(await start(client), sub))
        assert refused.status_code == 403, sub
        assert "Anmeldung abgelehnt" in refused.text
        assert "eantrag_session" not in client.cookies


async def test_a_disabled_oidc_account_cannot_log_in(
    client: httpx.AsyncClient, runtime: Runtime, oidc_settings: Settings, provider: str
) -> None:
    person_at_provider(
        provider, "gesperrt", preferred_username="gesperrt", groups=["/stadt-leipzig/clerk"]
    )
    assert (
        await client.get(await authorize_at_provider(await start(client), "gesperrt"))
    ).status_code == 303
    async with runtime.db.transaction() as session:
        await service.disable(session, "gesperrt")
    assert (await client.get("/konto")).status_code == 303
    again = await client.get(await authorize_at_provider(await start(client), "gesperrt"))
    assert again.status_code == 403
    assert (await client.get("/konto")).status_code == 303  # no session


async def test_a_callback_that_is_not_this_login_s_is_refused(
    client: httpx.AsyncClient,
    runtime: Runtime,
    oidc_settings: Settings,
    provider: str,
    pkce: PkceEnforcing,
) -> None:
    person_at_provider(provider, "carla", name="Carla", groups=["/stadt-leipzig/clerk"])
    # A forged state.
    callback = await authorize_at_provider(await start(client), "carla")
    forged = callback.replace("state=", "state=x")
    assert (await client.get(forged)).status_code == 400
    # The code of one login with the state of another: its PKCE verifier is the other's.
    first = await authorize_at_provider(await start(client), "carla")
    second = await authorize_at_provider(await start(client), "carla")
    code_of_first = parse_qs(urlsplit(first).query)["code"][0]
    state_of_second = parse_qs(urlsplit(second).query)["state"][0]
    refused_before = pkce.refused
    mixed = await client.get(
        "/login/oidc/callback", params={"code": code_of_first, "state": state_of_second}
    )
    assert mixed.status_code == 403 and pkce.refused == refused_before + 1
    # A code is good once.
    assert (await client.get(second)).status_code == 303
    client.cookies.delete("eantrag_session")
    assert (await client.get(second)).status_code == 400  # the login state is used up
    assert "eantrag_session" not in client.cookies


async def test_forged_id_tokens_are_refused(oidc_settings: Settings, provider: str) -> None:
    oidc = OidcClient(oidc_settings)
    meta = await oidc.metadata()
    assert meta.issuer == provider
    claims = {"iss": provider, "aud": "eantrag", "sub": "x", "exp": 4102444800, "nonce": "n"}
    stranger = RSAKey.generate_key(2048, parameters={"kid": "fremd"})
    with pytest.raises(OidcError, match="signature"):
        await oidc.verify_id_token(
            jwt.encode({"alg": "RS256", "kid": "fremd"}, claims, stranger), "n"
        )
    hmac_key = OctKey.import_key(b"geheim-geheim-geheim-geheim-geheim")
    with pytest.raises(OidcError):
        await oidc.verify_id_token(jwt.encode({"alg": "HS256"}, claims, hmac_key), "n")
    payload = jwt.encode({"alg": "HS256"}, claims, hmac_key).split(".")[1]
    unsigned = "eyJhbGciOiJub25lIn0." + payload + "."  # {"alg":"none"}
    with pytest.raises(OidcError):
        await oidc.verify_id_token(unsigned, "n")


async def test_an_id_token_of_another_login_s_nonce_is_refused(
    client: httpx.AsyncClient, oidc_settings: Settings, provider: str
) -> None:
    person_at_provider(provider, "dora", name="Dora", groups=["/stadt-leipzig/clerk"])
    authorize_url = await start(client)
    callback = await authorize_at_provider(authorize_url, "dora")
    nonce = parse_qs(urlsplit(authorize_url).query)["nonce"][0]
    login_state = await read_state(client)
    oidc = OidcClient(oidc_settings)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    id_token = await oidc.exchange(code, login_state)
    assert (await oidc.verify_id_token(id_token, nonce))["sub"] == "dora"
    with pytest.raises(OidcError, match="nonce"):
        await oidc.verify_id_token(id_token, "the nonce of another login")


async def read_state(client: httpx.AsyncClient) -> AuthRequest:
    """The PKCE verifier of the login in progress, as eantrag keeps it in the signed cookie."""
    raw = client.cookies["eantrag_login"].split(".")[0]
    data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))["oidc"]
    return AuthRequest(data["state"], data["nonce"], data["verifier"])


def test_groups_map_to_one_authority_and_role() -> None:
    assert authority_and_role({"groups": ["/stadt-dresden/clerk"]}, "groups", "groups") == (
        "stadt-dresden",
        "clerk",
    )
    assert authority_and_role(
        {"groups": ["/eantrag/stadt-dresden/archivist", "/sport"]}, "groups", "groups"
    ) == ("stadt-dresden", "archivist")
    assert authority_and_role({"groups": ["/admin"]}, "groups", "groups") == (None, "admin")
    assert authority_and_role(
        {"authority": "stadt-leipzig", "roles": ["offline_access", "clerk"]}, "authority", "roles"
    ) == ("stadt-leipzig", "clerk")
    for claims in ({"groups": ["/a/clerk", "/b/clerk"]}, {"groups": "/a/unknown-role"}, {}):
        with pytest.raises(OidcError):
            authority_and_role(claims, "groups", "groups")
