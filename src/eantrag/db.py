"""Database engine, sessions, group commit and column types shared by every context."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import cache
from typing import Any, cast

import asyncpg
import orjson
from sqlalchemy import JSON, DateTime, MetaData, Table, event, insert, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from eantrag.metrics import GROUP_SIZE

# What a database outage looks like to a caller (restart, lost connection, refused or exhausted
# connections) — as opposed to an error in what was asked. Connection attempts surface the
# driver's own exceptions, unwrapped by SQLAlchemy.
OUTAGE_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    SQLAlchemyTimeoutError,
    ConnectionError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
)


def is_outage(exc: BaseException) -> bool:
    return isinstance(exc, OUTAGE_ERRORS) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on PostgreSQL and SQLite alike (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """Build the engine; SQLite gets WAL, full sync and immediate write transactions.

    JSON columns go through orjson (several times faster than the standard library on records).
    """
    json_args: dict[str, Any] = {"json_serializer": _json_text, "json_deserializer": orjson.loads}
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url, connect_args={"timeout": 30}, pool_size=5, max_overflow=5, **json_args
        )
        _tune_sqlite(engine)
        return engine
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, **json_args)
    _ping_when_idle(engine)
    return engine


def _ping(dbapi_connection: Any) -> None:
    dbapi_connection.ping()


# A connection that sat in the pool longer than this is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 1.0
_RETURNED = "eantrag_returned_at"


def _ping_when_idle(engine: AsyncEngine) -> None:
    """`pool_pre_ping`, but only for a connection that was idle: the ping is a transaction of
    its own (BEGIN, `;`, ROLLBACK), and pinging at every checkout was 17 % of the API process's
    CPU under load (`python -m bench pipeline --profile`). A connection in use a moment ago
    is alive or fails like any statement would (a disconnect invalidates the pool, so the next
    checkout gets a fresh connection); one that waited, e.g. through a database restart, is
    checked first and replaced without the caller noticing."""
    pool = engine.sync_engine

    @event.listens_for(pool, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_RETURNED] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED)
        if returned is None or time.monotonic() - returned < PING_AFTER_IDLE_SECONDS:
            return  # new, or in use a moment ago
        try:
            _ping(dbapi_connection)
        except Exception as exc:
            # the pool discards this connection and hands out another
            raise DisconnectionError(repr(exc)) from exc


READ_ONLY = "eantrag_read_only"


def _tune_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event decide how a transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock up front: a deferred transaction that reads and then writes
        # fails with SQLITE_BUSY instead of waiting when another writer got there first.
        # Only a reader (`Database.reader`) begins deferred: it never waits for the writer.
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """Owns the engine and hands out sessions; only the edges (request, consumer) commit."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine = create_engine(url, pool_size=pool_size)
        self.reader = self.engine.execution_options(**{READ_ONLY: True})
        """The engine for reads that must not wait for a writer (on SQLite, whose transactions
        otherwise take the write lock up front), e.g. while the caller holds a write
        transaction open on another connection."""
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.group = GroupCommitter(self)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work is committed when the block ends without error."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


Insert = tuple[Table, dict[str, Any]]
"""One row for one table."""


