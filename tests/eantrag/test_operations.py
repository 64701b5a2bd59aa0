"""Health, readiness, metrics, and the documents that must stay true to the code."""

from __future__ import annotations

import asyncio
import gc
import json
import platform
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from bootstrap.app import create_app
from bootstrap.openapi import render_openapi
from eantrag import heap
from eantrag.blobs import FileBlobStore
from eantrag.configdoc import END, START, config_table
from eantrag.runtime import Runtime
from eantrag.settings import Settings
from intake.models import Application
from tests.conftest import EXAMPLES, ROOT, break_postcode


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "blobs": "ok", "broker": "ok"}


async def test_readiness_reports_a_broken_blob_store(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    assert isinstance(runtime.blobs.inner, FileBlobStore)
    runtime.blobs.inner.root = blocker / "blobs"
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["blobs"].startswith("failed")


async def test_metrics_count_requests_and_validation_failures(client: httpx.AsyncClient) -> None:
    await client.post(
        "/v1/applications",
        content=break_postcode((EXAMPLES / "hundeanmeldung.xml").read_bytes()),
        headers={"content-type": "application/xml"},
    )
    text = (await client.get("/metrics")).text
    assert 'eantrag_validation_failures_total{form="hundeanmeldung",reason="xml.schema"}' in text
    assert (
        'eantrag_http_requests_total{method="POST",route="/v1/applications",status="422"}' in text
    )
    assert "eantrag_http_request_duration_seconds_bucket" in text


async def test_metrics_show_how_many_requests_share_a_commit(client: httpx.AsyncClient) -> None:
    def committed() -> float:
        sample = REGISTRY.get_sample_value(
            "eantrag_transaction_group_size_sum", {"committer": "intake"}
        )
        return sample or 0.0

    before = committed()
    body = (EXAMPLES / "hundeanmeldung.xml").read_bytes()
    responses = await asyncio.gather(
        *(
            client.post(
                "/v1/applications", content=body, headers={"content-type": "application/xml"}
            )
            for _ in range(8)
        )
    )
    assert [r.status_code for r in responses] == [202] * 8
    assert committed() - before == 8, "every accepted request is counted in one group"
    text = (await client.get("/metrics")).text
    assert 'eantrag_transaction_group_size_bucket{committer="intake",le="1.0"}' in text


def test_committed_openapi_document_matches_the_code() -> None:
    committed = (ROOT / "docs" / "openapi.json").read_text()
    assert json.loads(committed) == json.loads(render_openapi()), (
        "docs/openapi.json is stale: run `eantrag openapi --out docs/openapi.json`"
    )


def test_readme_configuration_table_matches_the_settings() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split(START, 1)[1].split(END, 1)[0].strip()
    assert table == config_table(), "README is stale: run `python -m eantrag.configdoc README.md`"


async def test_the_api_exempts_its_start_up_heap_from_full_collections(
    runtime: Runtime, settings: Settings
) -> None:
    app = create_app(settings.model_copy(update={"gc_freeze": True}), runtime=runtime)
    gc.unfreeze()
    try:
        async with app.router.lifespan_context(app):
            await asyncio.sleep(0.05)
            assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
    app = create_app(settings, runtime=runtime)  # gc_freeze=False
    async with app.router.lifespan_context(app):
        await asyncio.sleep(0.05)
        assert gc.get_freeze_count() == 0


_LARGE_REQUESTS = """
import resource, sys
from eantrag import heap
if sys.argv[1] == "keep":
    assert heap.keep_freed_memory(64 * 1024 * 1024)

def request():  # a large request's buffers, allocated and freed together
    buffers = [bytearray(size << 20) for size in (12, 5, 9)]
    del buffers

request(), request()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    request()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) // 5)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="tunes glibc's allocator only")
def test_a_tuned_process_reuses_freed_memory_instead_of_faulting_in_fresh_pages() -> None:
    def faults_per_request(mode: str) -> int:
        run = [sys.executable, "-c", _LARGE_REQUESTS, mode]
        return int(subprocess.run(run, capture_output=True, check=True, text=True).stdout)

    default, kept = faults_per_request("default"), faults_per_request("keep")
    assert default > 3000, "glibc's defaults should map (and fault in) most of the 26 MiB"
    assert kept < default // 50
    assert not heap.keep_freed_memory(0)


async def test_a_database_outage_is_a_503_with_retry_after_and_stores_nothing(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from eantrag.db import create_engine

    unreachable = (
        "postgresql+asyncpg://postgres@127.0.0.1:1/test"
        if runtime.db.dialect == "postgresql"
        else f"sqlite+aiosqlite:///{tmp_path / 'no-such-directory' / 'eantrag.db'}"
    )
    engine, sessionmaker = runtime.db.engine, runtime.db.sessionmaker
    runtime.db.engine = create_engine(unreachable)
    runtime.db.sessionmaker = async_sessionmaker(runtime.db.engine, expire_on_commit=False)
    try:
        body = (EXAMPLES / "hundeanmeldung.xml").read_bytes()
        response = await client.post(
            "/v1/applications", content=body, headers={"content-type": "application/xml"}
        )
        routes = await client.get(
            "/v1/routes", params={"leikaKey": "99102013104000", "ars": "146120000000"}
        )
    finally:
        await runtime.db.engine.dispose()
        runtime.db.engine, runtime.db.sessionmaker = engine, sessionmaker
    for answer in (response, routes):
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["retry-after"] == "5"
        assert answer.json()["code"] == "unavailable"
    async with runtime.db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Application)) == 0
