"""Shared fixtures: the embedded default (SQLite) and the real PostgreSQL, schema from alembic.

Tests that need a real service skip with a hint when it is missing, and fail under CI=true.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from bootstrap.app import create_app
from bootstrap.wiring import open_pipeline
from eantrag import schema
from eantrag.broker import Topology, use_topology
from eantrag.models import InlineBlob
from eantrag.runtime import Runtime
from eantrag.settings import Settings
from tests.identity.support import as_portal

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SHARED = ROOT.parent / "shared"
IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_URL = os.environ.get(
    "EANTRAG_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
AMQP_TEST_URL = os.environ.get("EANTRAG_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


@pytest.fixture(autouse=True)
def _process_topology() -> Iterator[None]:
    """A runtime makes its settings' topology the process's (`eantrag.broker.use_topology`);
    the next test starts from the default again, every queue bound."""
    yield
    use_topology(Topology())


def need_service(what: str, hint: str) -> None:
    """Skip (locally) or fail (CI) when a real service is unavailable."""
    message = f"{what} is not reachable; {hint}"
    if IN_CI:
        pytest.fail(message + " (CI=true: real-service tests must run)")
    pytest.skip(message)


def shared_dir(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        message = f"{path} is missing: the shared reference material must sit beside the repo"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


async def _pg_reachable() -> bool:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        await engine.dispose()


async def _create_pg_database(name: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()


async def _drop_pg_database(name: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, migrated to head."""
    if not asyncio.run(_pg_reachable()):
        need_service(
            "PostgreSQL at " + PG_ADMIN_URL,
            "start it with: pg_ctlcluster --skip-systemctl-redirect "
            "$(ls /etc/postgresql) main start",
        )
    name = f"eantrag_test_{uuid.uuid4().hex[:8]}"
    asyncio.run(_create_pg_database(name))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    schema.upgrade(url)
    yield url
    asyncio.run(_drop_pg_database(name))


async def truncate_all(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        tables = (
            (
                await conn.execute(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname='public' "
                        "AND tablename <> 'alembic_version'"
                    )
                )
            )
            .scalars()
            .all()
        )
        if tables:
            await conn.execute(
                text(
                    "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
                )
            )
    await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each storage test runs on the embedded default and on the real PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'eantrag.db'}"
        schema.upgrade(url)
        return url
    url: str = request.getfixturevalue("pg_database_url")
    asyncio.run(truncate_all(url))
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        blob_url=(tmp_path / "blobs").as_uri(),
        amqp_url=None,
        public_base_url="http://testserver",
        retry_delays_seconds=[1, 1],
        gc_freeze=False,  # the test process lives on; tests/eantrag/test_operations.py checks it
    )


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = await open_pipeline(settings)
    yield rt
    await rt.close()


@pytest.fixture
async def client(runtime: Runtime, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API in-process, without background workers (tests drive those explicitly)."""
    app = create_app(settings, runtime=runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            # a portal that may send everywhere, as every submission needs one
            yield await as_portal(c, runtime.db)


_MESSAGE_UUID = re.compile(rb'(nachrichtenUUID(?:>|"\s*:\s*"))[0-9a-fA-F-]{36}')


def new_message(document: bytes, message_uuid: str | None = None) -> bytes:
    """The example (XML or JSON) as a message of its own: another nachrichtenUUID.

    The same nachrichtenUUID again is a repeat of the message, filed once.
    """
    fresh = (message_uuid or str(uuid.uuid4())).encode()
    changed, count = _MESSAGE_UUID.subn(lambda m: m.group(1) + fresh, document, count=1)
    assert count == 1
    return changed


def break_postcode(document: bytes) -> bytes:
    """The first postcode made schema-invalid (a letter in front of the digits)."""
    broken, count = re.subn(rb"(postleitzahl>)(\d)", rb"\1x\2", document, count=1)
    assert count == 1
    return broken


def blob_files(settings: Settings) -> list[Path]:
    root = settings.data_dir / "blobs"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def stored_blobs(runtime: Runtime, settings: Settings) -> set[str]:
    """The keys of every stored blob: files in the blob directory and rows kept inline."""
    root = settings.data_dir / "blobs"
    keys = {path.relative_to(root).as_posix() for path in blob_files(settings)}
    async with runtime.db.sessionmaker() as session:
        keys.update((await session.scalars(select(InlineBlob.key))).all())
    return keys


async def purge_queues(url: str, *queues: str, delete: bool = False) -> None:
    """Empty (or delete) RabbitMQ queues that tests share; a missing queue is skipped."""
    import aio_pika
    from aio_pika.exceptions import ChannelClosed

    connection = await aio_pika.connect(url)
    async with connection:
        for name in queues:
            channel = await connection.channel()
            try:
                queue = await channel.declare_queue(name, passive=True)
            except ChannelClosed:
                continue
            if delete:
                await queue.delete(if_unused=False, if_empty=False)
            else:
                await queue.purge()
            await channel.close()


async def amqp_reachable(url: str = AMQP_TEST_URL, attempts: int = 1) -> bool:
    import aio_pika

    for attempt in range(attempts):
        try:
            connection = await asyncio.wait_for(aio_pika.connect(url), 5)
        except Exception:
            if attempt + 1 < attempts:
                await asyncio.sleep(0.5)
            continue
        await connection.close()
        return True
    return False


def rabbitmqctl(*args: str) -> bool:
    """rabbitmqctl, for setting up: True when it worked."""
    try:
        done = subprocess.run(["rabbitmqctl", *args], capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    """A RabbitMQ vhost of this test run's own, so that no other run on the broker (another
    checkout's tests, a benchmark) takes its messages or purges its queues."""
    if not asyncio.run(amqp_reachable()):
        need_service(f"RabbitMQ at {AMQP_TEST_URL}", "start it with: rabbitmq-server -detached")
    vhost = f"eantrag-test-{uuid.uuid4().hex[:8]}"
    if not (
        rabbitmqctl("add_vhost", vhost)
        and rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    ):
        need_service(f"rabbitmqctl add_vhost {vhost}", "run the tests as a user allowed to")
    url = AMQP_TEST_URL.rstrip("/") + "/" + vhost
    try:
        # A new vhost takes a moment to start on a busy broker.
        assert asyncio.run(amqp_reachable(url, attempts=40)), f"vhost {vhost} did not come up"
        yield url
    finally:
        rabbitmqctl("delete_vhost", vhost)
