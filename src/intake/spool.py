"""Bytes as received, hashed as they arrive, kept in memory or a temporary file until stored."""

from __future__ import annotations

from eantrag.blobs import HashingSpool


class Spool(HashingSpool):
    """A part of a submission: the blob layer's hashing spool (SHA-256 and SHA-512, the latter
    for FIT-Connect's metadata) with the media type it came with."""

    def __init__(self, memory_limit: int, media_type: str) -> None:
        super().__init__(memory_limit)
        self.media_type = media_type
