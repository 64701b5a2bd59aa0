"""The real services a benchmark runs against, each fresh for the run and removed after it.

- a PostgreSQL database of its own, migrated to head (`EANTRAG_BENCH_PG`, default the local
  server as the tests use it);
- a RabbitMQ virtual host of its own (`rabbitmqctl` must work: the benchmark runs on the broker's
  machine), so that nothing else on the broker sees or disturbs its queues;
- server and worker processes (`eantrag serve`, `eantrag worker …`, the bare endpoint), started
  as real processes with their own environment and stopped at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from eantrag import schema
from eantrag.db import Database
from identity.portals import service as portal_service

PG_ADMIN_URL = os.environ.get(
    "EANTRAG_BENCH_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
AMQP_HOST = os.environ.get("EANTRAG_BENCH_AMQP", "amqp://guest:guest@127.0.0.1:5672")
ROOT = Path(__file__).resolve().parents[1]


async def _admin(statement: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


@contextlib.contextmanager
def pg_database(*, synchronous_commit: bool = True) -> Iterator[str]:
    """A fresh PostgreSQL database migrated to head; dropped afterwards.

    `synchronous_commit=False` is for diagnosis only: commits return before the WAL is on disk.
    """
    name = f"eantrag_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    if not synchronous_commit:
        asyncio.run(_admin(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        schema.upgrade(url)
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _rabbitmqctl(*args: str) -> None:
    # The CLI now and then fails to reach the node at once (and prints its usage): try again.
    for attempt in range(5):
        done = subprocess.run(
            ["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60, check=False
        )
        if done.returncode == 0:
            return
        time.sleep(1 + attempt)
    raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {done.stderr[-500:]}")


@contextlib.contextmanager
def amqp_vhost() -> Iterator[str]:
    """A RabbitMQ virtual host of its own for the guest user; deleted afterwards."""
    if shutil.which("rabbitmqctl") is None:
        raise RuntimeError("rabbitmqctl not found: the benchmark needs its own virtual host")
    vhost = f"eantrag-bench-{uuid.uuid4().hex[:8]}"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"{AMQP_HOST}/{vhost}"
    finally:
        with contextlib.suppress(subprocess.SubprocessError, RuntimeError):
            _rabbitmqctl("delete_vhost", vhost)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


UNLIMITED = "1000000000/minute"


async def portal_authorization(db: Database, client: httpx.AsyncClient) -> dict[str, str]:
    """Register a portal in the server's database and get its access token from the server,
    as a portal does: the `Authorization` header of every submission."""
    async with db.transaction() as session:
        new = portal_service.create_client(session, "bench", ["send:region:DE"])
    response = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(new.row.client_id, new.secret),
    )
    response.raise_for_status()
    return {"authorization": f"Bearer {response.json()['access_token']}"}


def portal_headers(database_url: str, base_url: str) -> dict[str, str]:
    """`portal_authorization` against a server process."""

    async def go() -> dict[str, str]:
        db = Database(database_url, pool_size=1)
        try:
            async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
                return await portal_authorization(db, client)
        finally:
            await db.dispose()

    return asyncio.run(go())


def service_env(**settings: str | None) -> dict[str, str]:
    """The environment of an eantrag process: `EANTRAG_*` from keyword arguments."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EANTRAG_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    env["EANTRAG_LOG_LEVEL"] = "WARNING"
    env["EANTRAG_LOG_FORMAT"] = "json"
    # One portal drives the whole load from one address: its limits are not what is measured.
    env["EANTRAG_RATE_LIMIT_INTAKE"] = UNLIMITED
    env["EANTRAG_RATE_LIMIT_STATUS"] = UNLIMITED
    for key, value in settings.items():
        if value is not None:
            env[f"EANTRAG_{key.upper()}"] = value
    return env


class Process:
    """A child process whose output goes to a log file, stopped with SIGINT, then killed."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log = log_dir / f"{name}.log"
        self._log = self.log.open("wb")
        self.popen = subprocess.Popen(
            args, env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 15) -> None:
        if self.alive():
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._log.close()

    def tail(self, lines: int = 30) -> str:
        text_lines = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text_lines[-lines:])


def eantrag(*args: str) -> list[str]:
    return [sys.executable, "-m", "bootstrap", *args]


def wait_http(url: str, process: Process, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited:\n{process.tail()}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{process.name} did not answer {url} within {timeout} s:\n{process.tail()}")


@contextlib.contextmanager
def processes() -> Iterator[list[Process]]:
    """Collects processes started in the block and stops them all at its end."""
    started: list[Process] = []
    try:
        yield started
    finally:
        for process in reversed(started):
            process.stop()
