"""An S3 endpoint for casefile tests: moto's server, a real HTTP S3 API on a free local port."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.conftest import need_service


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        need_service("moto's S3 server", "install the dev extras: pip install -e '.[dev]'")
        raise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
