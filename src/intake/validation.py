"""Streaming, hardened validation of XÖV XML and JSON applications, in bounded memory.

XML arrives in chunks and is fed to libxml2 as it comes, never buffered whole. The form is chosen
by the root element's namespace, which is known only once the root's start tag has been read, so a
small sniffing parser looks at the prolog first; then the schema-validating parser replays those
bytes and takes the rest. libxml2 reports schema errors only at `close()`: nothing is decided
before then.

Memory stays bounded whatever the size: libxml2 validates on the parser's SAX events, not on the
tree, so each child of the root is mapped into the record as soon as its end tag is read and then
dropped from the tree. Attachments carried inline (Base64) are decoded into their own spools at
that moment and the record keeps only a reference (`InlineAttachments`).

Hardening: no DTD loading, no entity expansion, no network, and any document with a DOCTYPE is
refused before its root is even looked at — an application has no business carrying one.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import IO, Any

import orjson
import pybase64
from lxml import etree
from pydantic import ValidationError

from contracts.forms import FORMS, FormSpec, form_by_namespace
from contracts.forms.simpletypes import FRIENDLY_REASONS
from contracts.forms.xmlmodel import RecordReader
from eantrag.blobs import HashingSpool, blob_key
from eantrag.problems import ProblemError
from intake.errors import Invalid, Malformed, UnknownForm, UnsupportedMediaType, Violation

SNIFF_LIMIT = 64 * 1024
SNIFF_STEP = 512
TREE_LIMIT = 8 * 1024 * 1024
"""Documents up to this size are parsed as a tree, then validated: faster than streaming
validation, and violations come with line and xpath. Larger ones are validated as they stream
and dropped from the tree child by child, in bounded memory."""
MAX_MARKUP_SPLITS = 2_000
"""References, CDATA sections, comments and PIs one document may hold. Each splits a text value
into pieces that libxml2's streaming validator joins at a quadratic cost: 4 million `&#65;` in
one 20 MiB document kept a core busy for four minutes. Legitimate messages have a handful."""
MAX_TAGS = 100_000
"""`<` one document may hold (start and end tags). One child of the root is held as a tree until
it ends: 5 million empty elements took 700 MB. The largest valid message has a few thousand."""
MAX_ATTRIBUTES = 20_000
"""`=` one document may hold. libxml2 reports each unexpected attribute of a start tag, and lxml
keeps every report: 1.5 million attributes on one element took 1.3 GB and 15 s."""
MAX_VIOLATIONS = 100
"""A problem lists at most this many violations (a hostile document can have millions)."""
MAX_JSON_VALUES = 100_000
UTF8_BOM = b"\xef\xbb\xbf"
"""Values (strings, numbers, objects, …) a JSON document may hold; the forms' largest valid
record has a few thousand. Beyond it pydantic would need gigabytes to say no."""
_NOT_MARKUP = bytes(set(range(256)) - set(b"<&=!?"))
_DECLARED_ENCODING = re.compile(rb"""<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']""")
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _hardened_parser(**extra: Any) -> etree.XMLPullParser:
    return etree.XMLPullParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        remove_blank_text=False,
        **extra,
    )


_schemas = threading.local()


def schema_for(form_id: str) -> etree.XMLSchema:
    """Compiled XSD of a form as intake validates with it (`validation_xsd`), once per thread
    (~2 ms).

    Not shared between threads: `XMLSchema.validate` keeps its error log on the schema object,
    so two threads validating at once could read each other's violations.
    """
    compiled: dict[str, etree.XMLSchema] = _schemas.__dict__.setdefault("forms", {})
    schema = compiled.get(form_id)
    if schema is None:
        schema = compiled[form_id] = etree.XMLSchema(validation_xsd(FORMS[form_id])[0])
    return schema


@cache
def octet_limits(form_id: str) -> OctetLimits | None:
    return validation_xsd(FORMS[form_id])[1]


XS = "http://www.w3.org/2001/XMLSchema"
_OCTET_FACETS = ("length", "minLength", "maxLength")


