"""libxml2's reports as violations a sender can act on: line, column, xpath, a friendlier
reason for a pattern, and why a list of schema violations may be short."""

from __future__ import annotations

from typing import Any

from lxml import etree

from contracts.forms.simpletypes import FRIENDLY_REASONS
from intake.errors import Invalid, Violation


def violation_from_exception(exc: etree.XMLSyntaxError, code: str = "xml.malformed") -> Violation:
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


def schema_invalid(violations: list[Violation]) -> Invalid:
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


def violation_from_log_entry(entry: Any, code: str = "xml.schema") -> Violation:
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
