"""Real processes on PostgreSQL and RabbitMQ, for fault injection.

Each scenario gets a database and a RabbitMQ vhost of its own (so no other test's consumer can
take its messages, and no purge of theirs can drop them), an API replica (`eantrag serve
--no-workers`) and one process per worker (`eantrag worker <name>`). The load is a portal that
retries a failed submission with the same Idempotency-Key, as portals do; what counts as
acknowledged is every submission that got a 202 (or the 200 replay of one).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from casefile.models import Dokument, Vorgang
from eantrag import schema
from eantrag.blobs import TieredBlobStore, create_blob_store, read_all
from eantrag.db import Database
from intake.models import Application
from routing import service as routing_service
from routing.xzufi import read_xzufi
from tests.conftest import AMQP_TEST_URL, EXAMPLES, PG_ADMIN_URL
from tests.identity.support import PortalAuth, register, token_for

DIRECTORY = EXAMPLES / "directory-sachsen.xml"
UUID_IN_HEADER = re.compile(rb"<basis:nachrichtenUUID>[0-9a-f-]{36}</basis:nachrichtenUUID>")
DOCUMENTS = [(EXAMPLES / name).read_bytes() for name in ("hundeanmeldung.xml", "wohngeld.xml")]


def unique_document(n: int) -> bytes:
    """An example with a fresh message UUID, so every application has bytes of its own."""
    document = DOCUMENTS[n % len(DOCUMENTS)]
    fresh = f"<basis:nachrichtenUUID>{uuid.uuid4()}</basis:nachrichtenUUID>".encode()
    changed, count = UUID_IN_HEADER.subn(fresh, document, count=1)
    assert count == 1
    return changed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def run(*command: str, check: bool = True) -> str:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    if check and process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {output.decode(errors='replace')}")
    return output.decode(errors="replace")


async def admin_sql(statement: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


@dataclass
class Process:
    name: str
    command: list[str]
    popen: subprocess.Popen[bytes]
    log: Path


@dataclass
class Stack:
    """One scenario's database, vhost, blob directory and processes."""

    root: Path
    name: str = field(default_factory=lambda: f"eantrag_fault_{uuid.uuid4().hex[:10]}")
    blob_dir: Path = field(
        default_factory=lambda: Path(
            tempfile.mkdtemp(
                prefix="eantrag-blobs-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None
            )
        )
    )
    """Blobs on tmpfs where there is one: SIGKILL and service restarts keep what a process
    wrote (the page cache survives them), and the test need not wait for the disk."""
    port: int = field(default_factory=free_port)
    processes: dict[str, Process] = field(default_factory=dict)

    @property
    def database_url(self) -> str:
        return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + self.name

    @property
    def amqp_url(self) -> str:
        return AMQP_TEST_URL.rstrip("/") + "/" + self.name

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "EANTRAG_DATABASE_URL": self.database_url,
            "EANTRAG_AMQP_URL": self.amqp_url,
            "EANTRAG_DATA_DIR": str(self.root / "data"),
            "EANTRAG_BLOB_URL": self.blob_dir.as_uri(),
            "EANTRAG_PUBLIC_BASE_URL": self.base_url,
            "EANTRAG_LOG_LEVEL": "WARNING",
            "EANTRAG_LOG_FORMAT": "json",
            "EANTRAG_RETRY_DELAYS_SECONDS": "[1, 2, 4, 8]",
            "EANTRAG_RELAY_IDLE_SECONDS": "0.2",
            "EANTRAG_DB_POOL_SIZE": "8",
            # one portal sends the whole load: its rate limit is not what is tested here
            "EANTRAG_RATE_LIMIT_INTAKE": "1000000/minute",
        }

    async def create(self) -> None:
        await admin_sql(f'CREATE DATABASE "{self.name}"')
        await asyncio.to_thread(schema.upgrade, self.database_url)
        await run("rabbitmqctl", "-q", "add_vhost", self.name)
        await run(
            "rabbitmqctl", "-q", "set_permissions", "-p", self.name, "guest", ".*", ".*", ".*"
        )
        db = Database(self.database_url, pool_size=2)
        try:
            async with db.transaction() as session:
                await routing_service.import_directory(session, read_xzufi(DIRECTORY))
        finally:
            await db.dispose()

    def start(self, name: str, *args: str) -> Process:
        log = self.root / f"{name}.log"
        command = [sys.executable, "-m", "bootstrap", *args]
        with log.open("ab") as out:
            popen = subprocess.Popen(
                command,
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        process = Process(name, command, popen, log)
        self.processes[name] = process
        return process

    async def start_api(self) -> None:
        self.start("api", "serve", "--no-workers", "--host", "127.0.0.1", "--port", str(self.port))
        await self.wait_healthy()

    async def wait_healthy(self, within: float = 30) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as client:
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/healthz")).status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise AssertionError(f"the API did not come up; see {self.root / 'api.log'}")

    async def worker_names(self) -> list[str]:
        output = await run(sys.executable, "-m", "bootstrap", "workers")
        return [line.strip() for line in output.splitlines() if line.strip()]

    def start_workers(self, names: list[str]) -> None:
        for name in names:
            self.start(name, "worker", name)

    def kill(self, name: str) -> None:
        """kill -9 of one process this stack started."""
        process = self.processes[name]
        os.kill(process.popen.pid, signal.SIGKILL)
        process.popen.wait(timeout=10)

    async def restart(self, name: str, after: float = 0.5) -> None:
        process = self.processes[name]
        self.kill(name)
        await asyncio.sleep(after)
        self.start(name, *process.command[3:])
        if name == "api":
            await self.wait_healthy()

    async def close(self) -> None:
        for process in self.processes.values():
            if process.popen.poll() is None:
                os.kill(process.popen.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(process.popen.pid, signal.SIGKILL)
                process.popen.wait(timeout=10)
        with contextlib.suppress(Exception):
            await run("rabbitmqctl", "-q", "delete_vhost", self.name)
        with contextlib.suppress(Exception):
            await admin_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        shutil.rmtree(self.blob_dir, ignore_errors=True)

    def logs(self) -> str:
        tails = []
        for process in self.processes.values():
            if process.log.exists():
                lines = process.log.read_text(errors="replace").splitlines()[-15:]
                tails.append(f"--- {process.name}\n" + "\n".join(lines))
        return "\n".join(tails)


@dataclass
class Load:
    """Submissions, each retried with its Idempotency-Key until acknowledged or out of time."""

    stack: Stack
    total: int
    concurrency: int = 48
    deadline: float = 420.0  # generous: a loaded 2-core machine submits at 30-60/s
    acknowledged: dict[str, str] = field(default_factory=dict)  # application id → sha256
    keys: dict[str, str] = field(default_factory=dict)  # idempotency key → application id
    failures: int = 0
    refused: list[str] = field(default_factory=list)
    _progress: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, faults: list[tuple[float, Callable[[], Awaitable[None]]]]) -> None:
        """Submit everything; each fault runs once its share of acknowledgements is reached."""
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(self.total):
            queue.put_nowait(n)
        stop_at = time.monotonic() + self.deadline
        limits = httpx.Limits(max_connections=self.concurrency)
        async with httpx.AsyncClient(
            base_url=self.stack.base_url, timeout=10, limits=limits
        ) as client:
            await self._as_portal(client)
            senders = [
                asyncio.create_task(self._send(client, queue, stop_at))
                for _ in range(self.concurrency)
            ]
            for share, fault in faults:
                while len(self.acknowledged) < share * self.total and not all(
                    s.done() for s in senders
                ):
                    self._progress.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._progress.wait(), 1)
                await fault()
            await asyncio.gather(*senders)

    async def _as_portal(self, client: httpx.AsyncClient) -> None:
        """A registered portal's token on every submission, as in production."""
        db = Database(self.stack.database_url, pool_size=1)
        try:
            client_id, secret = await register(db)
        finally:
            await db.dispose()
        client.auth = PortalAuth(await token_for(client, client_id, secret))

    async def _send(
        self, client: httpx.AsyncClient, queue: asyncio.Queue[int], stop_at: float
    ) -> None:
        while not queue.empty():
            n = queue.get_nowait()
            body = unique_document(n)
            key = f"fault-{n}-{uuid.uuid4().hex[:6]}"
            while time.monotonic() < stop_at:
                try:
                    response = await client.post(
                        "/v1/applications",
                        content=body,
                        headers={"content-type": "application/xml", "Idempotency-Key": key},
                    )
                except httpx.HTTPError:
                    self.failures += 1
                    await asyncio.sleep(0.2)
                    continue
                if response.status_code in (200, 202):
                    receipt = response.json()
                    assert receipt["sha256"] == hashlib.sha256(body).hexdigest()
                    self.acknowledged[receipt["applicationId"]] = receipt["sha256"]
                    previous = self.keys.setdefault(key, receipt["applicationId"])
                    assert previous == receipt["applicationId"], "a replay named another id"
                    self._progress.set()
                    break
                if response.status_code >= 500:
                    self.failures += 1
                    await asyncio.sleep(0.2)
                    continue
                self.refused.append(f"{response.status_code} {response.text[:200]}")
                break