@dataclass(frozen=True)
class OctetLimits:
    """Length facets of an xs:base64Binary type: counted in decoded bytes."""

    min: int = 0
    max: int | None = None

    def check(self, size: int) -> str | None:
        """Why `size` bytes break the facets, or None."""
        if size < self.min:
            return f"the content has {size} bytes, the schema requires at least {self.min}"
        if self.max is not None and size > self.max:
            return f"the content has {size} bytes, the schema allows at most {self.max}"
        return None


def validation_xsd(form: FormSpec) -> tuple[etree._ElementTree, OctetLimits | None]:
    """The form's XSD with its xs:base64Binary types checked as strings, and their length facets.

    Intake decodes every xs:base64Binary value itself, strictly (`_decode_base64`, SIMD), to
    spool the bytes apart; libxml2's own check of the same Base64 runs at ~150 MB/s and was
    nine tenths of validating a document with large inline attachments (100 MB: 680 of 730 ms).
    In the copy that libxml2 compiles, those types restrict xs:string instead, without their
    length facets (which count decoded bytes there, characters here); intake checks the decoded
    bytes against those facets (`OctetLimits`). Every other facet and type stays libxml2's.

    The record reader hands every value of a field marked `BASE64_BINARY` to the decoder, and
    tests/contracts/forms/test_forms_schemas.py checks that those are exactly the elements of
    xs:base64Binary types, so no Base64 goes unchecked. Only the form's own XSD is changed,
    not the ones it imports.
    """
    xsd = etree.parse(str(form.xsd_path))
    found: set[OctetLimits] = set()
    for restriction in xsd.iter(f"{{{XS}}}restriction"):
        base = restriction.get("base", "")
        prefix, _, local = base.rpartition(":")
        if local != "base64Binary" or restriction.nsmap.get(prefix or None) != XS:
            continue
        facets: dict[str, int] = {}
        for facet in list(restriction):
            name = etree.QName(facet).localname if isinstance(facet.tag, str) else ""
            if name in _OCTET_FACETS:
                facets[name] = int(facet.get("value", "0"))
                restriction.remove(facet)
        restriction.set("base", f"{prefix}:string" if prefix else "string")
        exact = facets.get("length")
        found.add(
            OctetLimits(
                min=exact if exact is not None else facets.get("minLength", 0),
                max=exact if exact is not None else facets.get("maxLength"),
            )
        )
    if len(found) > 1:
        raise ValueError(
            f"{form.xsd_path.name}: xs:base64Binary types with different length facets "
            f"({sorted(found, key=repr)}); intake's decoder knows one set per form"
        )
    return xsd, next(iter(found), None)


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


class _Base64Check:
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


@dataclass
class ValidatedApplication:
    form: FormSpec
    record: dict[str, Any]
    representation: str  # "xml" | "json"


