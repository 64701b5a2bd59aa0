"""Streaming, hardened validation of XÖV XML and JSON applications.

XML arrives in chunks and is fed to libxml2 as it comes, never buffered whole. The form is chosen
by the root element's namespace, which is known only once the root's start tag has been read, so a
small sniffing parser looks at the prolog first; then the schema-validating parser replays those
bytes and takes the rest. libxml2 reports schema errors only at `close()`: nothing is decided
before then.

Hardening: no DTD loading, no entity expansion, no network, and any document with a DOCTYPE is
refused before its root is even looked at — an application has no business carrying one.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import IO, Any

import orjson
from lxml import etree
from pydantic import ValidationError

from eantrag.problems import ProblemError
from intake.errors import Invalid, Malformed, UnknownForm, Violation
from intake.forms import FORMS, FormSpec, form_by_namespace

SNIFF_LIMIT = 64 * 1024


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


@cache
def schema_for(form_id: str) -> etree.XMLSchema:
    """Compiled XSD of a form; compiled once per process and shared (read-only after build)."""
    spec = FORMS[form_id]
    return etree.XMLSchema(etree.parse(str(spec.xsd_path)))


@dataclass
class ValidatedApplication:
    form: FormSpec
    record: dict[str, Any]
    representation: str  # "xml" | "json"


@dataclass
class XmlStreamValidator:
    """Feed request chunks with `feed()`, then `close()` for the verdict.

    Streaming validation tells *that* a document is invalid but not where (libxml2's SAX
    validation reports no line or path). On that rare path `replay` — the spooled bytes — is
    parsed once more as a tree to report every violation with line, column and xpath.
    """

    expected_form: FormSpec | None = None
    replay: Callable[[], IO[bytes]] | None = None
    _prefix: bytearray = field(default_factory=bytearray)
    _sniffer: etree.XMLPullParser | None = None
    _parser: etree.XMLPullParser | None = None
    form: FormSpec | None = None

    def __post_init__(self) -> None:
        self._sniffer = _hardened_parser(events=("start",))

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        if self._parser is not None:
            self._feed_validating(chunk)
            return
        self._prefix += chunk
        self._sniff(chunk)

    def _sniff(self, chunk: bytes) -> None:
        assert self._sniffer is not None
        try:
            self._sniffer.feed(chunk)
            events = list(self._sniffer.read_events())
        except etree.XMLSyntaxError as exc:
            raise Malformed([_violation_from_exception(exc)]) from None
        if not events:
            if len(self._prefix) > SNIFF_LIMIT:
                raise Malformed(
                    [Violation("xml.prolog_too_long", "/", "no root element in the first 64 KiB")]
                )
            return
        _event, root = events[0]
        _refuse_doctype(root)
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
        self._parser = _hardened_parser(events=(), schema=schema_for(form.id))
        prefix, self._prefix = bytes(self._prefix), bytearray()
        self._feed_validating(prefix)

    def _feed_validating(self, chunk: bytes) -> None:
        assert self._parser is not None
        try:
            self._parser.feed(chunk)
        except etree.XMLSyntaxError as exc:
            # A well-formedness error stops libxml2 at once, while schema errors wait for close().
            raise self._tagged(Malformed([_violation_from_exception(exc)])) from None

    def close(self) -> tuple[FormSpec, etree._Element]:
        if self._parser is None:
            if self._sniffer is not None:
                try:
                    self._sniffer.close()
                except etree.XMLSyntaxError as exc:
                    raise Malformed([_violation_from_exception(exc)]) from None
            raise Malformed([Violation("xml.empty", "/", "the document has no root element")])
        assert self.form is not None
        try:
            root = self._parser.close()
        except etree.XMLSyntaxError as exc:
            raise self._tagged(self._explain(exc)) from None
        _refuse_doctype(root)
        return self.form, root

    def _tagged(self, problem: ProblemError) -> ProblemError:
        problem.form_id = self.form.id if self.form else None
        return problem

    def _explain(self, exc: etree.XMLSyntaxError) -> ProblemError:
        """Malformed or invalid, with every violation located.

        The exception's own error log may carry stale entries of other documents parsed in this
        thread, so it is not trusted beyond its last error. With the spooled bytes at hand, one
        more parse tells malformed from invalid and locates every schema violation.
        """
        if self.replay is None:
            last = exc.error_log.last_error
            if last is not None and last.domain_name == "SCHEMASV":
                return Invalid([_violation_from_exception(exc, "xml.schema")])
            return Malformed([_violation_from_exception(exc)])
        source = self.replay()
        source.seek(0)
        parser = etree.XMLParser(
            resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False
        )
        try:
            tree = etree.parse(source, parser)
        except etree.XMLSyntaxError as parse_error:
            return Malformed([_violation_from_exception(parse_error)])
        assert self.form is not None
        schema = schema_for(self.form.id)
        if schema.validate(tree):
            return Invalid([_violation_from_exception(exc, "xml.schema")])
        return Invalid(list(dict.fromkeys(_violation_from_log_entry(e) for e in schema.error_log)))


def _refuse_doctype(element: etree._Element) -> None:
    docinfo = element.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.system_url:
        raise Malformed(
            [Violation("xml.doctype_forbidden", "/", "documents with a DOCTYPE are not accepted")]
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


def _violation_from_log_entry(entry: Any) -> Violation:
    return Violation(
        code="xml.schema",
        name=entry.path or "/",
        reason=entry.message,
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
    form, root = validator.close()
    record = form.record_from_xml(root)
    return _finish(form, record, "xml", today)


def validate_json(
    data: bytes, expected_form: FormSpec | None = None, today: date | None = None
) -> ValidatedApplication:
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise Malformed([Violation("json.malformed", "/", str(exc))]) from None
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
        problem = Invalid([_violation_from_pydantic(err) for err in exc.errors()])
        problem.form_id = form.id
        raise problem from None
    record = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return _finish(form, record, "json", today)


def _violation_from_pydantic(err: Any) -> Violation:
    pointer = "/" + "/".join(str(part) for part in err["loc"])
    return Violation(code=f"json.{err['type']}", name=pointer, reason=err["msg"])


def _finish(
    form: FormSpec, record: dict[str, Any], representation: str, today: date | None
) -> ValidatedApplication:
    violations = form.check_rules(record, today or date.today())
    if violations:
        problem = Invalid([Violation(v.code, v.name, v.reason) for v in violations])
        problem.form_id = form.id
        raise problem
    return ValidatedApplication(form=form, record=record, representation=representation)
