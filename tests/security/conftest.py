"""Fixtures of the security tests: a named pipe nobody may open, a TCP listener nobody may reach."""

from __future__ import annotations

import errno
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.hostile import counts


class Listener:
    """A local TCP server that records every connection made to it (and answers nothing)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.server.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "secret.fifo"
    os.mkfifo(path)
    return path


def fifo_untouched(path: Path) -> bool:
    """A FIFO can be opened for writing without blocking only while someone has it open to read;
    a reader that opened and closed it leaves no trace, so the parsers must not open it at all
    (they would block on it, which the request timeout catches)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        return exc.errno == errno.ENXIO
    os.close(fd)
    return False


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    found = counts()
    summary = ", ".join(f"{n} {media}" for media, n in sorted(found.items()))
    terminalreporter.write_line(f"hostile-input corpus: {sum(found.values())} cases ({summary})")
