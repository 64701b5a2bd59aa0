"""Streaming, hardened validation of XÖV XML applications, in bounded memory.

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

import io
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import IO, Any

from lxml import etree

from contracts.forms import FormSpec, form_by_namespace
from contracts.forms.xmlmodel import RecordReader
from eantrag.problems import ProblemError
from intake.errors import Invalid, Malformed, UnknownForm, UnsupportedMediaType, Violation
from intake.inline import Base64Check, InlineAttachments
from intake.validation import MAX_VIOLATIONS, ValidatedApplication, check_record
from intake.xmlviolations import schema_invalid, violation_from_exception, violation_from_log_entry
from intake.xsd import octet_limits, schema_for

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
_NOT_MARKUP = bytes(set(range(256)) - set(b"<&=!?"))
_DECLARED_ENCODING = re.compile(rb"""<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']""")


_parsers = threading.local()


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
            raise self._tagged(Malformed([violation_from_exception(exc)])) from None

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
            raise Malformed([violation_from_exception(exc)]) from None
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
            self._reader = form.record_reader(Base64Check(octet_limits(form.id)))
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
                problem: ProblemError = Invalid([violation_from_exception(exc, "xml.schema")])
            else:
                problem = Malformed([violation_from_exception(exc)])
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
                    raise Malformed([violation_from_exception(exc)]) from None
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
        return self._verdict(root)

    def _close_tree(self) -> tuple[FormSpec, dict[str, Any]]:
        """A document of at most `TREE_LIMIT`: parse, validate the tree, read the record."""
        assert self.form is not None and self._reader is not None
        document, self._kept = b"".join(self._kept), []
        try:
            root = etree.fromstring(document, _tree_parser())
        except etree.XMLSyntaxError as exc:
            raise self._tagged(Malformed([violation_from_exception(exc)])) from None
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
            violations = dict.fromkeys(violation_from_log_entry(e) for e in schema.error_log)
            raise self._tagged(schema_invalid(list(violations)[:MAX_VIOLATIONS]))
        return self._verdict(root)

    def _verdict(self, root: etree._Element) -> tuple[FormSpec, dict[str, Any]]:
        """The record of a document the schema accepted, or what reading it found."""
        assert self.form is not None and self._reader is not None
        if isinstance(self._failure, ProblemError):
            raise self._tagged(self._failure)  # what libxml2 lets pass and the XSD does not
        if self._failure is not None:
            # Valid for libxml2 yet not readable: the model and the XSD disagree (a bug) or
            # storing inline content failed. Either way not the citizen's fault.
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
                return Invalid([violation_from_exception(exc, "xml.schema")])
            return Malformed([violation_from_exception(exc)])
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
            return Malformed([violation_from_exception(malformed)])
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
                violations = dict.fromkeys(violation_from_log_entry(e) for e in found)
                return schema_invalid(list(violations)[:MAX_VIOLATIONS])
            return Invalid([violation_from_exception(invalid, "xml.schema")])
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
    parser: etree.XMLParser | None = getattr(_parsers, "parser", None)
    if parser is None:
        parser = _parsers.parser = etree.XMLParser(
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
    return check_record(form, record, "xml", today)
