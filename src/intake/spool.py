"""Bytes as received, hashed as they arrive, kept in memory or a temporary file until stored."""

from __future__ import annotations

import hashlib
import tempfile
from typing import IO


class Spool:
    """Bytes with their SHA-256 and SHA-512, kept until they are stored."""

    def __init__(self, memory_limit: int, media_type: str) -> None:
        # Outlives this call: closed by its owner once the bytes are stored.
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=memory_limit)  # noqa: SIM115
        self.media_type = media_type
        self.size = 0
        self._sha256 = hashlib.sha256()
        self._sha512 = hashlib.sha512()

    def write(self, chunk: bytes) -> None:
        self.file.write(chunk)
        self._sha256.update(chunk)
        self._sha512.update(chunk)
        self.size += len(chunk)

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    @property
    def sha512(self) -> str:
        return self._sha512.hexdigest()

    def read_all(self) -> bytes:
        self.file.seek(0)
        return self.file.read()

    def close(self) -> None:
        self.file.close()
