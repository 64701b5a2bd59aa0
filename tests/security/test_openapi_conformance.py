"""The served OpenAPI document, fuzzed by schemathesis against the app in-process (on PostgreSQL):
no 5xx, every status code documented, every response body as its schema says."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from bootstrap.app import create_app
from eantrag.db import Database
from eantrag.settings import Settings
from tests.casefile.support import DRESDEN_ID, issue_token
from tests.conftest import truncate_all

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 40


def _labels() -> list[str]:
    """Every operation of the document (built without starting the app)."""
    document = create_app(Settings(amqp_url=None)).openapi()
    return [op.ok().label for op in schemathesis.openapi.from_dict(document).get_all_operations()]


@pytest.fixture(scope="module")
def served_app(pg_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    asyncio.run(truncate_all(pg_database_url))
    data = tmp_path_factory.mktemp("openapi-fuzz")
    return create_app(
        Settings(
            data_dir=data,
            database_url=pg_database_url,
            blob_url=(data / "blobs").as_uri(),
            amqp_url=None,
            public_base_url="http://testserver",
        )
    )


async def _tokens(database_url: str) -> dict[str, str]:
    db = Database(database_url, pool_size=1)
    try:
        return {
            "/v1/cases": (await issue_token(db, DRESDEN_ID)).token,
            "/v1/triage": (await issue_token(db, None, role="triage")).token,
        }
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def tokens(served_app: FastAPI, pg_database_url: str) -> dict[str, str]:
    """Valid tokens, so that the clerk and triage operations are fuzzed past authentication."""
    return asyncio.run(_tokens(pg_database_url))


@pytest.fixture(scope="module")
def operations(served_app: FastAPI) -> dict[str, Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", served_app)
    return {op.ok().label: op.ok() for op in schema.get_all_operations()}


@pytest.mark.parametrize("label", _labels())
def test_no_server_error_and_every_response_as_documented(
    operations: dict[str, Any], tokens: dict[str, str], label: str
) -> None:
    operation = operations[label]
    path = label.split(" ", 1)[1]
    token = next((t for prefix, t in tokens.items() if path.startswith(prefix)), None)
    headers = {"authorization": f"Bearer {token}"} if token else None

    @given(data=st.data())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(data: st.DataObject) -> None:
        case = data.draw(operation.as_strategy())
        case.call_and_validate(checks=CHECKS, headers=headers)

    run()