@dataclass
class Filed:
    """What the case files hold for the acknowledged applications."""

    filed: int
    missing: list[str]
    duplicated: list[str]
    wrong_hash: list[str]
    unknown_to_intake: list[str]


async def filing_state(stack: Stack, acknowledged: dict[str, str]) -> Filed:
    engine = create_async_engine(stack.database_url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(Vorgang.application_id, Dokument.sha256, Dokument.blob_key)
                    .join(Dokument, Dokument.vorgang_id == Vorgang.id)
                    .where(Dokument.kind == "original")
                )
            ).all()
            known = (
                set(
                    (
                        await conn.execute(
                            select(Application.id).where(
                                Application.id.in_([uuid.UUID(a) for a in acknowledged])
                            )
                        )
                    ).scalars()
                )
                if acknowledged
                else set()
            )
            counts = dict(
                (
                    await conn.execute(
                        select(Vorgang.application_id, func.count()).group_by(
                            Vorgang.application_id
                        )
                    )
                ).all()
            )
    finally:
        await engine.dispose()
    seen: dict[str, list[tuple[str, str]]] = {}
    for application_id, sha256, blob_key in rows:
        seen.setdefault(str(application_id), []).append((sha256, blob_key))
    missing = [a for a in acknowledged if a not in seen]
    duplicated = [a for a, docs in seen.items() if len(docs) > 1]
    duplicated += [str(a) for a, n in counts.items() if n > 1]
    wrong = [a for a, sha in acknowledged.items() if a in seen and seen[a][0][0] != sha]
    return Filed(
        filed=sum(1 for a in acknowledged if a in seen),
        missing=missing,
        duplicated=sorted(set(duplicated)),
        wrong_hash=wrong,
        unknown_to_intake=[a for a in acknowledged if uuid.UUID(a) not in known],
    )


