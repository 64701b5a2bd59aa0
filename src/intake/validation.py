"""A record becomes a validated application: the form's model (JSON) and its rules (both
representations). XML reaches this through `intake.xmlstream`, JSON through `validate_json`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError

from contracts.forms import FormSpec, form_by_namespace
from contracts.forms.simpletypes import FRIENDLY_REASONS
from intake.errors import Invalid, Malformed, UnknownForm, Violation
from intake.inline import InlineAttachments
from intake.jsonload import load_json

MAX_VIOLATIONS = 100
"""A problem lists at most this many violations (a hostile document can have millions)."""


@dataclass
class ValidatedApplication:
    form: FormSpec
    record: dict[str, Any]
    representation: str  # "xml" | "json"


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
    application = check_record(form, record, "json", today)
    if inline is not None:
        form.replace_binary(application.record, inline)
        inline.finish()
    return application


def _violation_from_pydantic(err: Any) -> Violation:
    pointer = "/" + "/".join(str(part) for part in err["loc"])
    reason = err["msg"]
    if err["type"] in ("value_error", "assertion_error") and "error" in err.get("ctx", {}):
        reason = str(err["ctx"]["error"])  # without pydantic's "Value error, " in front
    if err["type"] == "string_pattern_mismatch" and err["loc"]:
        reason = FRIENDLY_REASONS.get(str(err["loc"][-1]), reason)
    return Violation(code=f"json.{err['type']}", name=pointer, reason=reason)


def check_record(
    form: FormSpec, record: dict[str, Any], representation: str, today: date | None
) -> ValidatedApplication:
    violations = form.check_rules(record, today or date.today())
    if violations:
        problem = Invalid([Violation(v.code, v.name, v.reason) for v in violations])
        problem.form_id = form.id
        raise problem
    return ValidatedApplication(form=form, record=record, representation=representation)