def table_of(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def column_values(instance: Any) -> dict[str, Any]:
    """An ORM object as the row of a plain insert (a generated primary key left out)."""
    values = {}
    for column in table_of(type(instance)).columns:
        value = getattr(instance, column.key)
        if value is None and column.primary_key:
            continue
        values[column.key] = value
    return values


async def insert_rows(connection: AsyncSession | AsyncConnection, rows: Sequence[Insert]) -> None:
    """Insert rows of several tables, parents first, each table as one executemany.

    Far cheaper than the ORM's unit of work for rows that are only ever written once here.
    """
    by_table: dict[Table, list[dict[str, Any]]] = {}
    for table, row in rows:
        by_table.setdefault(table, []).append(row)
    for table in sorted(by_table, key=_dependency_rank):
        await connection.execute(_insert(table, _dialect(connection)), by_table[table])


def _dialect(connection: AsyncSession | AsyncConnection) -> str:
    if isinstance(connection, AsyncSession):
        return connection.get_bind().dialect.name
    return connection.dialect.name


@cache
def _insert(table: Table, dialect: str) -> Any:
    """A plain insert, or for a table marked `insert_skips_existing` (rows keyed by content)
    one that skips rows whose key is already there."""
    if not table.info.get("insert_skips_existing"):
        return insert(table)
    upsert = pg_insert if dialect == "postgresql" else sqlite_insert
    return upsert(table).on_conflict_do_nothing()


class GroupCommitter:
    """Commits the inserts of concurrent requests together: one transaction for many requests.

    One transaction per request caps a durable intake at the rate the database can flush its log,
    one flush per commit. Here each request hands over its rows (parents before children) and
    awaits its own outcome; whatever arrives while a batch is being committed forms the next
    batch, so batches grow with the load and a single request waits for one commit only. Up to
    `concurrency` batches are in flight on their own connections at once. Rows of one table are
    sent as one executemany.

    If a batch fails on a constraint (a duplicate Idempotency-Key, say), nothing of it is kept and
    each of its requests is committed on its own, so that only the offending one fails.
    """

    def __init__(self, db: Database, *, max_batch: int = 128, concurrency: int = 2) -> None:
        self.db = db
        self.max_batch = max_batch
        self.concurrency = concurrency
        self._pending: list[tuple[Sequence[Insert], asyncio.Future[None]]] = []
        self._flushes: set[asyncio.Task[None]] = set()
        self.batches = 0
        self.committed = 0

    async def insert(self, rows: Sequence[Insert]) -> None:
        """Insert `rows` in one transaction with whatever else is waiting; return once committed.

        Raises what the database raised for these rows (e.g. IntegrityError) — and only then.
        """
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((rows, future))
        self._schedule()
        await future

    def _schedule(self) -> None:
        if self._pending and len(self._flushes) < self.concurrency:
            task = asyncio.create_task(self._flush())
            self._flushes.add(task)
            task.add_done_callback(self._flushed)

    def _flushed(self, task: asyncio.Task[None]) -> None:
        self._flushes.discard(task)
        self._schedule()

    async def _flush(self) -> None:
        # Let the requests that are ready in this turn of the event loop join the batch.
        await asyncio.sleep(0)
        batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
        if not batch:
            return
        try:
            await self._commit([rows for rows, _ in batch])
        except IntegrityError as exc:
            if len(batch) == 1:
                _settle(batch[0][1], exc)
            else:
                await self._one_by_one(batch)
            return
        except Exception as exc:
            for _, future in batch:
                _settle(future, exc)
            return
        except BaseException:
            for _, future in batch:
                future.cancel()
            raise
        self.batches += 1
        self.committed += len(batch)
        GROUP_SIZE.labels("intake").observe(len(batch))
        for _, future in batch:
            _settle(future, None)

    async def _one_by_one(self, batch: list[tuple[Sequence[Insert], asyncio.Future[None]]]) -> None:
        for rows, future in batch:
            try:
                await self._commit([rows])
            except Exception as exc:
                _settle(future, exc)
            else:
                self.batches += 1
                self.committed += 1
                GROUP_SIZE.labels("intake").observe(1)
                _settle(future, None)

    async def _commit(self, units: list[Sequence[Insert]]) -> None:
        # A session (not a bare connection), so that its commit events fire like any other's:
        # the outbox relay is woken by the commit of outbox rows.
        async with self.db.transaction() as session:
            await insert_rows(session, [row for rows in units for row in rows])


@cache
def _dependency_rank(table: Table) -> int:
    """Parents before children, as the foreign keys say."""
    return table.metadata.sorted_tables.index(table)


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():  # the request gave up waiting; its rows are committed all the same
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