async def stored_bytes_match(stack: Stack, acknowledged: dict[str, str]) -> list[str]:
    """Applications whose filed original, read back from the blob store, has another hash."""
    engine = create_async_engine(stack.database_url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(Vorgang.application_id, Dokument.blob_key)
                    .join(Dokument, Dokument.vorgang_id == Vorgang.id)
                    .where(Dokument.kind == "original")
                )
            ).all()
    finally:
        await engine.dispose()
    db = Database(stack.database_url)
    # reads look in both tiers: small originals are rows, the rest files
    blobs = TieredBlobStore(create_blob_store(stack.blob_dir.as_uri()), db, inline_max=0)
    wrong = []
    try:
        for application_id, blob_key in rows:
            expected = acknowledged.get(str(application_id))
            if expected is None:
                continue
            if hashlib.sha256(await read_all(blobs, blob_key)).hexdigest() != expected:
                wrong.append(str(application_id))
    finally:
        await blobs.close()
        await db.dispose()
    return wrong


async def where_are(stack: Stack, application_ids: list[str]) -> str:
    """For a failure message: where the pipeline holds applications that were not filed."""
    ids = [uuid.UUID(a) for a in application_ids]
    engine = create_async_engine(stack.database_url)
    try:
        async with engine.connect() as conn:
            statuses = dict(
                (
                    await conn.execute(
                        select(Application.status, func.count())
                        .where(Application.id.in_(ids))
                        .group_by(Application.status)
                    )
                ).all()
            )
            outbox = (await conn.execute(text("SELECT count(*) FROM outbox"))).scalar()
            decided = (
                await conn.execute(
                    text("SELECT count(*) FROM routing_decisions WHERE application_id = ANY(:ids)"),
                    {"ids": ids},
                )
            ).scalar()
    finally:
        await engine.dispose()
    queues = await run(
        "rabbitmqctl", "-q", "list_queues", "-p", stack.name, "name", "messages", check=False
    )
    busy = [line for line in queues.splitlines() if line.strip() and not line.endswith("\t0")]
    return (
        f"intake status of those not filed: {statuses}; routing decisions: {decided}; "
        f"outbox rows: {outbox}; non-empty queues: {busy}"
    )
