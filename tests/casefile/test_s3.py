"""The S3 adapter against a real HTTP S3 endpoint (moto's server), and filing into PostgreSQL
with the documents in S3."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bootstrap.app import create_app
from bootstrap.demo import example_cases
from bootstrap.wiring import open_pipeline
from eantrag.blobs import BlobNotFound, S3BlobStore, blob_key, read_all
from eantrag.runtime import Runtime
from eantrag.settings import Settings
from tests.casefile.support import DRESDEN_ID, LEIPZIG_ID, PIPELINE, bearer, issue_token, status_of
from tests.conftest import truncate_all
from tests.identity.support import as_portal
from tests.routing.support import import_example, wait_for, workers

pytestmark = pytest.mark.postgres


def s3_store(endpoint: str, bucket: str) -> S3BlobStore:
    return S3BlobStore(bucket, endpoint, "testing", "testing", "us-east-1")


async def test_put_read_exists_delete_and_ping(s3_endpoint: str) -> None:
    store = s3_store(s3_endpoint, f"blobs-{uuid.uuid4().hex[:8]}")
    with pytest.raises(OSError):
        await store.ping()
    await store.ensure_bucket()
    await store.ping()

    data = b"<antrag>" + b"x" * 300_000 + b"</antrag>"  # more than one read chunk
    sha256 = hashlib.sha256(data).hexdigest()
    key = await store.put(io.BytesIO(data), sha256, len(data), "application/xml")
    assert key == blob_key(sha256)
    assert await store.exists(key)
    assert await read_all(store, key) == data
    assert await store.put(io.BytesIO(data), sha256, len(data), "application/xml") == key

    await store.delete(key)
    assert not await store.exists(key)
    assert not await store.exists(blob_key("0" * 64))
    with pytest.raises(BlobNotFound):
        await read_all(store, key)


@pytest.fixture
async def s3_runtime(
    pg_database_url: str, s3_endpoint: str, tmp_path: Path
) -> AsyncIterator[Runtime]:
    await truncate_all(pg_database_url)
    settings = Settings(
        data_dir=tmp_path,
        database_url=pg_database_url,
        blob_url=f"s3://cases-{uuid.uuid4().hex[:8]}",
        s3_endpoint=s3_endpoint,
        s3_access_key="testing",
        s3_secret_key="testing",
        s3_region="us-east-1",
        blob_inline_max_bytes=0,  # every document an S3 object, however small
        amqp_url=None,
        public_base_url="http://testserver",
        retry_delays_seconds=[1, 1],
    )
    runtime = await open_pipeline(settings)
    try:
        yield runtime
    finally:
        await runtime.close()


async def test_examples_are_filed_into_postgresql_with_documents_in_s3(
    s3_runtime: Runtime,
) -> None:
    runtime = s3_runtime
    assert isinstance(runtime.blobs.inner, S3BlobStore)
    await import_example(runtime.db)
    app = create_app(runtime.settings, runtime=runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await as_portal(client, runtime.db)
            receipts = []
            for case in example_cases():
                if case.expect_accept:
                    response = await client.post(
                        "/v1/applications",
                        content=case.body,
                        headers={"content-type": case.content_type},
                    )
                    assert response.status_code == 202, response.text
                    receipts.append(response.json())

            async def all_filed() -> bool:
                states = [(await status_of(client, r))["status"] for r in receipts]
                return all(s == "filed" for s in states)

            async with workers(runtime, *PIPELINE):
                await wait_for(all_filed, within=40)

            tokens = {a: (await issue_token(runtime.db, a)).token for a in (DRESDEN_ID, LEIPZIG_ID)}
            checked = 0
            for authority, token in tokens.items():
                inbox = (await client.get("/v1/cases", headers=bearer(token))).json()["items"]
                for summary in inbox:
                    detail = (
                        await client.get(f"/v1/cases/{summary['id']}", headers=bearer(token))
                    ).json()
                    assert detail["authority"]["id"] == authority
                    for document in detail["documents"]:
                        stored = await read_all(runtime.blobs.inner, blob_key(document["sha256"]))
                        assert hashlib.sha256(stored).hexdigest() == document["sha256"]
                        served = await client.get(document["href"], headers=bearer(token))
                        assert served.content == stored
                        checked += 1
                    receipt = next(
                        r for r in receipts if r["applicationId"] == detail["applicationId"]
                    )
                    original = next(d for d in detail["documents"] if d["kind"] == "original")
                    assert original["sha256"] == receipt["sha256"]
            assert checked >= 5 * 2 + 2  # originals, renderings, two attachments
