"""The XSD a form is validated with: its xs:base64Binary types checked as strings (intake
decodes those itself, `intake.inline`), their length facets counted in decoded bytes, and the
compiled schema kept per thread."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache

from lxml import etree

from contracts.forms import FORMS, FormSpec

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