@dataclass
class XmlStreamValidator:
    """Feed request chunks with `feed()`, then `close()` for the verdict and the record.

    Up to `TREE_LIMIT` the chunks are only counted and kept; `close()` parses them as a tree and
    validates it. Past the limit the document is validated as it streams. Streaming validation
    tells *that* a document is invalid but not where (libxml2's SAX validation reports no line
    or path); on that rare path `replay` — the spooled bytes — is read once more to tell
    malformed from invalid and to name the violations.

    `inline` receives the Base64 content of inline attachments; without it the record keeps the
    Base64 text (fine for small documents, not for large ones).
    """

    expected_form: FormSpec | None = None
    replay: Callable[[], IO[bytes]] | None = None
    inline: InlineAttachments | None = None
    form: FormSpec | None = None
    size: int = 0
    _prefix: bytearray = field(default_factory=bytearray)
    _sniffer: etree.XMLPullParser | None = None
    _parser: etree.XMLPullParser | None = None
    _reader: RecordReader | None = None
    _failure: Exception | None = None
    _splits: int = 0
    _tags: int = 0
    _equals: int = 0
    _sniffed: int = 0
    _wellformed: etree.XMLParser | None = None
    _kept: list[bytes] = field(default_factory=list)
    _kept_size: int = 0

    def __post_init__(self) -> None:
        self._sniffer = _hardened_parser(events=("start",))

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.size += len(chunk)
        self._count_markup(chunk)
        if self._parser is not None:
            self._feed_validating(chunk)
            self._check_wellformed(chunk)
        elif self.form is not None:
            self._keep(chunk)
        else:
            self._prefix += chunk
            # Small steps: the sniffer needs the root's start tag only, not the whole chunk.
            for offset in range(0, len(chunk), SNIFF_STEP):
                if self._sniff(chunk[offset : offset + SNIFF_STEP]):
                    break

    def _keep(self, chunk: bytes) -> None:
        self._kept.append(chunk)
        self._kept_size += len(chunk)
        if self._kept_size > TREE_LIMIT:
            self._start_streaming()

    def _start_streaming(self) -> None:
        """Too large for a tree: validate what was kept, and from now on each chunk as it comes."""
        assert self.form is not None and self._reader is not None
        # End events only for the root's children (a C-level tag filter: nothing else costs).
        self._parser = _hardened_parser(
            events=("end",), tag=self._reader.child_tags, schema=schema_for(self.form.id)
        )
        # A schema-validating parser swallows the errors of an incomplete document at close():
        # a truncated application (or one with an unterminated comment after the root) would
        # pass. This parser builds nothing and only says whether the bytes are well-formed.
        self._wellformed = etree.XMLParser(
            target=_NoTree(),
            resolve_entities=False,
            load_dtd=False,
            no_network=True,
            huge_tree=False,
        )
        kept, self._kept, self._kept_size = self._kept, [], 0
        for chunk in kept:
            self._feed_validating(chunk)
            self._check_wellformed(chunk)

    def _check_wellformed(self, chunk: bytes | None) -> None:
        """Feed the well-formedness parser (`None`: the end of the document)."""
        assert self._wellformed is not None
        try:
            if chunk is None:
                self._wellformed.close()
            else:
                self._wellformed.feed(chunk)
        except etree.XMLSyntaxError as exc:
            raise self._tagged(Malformed([_violation_from_exception(exc)])) from None

    def _count_markup(self, chunk: bytes) -> None:
        """Refuse documents whose shape would cost libxml2 far more than their size: counted on
        the raw bytes (C speed), before the parser sees them."""
        if chunk.find(b"<") < 0 and chunk.find(b"&") < 0:
            # Character data only (inline Base64, mostly): two memchr scans, and `=` is all
            # there may be to count.
            self._equals += _count_byte(chunk, 61)  # "="
        else:
            # One pass keeps the few bytes that matter; the two-byte counts run only when the
            # chunk has both halves.
            marks = chunk.translate(None, _NOT_MARKUP)
            tags = marks.count(b"<")
            self._splits += marks.count(b"&")
            if tags and (b"!" in marks or b"?" in marks):
                self._splits += chunk.count(b"<!") + chunk.count(b"<?")
            self._tags += tags
            self._equals += marks.count(b"=")
        for seen, limit, what in (
            (self._splits, MAX_MARKUP_SPLITS, "references, comments, CDATA sections and PIs"),
            (self._tags, MAX_TAGS, "tags"),
            (self._equals, MAX_ATTRIBUTES, "attributes"),
        ):
            if seen > limit:
                raise self._tagged(
                    Malformed([Violation("xml.markup_limit", "/", f"more than {limit} {what}")])
                )

    def _sniff(self, piece: bytes) -> bool:
        assert self._sniffer is not None
        self._sniffed += len(piece)
        try:
            self._sniffer.feed(piece)
            events = list(self._sniffer.read_events())
        except etree.XMLSyntaxError as exc:
            raise Malformed([_violation_from_exception(exc)]) from None
        if not events:
            # what the sniffer saw, not the whole chunk: a large chunk may hold the root
            if self._sniffed > SNIFF_LIMIT:
                raise Malformed(
                    [Violation("xml.prolog_too_long", "/", "no root element in the first 64 KiB")]
                )
            return False
        _event, root = events[0]
        _refuse_doctype(root)
        _refuse_foreign_encoding(bytes(self._prefix[:1024]))
        try:
            etree.QName(root)
        except ValueError:
            # libxml2 only warns about an undeclared prefix on the root ("p:root" as a name)
            raise Malformed(
                [Violation("xml.namespace", "/", "the root element's prefix is not declared")]
            ) from None
        namespace = etree.QName(root).namespace or ""
        form = form_by_namespace(namespace)
        if form is None:
            raise UnknownForm(
                f"no form with the XML namespace {namespace!r} and root "
                f"{etree.QName(root).localname!r}"
            )
        if etree.QName(root).localname != form.root:
            raise UnknownForm(
                f"the root element of {form.id} is {form.root!r}, "
                f"not {etree.QName(root).localname!r}"
            )
        if self.expected_form is not None and form.id != self.expected_form.id:
            raise UnknownForm(f"expected the form {self.expected_form.id}, got {form.id}")
        self.form = form
        self._sniffer = None
        if self.inline is not None:
            self.inline.octets = octet_limits(form.id)
            self._reader = form.record_reader(self.inline)
        else:
            self._reader = form.record_reader(_Base64Check(octet_limits(form.id)))
        prefix, self._prefix = bytes(self._prefix), bytearray()
        self._keep(prefix)
        return True

    def _feed_validating(self, chunk: bytes) -> None:
        assert self._parser is not None
        try:
            self._parser.feed(chunk)
        except etree.XMLSyntaxError as exc:
            # A well-formedness error stops libxml2 at once; schema errors mostly wait for
            # close(), but some (a facet of a very long value) are raised here.
            last = exc.error_log.last_error
            if last is not None and last.domain_name == "SCHEMASV":
                problem: ProblemError = Invalid([_violation_from_exception(exc, "xml.schema")])
            else:
                problem = Malformed([_violation_from_exception(exc)])
            raise self._tagged(problem) from None
        self._take_children()

    def _take_children(self) -> None:
        """Map each completed child of the root, then drop it and what precedes it."""
        assert self._parser is not None and self._reader is not None
        for _event, element in self._parser.read_events():
            parent = element.getparent()
            if parent is None or parent.getparent() is not None:
                continue  # the same tag deeper down: part of a child, mapped with it
            if self._failure is None:
                try:
                    self._reader.add(element)
                except Exception as exc:
                    # Most likely the document is invalid; the schema has the last word at close().
                    self._failure = exc
            element.clear()
            while element.getprevious() is not None:
                del parent[0]

    def close(self) -> tuple[FormSpec, dict[str, Any]]:
        """The schema's verdict; the form and the record of a valid document."""
        if self.form is None:
            if self._sniffer is not None:
                try:
                    self._sniffer.close()
                except etree.XMLSyntaxError as exc:
                    raise Malformed([_violation_from_exception(exc)]) from None
            raise Malformed([Violation("xml.empty", "/", "the document has no root element")])
        if self._parser is None:
            return self._close_tree()
        assert self._reader is not None
        self._check_wellformed(None)
        try:
            root = self._parser.close()
        except etree.XMLSyntaxError as exc:
            raise self._tagged(self._explain(exc)) from None
        self._take_children()
        _refuse_doctype(root)
        if isinstance(self._failure, ProblemError):
            raise self._tagged(self._failure)  # what libxml2 lets pass and the XSD does not
        if self._failure is not None:
            # Valid for libxml2 yet not readable: the model and the XSD disagree (a bug) or
            # storing inline content failed. Either way not the citizen's fault.
            raise self._failure
        if self.inline is not None:
            self.inline.finish()
        return self.form, self._reader.finish(root)

    def _close_tree(self) -> tuple[FormSpec, dict[str, Any]]:
        """A document of at most `TREE_LIMIT`: parse, validate the tree, read the record."""
        assert self.form is not None and self._reader is not None
        document, self._kept = b"".join(self._kept), []
        try:
            root = etree.fromstring(document, _tree_parser())
        except etree.XMLSyntaxError as exc:
            raise self._tagged(Malformed([_violation_from_exception(exc)])) from None
        _refuse_doctype(root)
        # The record first: inline content is then hashed in the background while the schema
        # validates. What the reader says counts only if the schema accepts the document.
        try:
            for child in root.iterchildren(tag=etree.Element):
                self._reader.add(child)
        except Exception as exc:
            self._failure = exc
        schema = schema_for(self.form.id)
        if not schema.validate(root):
            violations = dict.fromkeys(_violation_from_log_entry(e) for e in schema.error_log)
            raise self._tagged(_schema_invalid(list(violations)[:MAX_VIOLATIONS]))
        if isinstance(self._failure, ProblemError):
            raise self._tagged(self._failure)  # what libxml2 lets pass and the XSD does not
        if self._failure is not None:
            raise self._failure
        if self.inline is not None:
            self.inline.finish()
        return self.form, self._reader.finish(root)

    def _tagged(self, problem: ProblemError) -> ProblemError:
        problem.form_id = self.form.id if self.form else None
        return problem

    def _explain(self, exc: etree.XMLSyntaxError) -> ProblemError:
        """Malformed or invalid, for a streamed document that the schema parser refused.

        The exception's own error log may carry stale entries of other documents parsed in this
        thread, so it is not trusted beyond its last error; with the spooled bytes at hand they
        are read once more instead.
        """
        if self.replay is None:
            last = exc.error_log.last_error
            if last is not None and last.domain_name == "SCHEMASV":
                return Invalid([_violation_from_exception(exc, "xml.schema")])
            return Malformed([_violation_from_exception(exc)])
        return self._explain_streaming()

    def _explain_streaming(self) -> ProblemError:
        """Two more passes over the spooled bytes, in constant memory.

        First the bytes go through a parser that keeps nothing, which locates a well-formedness
        error (a schema-validating parser reports none of its own). Then they are validated once
        more with the thread's error log cleared, so that what it holds is this document's alone;
        those violations carry no line, as streaming validation knows none.
        """
        assert self.replay is not None and self.form is not None
        source = self.replay()
        source.seek(0)
        checker = etree.XMLParser(
            target=_Discard(), resolve_entities=False, load_dtd=False, no_network=True
        )
        try:
            while chunk := source.read(1024 * 1024):
                checker.feed(chunk)
            checker.close()
        except etree.XMLSyntaxError as malformed:
            return Malformed([_violation_from_exception(malformed)])
        source.seek(0)
        etree.clear_error_log()
        parser = _hardened_parser(
            events=("end",),
            tag=self.form.record_reader().child_tags,
            schema=schema_for(self.form.id),
        )
        try:
            while chunk := source.read(1024 * 1024):
                parser.feed(chunk)
                for _event, element in parser.read_events():
                    element.clear()
            parser.close()
        except etree.XMLSyntaxError as invalid:
            found = [e for e in invalid.error_log if e.domain_name == "SCHEMASV"]
            if found:
                violations = dict.fromkeys(_violation_from_log_entry(e) for e in found)
                return _schema_invalid(list(violations)[:MAX_VIOLATIONS])
            return Invalid([_violation_from_exception(invalid, "xml.schema")])
        return Invalid([Violation("xml.schema", "/", "the document does not match its schema")])


