"""Reading a request body into a validated submission, one chunk at a time.

Every byte is written to a spool (memory up to a limit, then a temporary file) and hashed as it
arrives; XML is fed to the streaming validator in the same pass. Nothing here touches the database
or the blob store: a rejected request leaves no trace.

Small bodies are read on the event loop: a few kilobytes cost less than a hop to a thread. A
large body (over `intake.offload.OFFLOAD_BYTES`, or of unknown length) is hashed, parsed and
validated in a thread of its own, so that a 100 MB document does not hold up the requests that
arrive meanwhile. A FIT-Connect envelope's rules are `intake.envelope`'s.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

from contracts.forms import FORMS, FormSpec
from eantrag.blobs import HashingSpool
from intake.envelope import (
    SUBMISSION_ID,
    ReceivedAttachment,
    check_data_matches,
    check_envelope,
    check_filename,
)
from intake.errors import (
    BadSubmission,
    Malformed,
    TooLarge,
    UnsupportedMediaType,
    Violation,
)
from intake.inline import InlineAttachments
from intake.offload import BodyWorker, offload
from intake.validation import ValidatedApplication, validate_json
from intake.xmlstream import SNIFF_LIMIT, XmlStreamValidator, finish_xml

__all__ = ["Limits", "ReceivedAttachment", "Submission", "receive"]

XML_TYPES = {"application/xml", "text/xml"}
JSON_TYPES = {"application/json"}
MULTIPART = "multipart/form-data"


@dataclass(frozen=True)
class Limits:
    max_body: int
    attachment_max: int
    spool_memory: int
    form_caps: dict[str, int]

    def form_cap(self, form: FormSpec) -> int:
        return min(self.form_caps.get(form.id, form.max_bytes), self.max_body)

    @property
    def largest_form_cap(self) -> int:
        return max(self.form_cap(form) for form in FORMS.values())


@dataclass
class Submission:
    application: ValidatedApplication
    original: HashingSpool
    attachments: list[ReceivedAttachment] = field(default_factory=list)
    metadata: dict[str, Any] | None = None
    inline: InlineAttachments | None = None
    submission_id: str | None = None

    @property
    def fingerprint(self) -> str:
        """Identity of the content for Idempotency-Key: the document plus its attachments."""
        parts = [self.original.sha256, *sorted(a.spool.sha256 for a in self.attachments)]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()

    def close(self) -> None:
        self.original.close()
        for attachment in self.attachments:
            attachment.spool.close()
        if self.inline is not None:
            self.inline.close()


def base_media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    if not content_type:
        return "", {}
    value, params = parse_options_header(content_type)
    return value.decode("latin-1").lower(), {
        k.decode("latin-1").lower(): v.decode("latin-1") for k, v in params.items()
    }


class _Capped:
    """Counts bytes against a limit and refuses with 413 as soon as it is crossed.

    A declared Content-Length over the limit is refused with the same words as soon as the
    limit is known (for XML: once the head names the form), so a sized upload and a chunked one
    of the same document are told the same limit.
    """

    def __init__(self, limit: int, what: str, declared: int | None = None) -> None:
        self.limit = limit
        self.what = what
        self.seen = 0
        self.declared = declared
        self.form: str | None = None

    def add(self, n: int) -> None:
        self.seen += n
        if max(self.seen, self.declared or 0) > self.limit:
            raise self.error()

    def set_limit(self, limit: int, form: FormSpec) -> None:
        self.limit, self.form = limit, form.id
        self.add(0)

    def error(self) -> TooLarge:
        of_form = f" of the form {self.form}" if self.form else ""
        return TooLarge(f"{self.what} exceeds the limit{of_form}: {self.limit} bytes")


async def receive(
    body: AsyncIterator[bytes],
    content_type: str | None,
    limits: Limits,
    today: date | None = None,
    content_length: int | None = None,
) -> Submission:
    """Read, spool, hash and validate a request body; raise a ProblemError if it is refused."""
    media_type, params = base_media_type(content_type)
    if media_type in XML_TYPES | JSON_TYPES:
        _refuse_charset(media_type, params)
    worker = BodyWorker(offload(content_length))
    if media_type in XML_TYPES:
        return await _receive_xml(body, media_type, limits, today, worker, content_length)
    if media_type in JSON_TYPES:
        return await _receive_json(body, media_type, limits, today, worker, content_length)
    if media_type == MULTIPART:
        boundary = params.get("boundary")
        if not boundary:
            raise Malformed(
                [
                    Violation(
                        "multipart.no_boundary",
                        "Content-Type",
                        "multipart/form-data needs a boundary",
                    )
                ]
            )
        return await _receive_multipart(body, boundary, limits, today, worker, content_length)
    raise UnsupportedMediaType(
        f"{media_type or 'no media type'} is not accepted; use application/xml, "
        "application/json or multipart/form-data"
    )


def _refuse_charset(media_type: str, params: dict[str, str]) -> None:
    """Only UTF-8: a charset parameter that names another encoding would override the XML
    declaration for some readers (RFC 7303) and not for others."""
    charset = params.get("charset")
    if charset is not None and charset.strip().lower() not in {"utf-8", "utf8"}:
        raise UnsupportedMediaType(
            f"{media_type}; charset={charset} is not accepted: documents are UTF-8",
            [Violation("media_type.charset", "Content-Type", "only charset=utf-8 is accepted")],
        )


class _XmlPart:
    """Feeds one XML document to the validator while spooling it, capped per form."""

    def __init__(
        self, limits: Limits, media_type: str, what: str, declared: int | None = None
    ) -> None:
        self.limits = limits
        self.spool = HashingSpool(limits.spool_memory, media_type)
        self.inline = InlineAttachments(limits.spool_memory)
        self.validator = XmlStreamValidator(replay=lambda: self.spool.file, inline=self.inline)
        # The declared length counts once the head has named the form and so its limit.
        self.cap = _Capped(limits.max_body, what)
        self.declared = declared

    def feed(self, chunk: bytes) -> None:
        if self.validator.form is None and len(chunk) > SNIFF_LIMIT:
            # Learn the form (and so its cap) from the head before libxml2 takes the rest.
            self.feed(chunk[:SNIFF_LIMIT])
            self.feed(chunk[SNIFF_LIMIT:])
            return
        self.cap.add(len(chunk))
        self.spool.write(chunk)
        self.validator.feed(chunk)
        form = self.validator.form
        if form is not None and self.cap.form is None:
            self.cap.declared = self.declared
            self.cap.set_limit(self.limits.form_cap(form), form)

    def finish(self, today: date | None) -> ValidatedApplication:
        return finish_xml(self.validator, today)

    def close(self) -> None:
        self.spool.close()
        self.inline.close()


async def _receive_xml(
    body: AsyncIterator[bytes],
    media_type: str,
    limits: Limits,
    today: date | None,
    worker: BodyWorker,
    declared: int | None,
) -> Submission:
    part = await worker.call(_XmlPart, limits, media_type, "the document", declared)
    try:
        async for chunk in body:
            await worker.feed(part.feed, chunk)
        await worker.flush(part.feed)
        application = await worker.call(part.finish, today)
    except BaseException:
        worker.close(part.close)
        raise
    worker.close()
    return Submission(application=application, original=part.spool, inline=part.inline)


def _check_json(
    spool: HashingSpool, limits: Limits, today: date | None, inline: InlineAttachments
) -> ValidatedApplication:
    application = validate_json(spool.read_all(), today=today, inline=inline)
    cap = _Capped(limits.form_cap(application.form), "the document")
    cap.form = application.form.id
    cap.add(spool.size)
    return application


async def _receive_json(
    body: AsyncIterator[bytes],
    media_type: str,
    limits: Limits,
    today: date | None,
    worker: BodyWorker,
    declared: int | None,
) -> Submission:
    spool = HashingSpool(limits.spool_memory, media_type)
    inline = InlineAttachments(limits.spool_memory)
    # The form is known only once the whole document is parsed: until then, the largest limit.
    cap = _Capped(limits.largest_form_cap, "the document", declared)
    cap.add(0)

    def consume(chunk: bytes) -> None:
        cap.add(len(chunk))
        spool.write(chunk)

    def close() -> None:
        spool.close()
        inline.close()

    try:
        async for chunk in body:
            await worker.feed(consume, chunk)
        await worker.flush(consume)
        application = await worker.call(_check_json, spool, limits, today, inline)
    except BaseException:
        worker.close(close)
        raise
    worker.close()
    return Submission(application=application, original=spool, inline=inline)


@dataclass
class _Part:
    name: str
    filename: str | None
    media_type: str
    spool: HashingSpool
    xml: _XmlPart | None = None


class _MultipartCollector:
    """Callbacks for python-multipart: each part goes to its own spool as it streams."""

    MAX_PARTS = 101
    MAX_HEADER_BYTES = 16 * 1024

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.parts: dict[str, _Part] = {}
        self.total = _Capped(limits.max_body, "the submission")
        self._headers: dict[str, str] = {}
        self._field = bytearray()
        self._value = bytearray()
        self._header_bytes = 0
        self._current: _Part | None = None
        self._cap: _Capped | None = None
        self.inline = InlineAttachments(limits.spool_memory)

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
        }

    def on_part_begin(self) -> None:
        self._headers = {}
        self._header_bytes = 0
        if len(self.parts) >= self.MAX_PARTS:
            raise BadSubmission(
                [Violation("multipart.too_many_parts", "/", f"more than {self.MAX_PARTS} parts")]
            )

    def _count_header(self, n: int) -> None:
        self._header_bytes += n
        if self._header_bytes > self.MAX_HEADER_BYTES:
            raise BadSubmission(
                [Violation("multipart.header_too_long", "/", "part headers too long")]
            )

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self._field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._field.decode("latin-1").lower()] = self._value.decode("latin-1")
        self._field.clear()
        self._value.clear()

    def on_headers_finished(self) -> None:
        disposition, params = base_media_type(self._headers.get("content-disposition"))
        name = params.get("name")
        if disposition != "form-data" or not name:
            raise BadSubmission(
                [
                    Violation(
                        "multipart.no_name",
                        "Content-Disposition",
                        "every part needs Content-Disposition: form-data; name=...",
                    )
                ]
            )
        if name in self.parts:
            raise BadSubmission(
                [Violation("multipart.duplicate_part", name, f"the part {name!r} appears twice")]
            )
        filename = params.get("filename")
        if filename is not None:
            check_filename(filename, name)
        media_type, type_params = base_media_type(self._headers.get("content-type"))
        if name == "data" and media_type in XML_TYPES | JSON_TYPES:
            _refuse_charset(media_type, type_params)
        media_type = media_type or (
            "application/json" if name == "metadata" else "application/octet-stream"
        )
        part = _Part(name, filename, media_type, HashingSpool(self.limits.spool_memory, media_type))
        if name == "data" and media_type in XML_TYPES:
            part.xml = _XmlPart(self.limits, media_type, "the data part")
            part.spool = part.xml.spool
        if name == "metadata":
            cap = 1024 * 1024
        elif name == SUBMISSION_ID:
            cap = 100
        elif name == "data":
            cap = self.limits.max_body
        else:
            cap = self.limits.attachment_max
        self._cap = _Capped(cap, f"the part {name!r}")
        self.parts[name] = part
        self._current = part

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        assert self._current is not None and self._cap is not None
        chunk = data[start:end]
        self._cap.add(len(chunk))
        if self._current.xml is not None:
            self._current.xml.feed(chunk)
        else:
            self._current.spool.write(chunk)

    def on_part_end(self) -> None:
        self._current = None

    def close(self) -> None:
        for part in self.parts.values():
            part.spool.close()
            if part.xml is not None:
                part.xml.close()
        self.inline.close()


async def _receive_multipart(
    body: AsyncIterator[bytes],
    boundary: str,
    limits: Limits,
    today: date | None,
    worker: BodyWorker,
    declared: int | None,
) -> Submission:
    collector = _MultipartCollector(limits)
    collector.total.declared = declared
    collector.total.add(0)
    try:
        parser = MultipartParser(boundary.encode("latin-1"), cast(Any, collector.callbacks()))
    except (FormParserError, UnicodeEncodeError) as exc:
        raise _malformed_multipart(exc) from None

    def consume(chunk: bytes) -> None:
        collector.total.add(len(chunk))
        try:
            parser.write(chunk)
        except FormParserError as exc:
            raise _malformed_multipart(exc) from None

    def finish() -> Submission:
        try:
            parser.finalize()
        except FormParserError as exc:
            raise _malformed_multipart(exc) from None
        if parser.state != MultipartState.END:
            raise Malformed(
                [Violation("multipart.truncated", "/", "the body ends before the closing boundary")]
            )
        return _assemble(collector, limits, today)

    try:
        async for chunk in body:
            await worker.feed(consume, chunk)
        await worker.flush(consume)
        submission = await worker.call(finish)
    except BaseException:
        worker.close(collector.close)
        raise
    worker.close()
    return submission


def _malformed_multipart(exc: Exception) -> Malformed:
    return Malformed([Violation("multipart.malformed", "/", str(exc)[:300])])


def _assemble(collector: _MultipartCollector, limits: Limits, today: date | None) -> Submission:
    """The FIT-Connect envelope checked (`intake.envelope`), then its data part validated."""
    parts = collector.parts
    envelope = check_envelope(parts)
    data_part = parts["data"]
    inline = collector.inline
    if data_part.xml is not None:
        application = data_part.xml.finish(today)
        inline = data_part.xml.inline
    elif data_part.media_type in JSON_TYPES:
        application = validate_json(data_part.spool.read_all(), today=today, inline=inline)
    else:
        raise UnsupportedMediaType(
            f"the data part is {data_part.media_type}; use application/xml or application/json"
        )
    cap = _Capped(limits.form_cap(application.form), "the data part")
    cap.form = application.form.id
    cap.add(data_part.spool.size)
    check_data_matches(envelope, application)

    parts["metadata"].spool.close()
    return Submission(
        application=application,
        original=data_part.spool,
        attachments=envelope.attachments,
        metadata=envelope.metadata,
        inline=inline,
        submission_id=envelope.submission_id,
    )
