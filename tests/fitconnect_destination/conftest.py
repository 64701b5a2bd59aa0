"""A destination with real keys against the development stand-in of the Zustelldienst."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from eantrag.runtime import Runtime
from eantrag.settings import Settings
from fitconnect_destination import keys
from fitconnect_destination.consumers import open_destination
from fitconnect_destination.service import Destination
from fitconnect_destination.standin import RegisteredDestination, StandIn, running


@dataclass(frozen=True)
class KeyFiles:
    private_path: Path
    private: dict[str, Any]
    public: dict[str, Any]


def make_keys(directory: Path) -> KeyFiles:
    private, public = keys.generate()
    path = directory / "keys.jwks.json"
    keys.write_private(path, private)
    return KeyFiles(path, private, public)


@pytest.fixture(scope="session")
def destination_keys(tmp_path_factory: pytest.TempPathFactory) -> KeyFiles:
    """One RSA-4096 pair for the session: generating one takes seconds."""
    return make_keys(tmp_path_factory.mktemp("fitconnect-keys"))


@pytest.fixture(scope="session")
def other_keys(tmp_path_factory: pytest.TempPathFactory) -> KeyFiles:
    """Keys of another destination: a JWE for these is one for the wrong key."""
    return make_keys(tmp_path_factory.mktemp("fitconnect-other-keys"))


@dataclass
class Zustelldienst:
    state: StandIn
    url: str
    destination_id: str


@pytest.fixture
def zustelldienst(destination_keys: KeyFiles) -> Iterator[Zustelldienst]:
    state = StandIn()
    destination_id = str(uuid.uuid4())
    state.register(RegisteredDestination(destination_id, destination_keys.public))
    with running(state) as url:
        yield Zustelldienst(state, url, destination_id)


def fitconnect_settings(
    settings: Settings, service: Zustelldienst, key_files: KeyFiles, **extra: Any
) -> Settings:
    return settings.model_copy(
        update={
            "fitconnect_submission_api": service.url,
            "fitconnect_token_url": service.url + "/token",
            "fitconnect_client_id": service.state.client_id,
            "fitconnect_client_secret": SecretStr(service.state.client_secret),
            "fitconnect_destination_id": service.destination_id,
            "fitconnect_keys": key_files.private_path,
            **extra,
        }
    )


@pytest.fixture
async def destination(
    runtime: Runtime, zustelldienst: Zustelldienst, destination_keys: KeyFiles
) -> AsyncIterator[Destination]:
    runtime.settings = fitconnect_settings(runtime.settings, zustelldienst, destination_keys)
    dest = await open_destination(runtime)
    yield dest
    await dest.api.close()


def public_key(key_files: KeyFiles, op: str) -> dict[str, Any]:
    return keys.public_jwk(key_files.public, op)


def dump(value: Any) -> str:
    return json.dumps(value, indent=2)