class _Discard:
    """A parser target that keeps nothing (well-formedness only). Never with a schema: a target
    parser skips schema validation without a word."""

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        return None

    def end(self, tag: str) -> None:
        return None

    def data(self, data: str) -> None:
        return None

    def close(self) -> None:
        return None


class _NoTree:
    """A parser target without callbacks: libxml2 parses, nothing is built."""

    def close(self) -> None:
        return None


def _count_byte(data: bytes, byte: int) -> int:
    """`data.count(byte)`, found by memchr while there are few (Base64 has one or two `=`)."""
    found, index = 0, data.find(byte)
    while index >= 0:
        found += 1
        if found > 8:
            return data.count(byte)
        index = data.find(byte, index + 1)
    return found


def _tree_parser() -> etree.XMLParser:
    """This thread's hardened tree parser (a parser is reusable, but not across threads)."""
    parser: etree.XMLParser | None = getattr(_schemas, "parser", None)
    if parser is None:
        parser = _schemas.parser = etree.XMLParser(
            resolve_entities=False,
            load_dtd=False,
            dtd_validation=False,
            no_network=True,
            huge_tree=False,
            remove_blank_text=False,
        )
    return parser


def _refuse_doctype(element: etree._Element) -> None:
    docinfo = element.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.system_url:
        raise Malformed(
            [Violation("xml.doctype_forbidden", "/", "documents with a DOCTYPE are not accepted")]
        )


