"""The Keycloak realm of compose.yaml (deploy/keycloak/eantrag-realm.json) fits what eantrag
reads: its groups map to authorities of the demo directory and to roles, its client does the
authorization code flow with PKCE and puts the groups into the ID token."""

from __future__ import annotations

import json
import re

import yaml

from eantrag.settings import Settings
from identity.people.oidc import authority_and_role
from routing.xzufi import read_xzufi
from tests.conftest import EXAMPLES, ROOT

REALM = ROOT / "deploy" / "keycloak" / "eantrag-realm.json"


def _paths(groups: list[dict[str, object]]) -> list[str]:
    found = []
    for group in groups:
        found.append(str(group["path"]))
        found += _paths(group.get("subGroups", []))  # type: ignore[arg-type]
    return found


def test_every_demo_user_maps_to_one_known_authority_and_role() -> None:
    realm = json.loads(REALM.read_text())
    authorities = set(read_xzufi(EXAMPLES / "directory-sachsen.xml").authorities)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    paths = set(_paths(realm["groups"]))
    for authority in authorities:
        assert f"/{authority}/clerk" in paths  # every demo authority has its clerks' group
    seen = set()
    for user in realm["users"]:
        assert set(user["groups"]) <= paths and not user["requiredActions"]
        claims = {settings.oidc_authority_claim: user["groups"]}
        authority, role = authority_and_role(
            claims, settings.oidc_authority_claim, settings.oidc_role_claim
        )
        assert authority is None or authority in authorities
        seen.add(role)
    assert seen == {"clerk", "triage", "archivist"}


def test_the_client_does_pkce_and_puts_the_groups_into_the_id_token() -> None:
    realm = json.loads(REALM.read_text())
    (client,) = realm["clients"]
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    env = compose["x-eantrag"]["environment"]
    assert client["clientId"] == env["EANTRAG_OIDC_CLIENT_ID"]
    # one secret from .env for both: Keycloak substitutes it into the realm at the import
    keycloak = compose["services"]["keycloak"]["environment"]
    assert client["secret"] == "${OIDC_CLIENT_SECRET}"
    assert env["EANTRAG_OIDC_CLIENT_SECRET"] == keycloak["OIDC_CLIENT_SECRET"]
    assert env["EANTRAG_OIDC_CLIENT_SECRET"].startswith("${OIDC_CLIENT_SECRET:?")
    assert env["EANTRAG_OIDC_ISSUER"].endswith("/realms/" + realm["realm"])
    assert client["standardFlowEnabled"] and not client["implicitFlowEnabled"]
    assert not client["publicClient"] and not client["directAccessGrantsEnabled"]
    assert client["attributes"]["pkce.code.challenge.method"] == "S256"
    # compose takes the base URL from the env file, with a default: `${VAR:-default}`
    base = re.sub(r"\$\{\w+:-(.*)\}", r"\1", env["EANTRAG_PUBLIC_BASE_URL"])
    redirect = Settings(public_base_url=base).effective_oidc_redirect_url
    assert client["redirectUris"] == [redirect]
    (mapper,) = client["protocolMappers"]
    assert mapper["protocolMapper"] == "oidc-group-membership-mapper"
    assert mapper["config"]["claim.name"] == env["EANTRAG_OIDC_AUTHORITY_CLAIM"] == "groups"
    assert mapper["config"]["full.path"] == "true" and mapper["config"]["id.token.claim"] == "true"
    assert "keycloak.localhost" in compose["services"]["keycloak"]["networks"]["default"]["aliases"]
