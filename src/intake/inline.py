"""Attachments carried inline (xs:base64Binary): decoded strictly, checked against the
type's length facets, hashed and spooled apart, the record keeping a reference in their place."""

from __future__ import annotations

import contextlib
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pybase64

from eantrag.blobs import HashingSpool, blob_key
from intake.errors import Invalid, Violation
from intake.xsd import OctetLimits

INLINE_HASH_IN_THREAD = 256 * 1024
"""Inline content from this size on is hashed and spooled in a background thread."""
_hashing: ThreadPoolExecutor | None = None


def _hashing_pool() -> ThreadPoolExecutor:
    global _hashing
    if _hashing is None:
        _hashing = ThreadPoolExecutor(max_workers=2, thread_name_prefix="intake-hash")
    return _hashing


def _decode_base64(text: str) -> bytes:
    """Decode xs:base64Binary strictly, whitespace allowed between the characters.

    libxml2 skips characters outside the Base64 alphabet when it validates; the XSD (and the JSON
    Schema) do not allow them, so neither does intake.
    """
    try:
        return pybase64.b64decode(text, validate=True)
    except ValueError:
        pass
    try:
        return pybase64.b64decode("".join(text.split()), validate=True)
    except ValueError as exc:
        raise Invalid(
            [Violation("xml.base64", "inhalt", f"the content is not valid Base64: {exc}")]
        ) from None


def _decode_checked(text: str, octets: OctetLimits | None) -> bytes:
    """Decode strictly and check the type's length facets: all that `validation_xsd` leaves
    libxml2 no longer checking of an xs:base64Binary value."""
    content = _decode_base64(text)
    too = octets.check(len(content)) if octets is not None else None
    if too is not None:
        raise Invalid([Violation("xml.schema", "inhalt", too)])
    return content


class Base64Check:
    """The binary hook of a validator without `InlineAttachments`: checks each value, and the
    record keeps its Base64 (whitespace dropped, as in JSON)."""

    def __init__(self, octets: OctetLimits | None) -> None:
        self.octets = octets

    def __call__(self, text: str) -> str:
        _decode_checked(text, self.octets)
        return "".join(text.split())


class InlineAttachments:
    """Attachments a document carries inline, each decoded into its own spool.

    Used as the record reader's binary hook: it gets the Base64 text of one `inhalt` as soon as
    the element ends, and the record keeps `{"blobKey", "sha256", "size"}` in its place — the key
    the content-addressed blob store will give the bytes. The same content twice is one spool.

    Decoding is SIMD-fast; hashing (SHA-256 and SHA-512) is not, so large content is hashed in a
    background thread while the parser goes on (hashlib runs without the GIL). The references
    are complete once `finish()` returned; until then at most `MAX_PENDING` contents wait.
    One is enough to keep the parser and the hashing busy at once; each more holds another
    decoded attachment (up to 6 MiB) in memory for no gain in speed.
    """

    MAX_PENDING = 1

    def __init__(self, memory_limit: int = 1024 * 1024) -> None:
        self.memory_limit = memory_limit
        self.spools: dict[str, HashingSpool] = {}
        self._pending: list[tuple[Future[HashingSpool], dict[str, Any]]] = []
        self.octets: OctetLimits | None = None
        """The length facets of the form's xs:base64Binary type, which the schema that libxml2
        validates with leaves to this decoder (`validation_xsd`)."""

    def __call__(self, base64_text: str) -> dict[str, Any]:
        content = _decode_checked(base64_text, self.octets)
        reference: dict[str, Any] = {}
        if len(content) < INLINE_HASH_IN_THREAD:
            self._keep(self._spool(content), reference)
            return reference
        if len(self._pending) >= self.MAX_PENDING:
            self._settle(self._pending.pop(0))
        self._pending.append((_hashing_pool().submit(self._spool, content), reference))
        return reference

    def _spool(self, content: bytes) -> HashingSpool:
        spool = HashingSpool(self.memory_limit, "application/octet-stream")
        try:
            spool.write(content)
        except BaseException:
            spool.close()
            raise
        return spool

    def _settle(self, pending: tuple[Future[HashingSpool], dict[str, Any]]) -> None:
        future, reference = pending
        self._keep(future.result(), reference)

    def _keep(self, spool: HashingSpool, reference: dict[str, Any]) -> None:
        sha256 = spool.sha256
        if sha256 in self.spools:
            spool.close()
        else:
            self.spools[sha256] = spool
        reference.update(blobKey=blob_key(sha256), sha256=sha256, size=spool.size)

    def finish(self) -> None:
        """Wait for the contents still being hashed and complete their references."""
        while self._pending:
            self._settle(self._pending.pop(0))

    def close(self) -> None:
        for future, _reference in self._pending:
            with contextlib.suppress(Exception):
                future.result().close()
        self._pending.clear()
        for spool in self.spools.values():
            spool.close()
        self.spools.clear()