def _refuse_foreign_encoding(head: bytes) -> None:
    """XÖV messages are UTF-8. A UTF-16/32 document, or one that declares another encoding (and
    may lie about it), is refused rather than decoded in a way the next reader might not share."""
    head = head.removeprefix(b"\xef\xbb\xbf")
    declared = _DECLARED_ENCODING.match(head)
    foreign = head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head[:4]
    if foreign or (declared is not None and declared.group(1).lower() != b"utf-8"):
        raise UnsupportedMediaType(
            "XÖV messages are encoded in UTF-8",
            [Violation("xml.encoding", "/", "the document is not encoded (or declared) as UTF-8")],
        )


def _violation_from_exception(exc: etree.XMLSyntaxError, code: str = "xml.malformed") -> Violation:
    line = exc.lineno or None
    return Violation(
        code=code,
        name="/",
        reason=exc.msg,
        line=line,
        column=(exc.offset + 1 if exc.offset is not None and exc.offset >= 0 else 0)
        if line
        else None,
    )


STRUCTURAL = ("This element is not expected", "Missing child element")


def _schema_invalid(violations: list[Violation]) -> Invalid:
    """Every violation libxml2 reports — and, where the list may be short, why.

    libxml2 checks an element's children only up to the first missing or unexpected one, so
    three missing elements in one place are reported as one; JSON reports each.
    """
    detail = None
    if any(marker in v.reason for v in violations for marker in STRUCTURAL):
        detail = (
            f"{len(violations)} violation(s) of the form's schema; within an element the "
            "check stops at its first missing or unexpected child, so more may follow there"
        )
    return Invalid(violations, detail)


