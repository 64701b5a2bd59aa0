"""The process-wide components, built at start-up (never at import time) and closed at the end."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from eantrag.blobs import S3BlobStore, TieredBlobStore, create_blob_store
from eantrag.broker import Broker, DatabaseQueueBroker, Topology, use_topology
from eantrag.db import Database
from eantrag.models import InstanceSecret
from eantrag.outbox import OutboxRelay
from eantrag.settings import Settings

Worker = Callable[[], Awaitable[None]]


@dataclass
class Runtime:
    settings: Settings
    db: Database
    blobs: TieredBlobStore
    broker: Broker
    workers: dict[str, Worker] = field(default_factory=dict)

    async def secret(self, name: str) -> bytes:
        """A per-installation random secret, created on first use and shared by all replicas."""
        insert = pg_insert if self.db.dialect == "postgresql" else sqlite_insert
        async with self.db.transaction() as session:
            await session.execute(
                insert(InstanceSecret)
                .values(name=name, value=os.urandom(32))
                .on_conflict_do_nothing(index_elements=["name"])
            )
            value = await session.scalar(
                select(InstanceSecret.value).where(InstanceSecret.name == name)
            )
        assert value is not None
        return value

    async def close(self) -> None:
        await self.broker.close()
        await self.blobs.close()
        await self.db.dispose()


def open_blob_store(settings: Settings, db: Database) -> TieredBlobStore:
    """The configured blob store, with documents up to `blob_inline_max_bytes` in `db`."""
    inner = create_blob_store(
        settings.effective_blob_url,
        s3_endpoint=settings.s3_endpoint,
        s3_access_key=settings.s3_access_key.get_secret_value() if settings.s3_access_key else None,
        s3_secret_key=settings.s3_secret_key.get_secret_value() if settings.s3_secret_key else None,
        s3_region=settings.s3_region,
    )
    return TieredBlobStore(inner, db, settings.blob_inline_max_bytes)


def build_broker(settings: Settings, db: Database) -> Broker:
    """The broker of `settings`, with the topology they ask for (which becomes the process's)."""
    topology = Topology(
        renderings=settings.pdf_renderings, notifications=settings.smtp_url is not None
    )
    use_topology(topology)
    if settings.amqp_url:
        from eantrag.amqp import AmqpBroker

        return AmqpBroker(
            settings.amqp_url, retry_delays=settings.retry_delays_seconds, topology=topology
        )
    return DatabaseQueueBroker(db, retry_delays=settings.retry_delays_seconds, topology=topology)


# The infrastructure's own worker: it publishes the outbox.
OUTBOX_RELAY = "outbox-relay"


async def open_runtime(settings: Settings) -> Runtime:
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.effective_database_url, pool_size=settings.db_pool_size)
    blobs = open_blob_store(settings, db)
    if isinstance(blobs.inner, S3BlobStore):
        await blobs.inner.ensure_bucket()
    broker = build_broker(settings, db)
    await broker.start()
    runtime = Runtime(settings=settings, db=db, blobs=blobs, broker=broker)
    relay = OutboxRelay(
        db, broker, batch_size=settings.relay_batch_size, idle_seconds=settings.relay_idle_seconds
    )
    runtime.workers[OUTBOX_RELAY] = relay.run
    return runtime