def _violation_from_log_entry(entry: Any, code: str = "xml.schema") -> Violation:
    reason = entry.message
    if "[facet 'pattern']" in reason and entry.path:
        reason = FRIENDLY_REASONS.get(entry.path.rsplit("/", 1)[-1].rsplit(":", 1)[-1], reason)
    return Violation(
        code=code,
        name=entry.path or "/",
        reason=reason,
        line=entry.line or None,
        # libxml2 knows no column for schema errors; 0 then means "not known".
        column=entry.column if entry.line else None,
        xpath=entry.path or None,
    )


def validate_xml_chunks(
    chunks: list[bytes], expected_form: FormSpec | None = None
) -> ValidatedApplication:
    """Convenience for callers that hold the bytes already (tests, the demo)."""
    validator = XmlStreamValidator(
        expected_form=expected_form, replay=lambda: io.BytesIO(b"".join(chunks))
    )
    for chunk in chunks:
        validator.feed(chunk)
    return finish_xml(validator)


def finish_xml(validator: XmlStreamValidator, today: date | None = None) -> ValidatedApplication:
    form, record = validator.close()
    return _finish(form, record, "xml", today)


def validate_json(
    data: bytes,
    expected_form: FormSpec | None = None,
    today: date | None = None,
    inline: InlineAttachments | None = None,
) -> ValidatedApplication:
    document = load_json(data)
    if not isinstance(document, dict):
        raise Malformed(
            [Violation("json.not_an_object", "/", "the document must be a JSON object")]
        )
    namespace = document.get("$schema")
    if not isinstance(namespace, str):
        raise UnknownForm('a JSON application names its form in "$schema"')
    form = form_by_namespace(namespace)
    if form is None:
        raise UnknownForm(f"no form with the identifier {namespace!r}")
    if expected_form is not None and form.id != expected_form.id:
        raise UnknownForm(f"expected the form {expected_form.id}, got {form.id}")
    try:
        model = form.parse_json(document)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)[:MAX_VIOLATIONS]
        problem = Invalid([_violation_from_pydantic(err) for err in errors])
        problem.form_id = form.id
        raise problem from None
    record = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    application = _finish(form, record, "json", today)
    if inline is not None:
        form.replace_binary(application.record, inline)
        inline.finish()
    return application


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return result


def load_json(data: bytes, where: str = "") -> Any:
    """orjson's strict parse, and what it lets through refused: a key twice in one object (which
    value counts is up to the reader), characters XML cannot carry (the JSON and XML forms of an
    application must be interchangeable; PostgreSQL cannot store U+0000 either), and documents
    with more than `MAX_JSON_VALUES` values."""
    # An upper bound of the values, counted at C speed before any is built: orjson would
    # need half a gigabyte for 20 MiB of `[[],[],…]`. Strings inflate the count; no valid
    # form comes near the tenfold allowance.
    if data.count(b",") + data.count(b"[") + data.count(b"{") > 10 * MAX_JSON_VALUES:
        raise _too_many_values(where)
    # A UTF-8 byte order mark is ignored, as RFC 8259 §8.1 allows and as XML does.
    data = data.removeprefix(UTF8_BOM)
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise Malformed(
            [_not_utf8(data, where) or Violation("json.malformed", where or "/", str(exc))]
        ) from None
    # Fast paths: control characters occur in valid JSON only as escapes (\u…, \b, \f), and
    # a document shorter than MAX_JSON_VALUES bytes cannot hold more values than that.
    if (
        len(data) > MAX_JSON_VALUES
        or b"\\u" in data
        or b"\\b" in data
        or b"\\f" in data
        or b"\xef\xbf\xbe" in data
        or b"\xef\xbf\xbf" in data
    ):
        _check_json_values(document, where)
    try:
        json.loads(data, object_pairs_hook=_unique_keys)
    except _DuplicateKey as exc:
        raise Malformed(
            [
                Violation(
                    "json.duplicate_key",
                    where or "/",
                    f"the key {exc.args[0]!r} occurs more than once in one object",
                )
            ]
        ) from None
    except RecursionError:
        # orjson allows 1024 levels, the standard library about 1000: no form comes close.
        raise Malformed([Violation("json.too_deep", where or "/", "nested too deeply")]) from None
    return document


def _not_utf8(data: bytes, where: str) -> Violation | None:
    """Where a document stops being UTF-8 (orjson says "surrogates not allowed … char 0")."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return Violation(
            "json.malformed",
            where or "/",
            f"JSON must be UTF-8: the byte 0x{data[exc.start]:02x} at line {line}, column "
            f"{column} (byte offset {exc.start}) is not",
            line=line,
            column=column,
        )
    return None


def _too_many_values(where: str) -> Invalid:
    return Invalid(
        [
            Violation(
                "json.too_many_values",
                where or "/",
                f"the document holds more than {MAX_JSON_VALUES} values",
            )
        ]
    )


def _check_json_values(document: Any, where: str) -> None:
    seen = 0
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if _NOT_XML_CHAR.search(value):
                raise Invalid(
                    [
                        Violation(
                            "json.character",
                            where or "/",
                            "a string holds a character XML cannot carry (a control character, "
                            "U+FFFE or U+FFFF)",
                        )
                    ]
                )
            continue
        if isinstance(value, dict | list):
            seen += len(value)
            if seen > MAX_JSON_VALUES:
                raise _too_many_values(where)
            if isinstance(value, dict):
                pending.extend(value)
                pending.extend(value.values())
            else:
                pending.extend(value)


def _violation_from_pydantic(err: Any) -> Violation:
    pointer = "/" + "/".join(str(part) for part in err["loc"])
    reason = err["msg"]
    if err["type"] in ("value_error", "assertion_error") and "error" in err.get("ctx", {}):
        reason = str(err["ctx"]["error"])  # without pydantic's "Value error, " in front
    if err["type"] == "string_pattern_mismatch" and err["loc"]:
        reason = FRIENDLY_REASONS.get(str(err["loc"][-1]), reason)
    return Violation(code=f"json.{err['type']}", name=pointer, reason=reason)


def _finish(
    form: FormSpec, record: dict[str, Any], representation: str, today: date | None
) -> ValidatedApplication:
    violations = form.check_rules(record, today or date.today())
    if violations:
        problem = Invalid([Violation(v.code, v.name, v.reason) for v in violations])
        problem.form_id = form.id
        raise problem
    return ValidatedApplication(form=form, record=record, representation=representation)
