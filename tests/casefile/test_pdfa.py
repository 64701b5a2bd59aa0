"""The PDF/A documents: the rendering and the Bescheid of both forms, checked as an archive's
intake would check them first (identification, output intent, embedded fonts, no encryption),
and read back for what a person must find on them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from casefile import bescheid
from casefile.bescheid import Letterhead, Templates
from casefile.models import Akte, Vorgang
from casefile.readable import AttachmentLine, german_amount, german_date, sections
from casefile.rendering import readable_application, render_html
from casefile.renderings import render_pdf
from tests.casefile.forms import example, wohngeld_six

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
SHA = "9f2c" * 16
FORMS = {
    "hundeanmeldung": ("99102013104000", example("hundeanmeldung")),
    "wohngeld-mietzuschuss": ("99107023037000", wohngeld_six()),
}
LETTERHEAD = Letterhead(
    name="Stadt Leipzig, Sozialamt",
    street="Prager Straße",
    house_number="21",
    postcode="04103",
    city="Leipzig",
    email="sozialamt@leipzig.example",
)


def _case(form_id: str) -> Vorgang:
    leika, record = FORMS[form_id]
    akte = Akte(
        id=uuid.uuid4(),
        authority_id="stadt-leipzig",
        authority_name="Stadt Leipzig",
        aktenzeichen="50.21-2026-17",
    )
    return Vorgang(
        id=uuid.uuid4(),
        akte=akte,
        authority_id="stadt-leipzig",
        application_id=uuid.uuid4(),
        leika_key=leika,
        leika_urn=f"urn:de:fim:leika:leistung:{leika}",
        form_id=form_id,
        record=record,
        received_at=NOW,
    )


def _rendering(form_id: str) -> bytes:
    leika, record = FORMS[form_id]
    view = readable_application(
        record=record,
        form_id=form_id,
        leika_urn=f"urn:de:fim:leika:leistung:{leika}",
        application_id=str(uuid.uuid4()),
        received_at=NOW,
        authority_name="Stadt Leipzig",
        original_media_type="application/xml",
        original_size=3456,
        original_sha256=SHA,
        attachments=[AttachmentLine("Mietvertrag.pdf", "application/pdf", "12.345 Bytes", SHA)],
        file_reference="50.21-2026-17",
    )
    return render_pdf(view, "Stadt Leipzig", NOW)


@pytest.mark.parametrize("form_id", sorted(FORMS))
def test_the_rendering_is_pdfa_with_reference_hash_and_readable_values(form_id: str) -> None:
    from tests.casefile.pdfa_check import assert_pdfa

    text = assert_pdfa(_rendering(form_id))
    assert "50.21-2026-17" in text and SHA in text.replace("\n", "")
    if form_id == "hundeanmeldung":
        assert "23.11.1979" in text and "weiblich (Hündin)" in text
        assert "Weitere Hunde im Haushalt" in text
    else:
        assert "Haushaltsmitglied 6" in text and "1.234,56 €" in text and "72,40 m²" in text
        assert "Einkünfte aus nichtselbstständiger Arbeit" in text
    for technical in ("nachrichtenkopf", "listURI", "urn:eantrag:codeliste", "2026-11-23"):
        assert technical not in text


@pytest.mark.parametrize("form_id", sorted(FORMS))
@pytest.mark.parametrize("outcome", ["granted", "refused"])
def test_the_bescheid_is_pdfa_with_letterhead_decision_reasons_and_remedy(
    form_id: str, outcome: str
) -> None:
    from tests.casefile.pdfa_check import assert_pdfa

    case = _case(form_id)
    text = bescheid.compose(
        case,
        outcome=outcome,
        reasons="Das Einkommen übersteigt die Grenze nach § 15 WoGG.",
        clerk="Erika Muster",
        letterhead=LETTERHEAD,
        templates=Templates(),
        now=NOW,
    )
    content = assert_pdfa(bescheid.render(text))
    flat = " ".join(content.split())
    assert "Stadt Leipzig, Sozialamt" in flat and "Prager Straße 21" in flat
    assert "50.21-2026-17" in flat and "23.11.2026" in flat and "Erika Muster" in flat
    assert "§ 15 WoGG" in flat and "Rechtsbehelfsbelehrung" in flat and "Widerspruch" in flat
    person = "Thomas Richter" if form_id == "hundeanmeldung" else "Anna Krüger"
    assert person in flat
    assert ("abgelehnt" in flat) == (outcome == "refused")


def test_an_operator_template_replaces_the_built_in_one(tmp_path: Path) -> None:
    own = tmp_path / "wohngeld-mietzuschuss"
    own.mkdir()
    (own / "rechtsbehelfsbelehrung.txt").write_text(
        "Klage beim Verwaltungsgericht $behoerde_anschrift binnen eines Monats.", "utf-8"
    )
    templates = Templates(tmp_path)
    spec = bescheid.spec_for("99107023037000")
    assert templates.text(spec, "rechtsbehelfsbelehrung.txt").startswith("Klage")
    assert "bewilligt" in templates.text(spec, "bewilligung.txt")  # the others stay built in
    text = bescheid.compose(
        _case("wohngeld-mietzuschuss"),
        outcome="granted",
        reasons=None,
        clerk="Erika Muster",
        letterhead=LETTERHEAD,
        templates=templates,
        now=NOW,
    )
    assert text.rechtsbehelf == (
        "Klage beim Verwaltungsgericht Prager Straße 21, 04103 Leipzig binnen eines Monats."
    )


def test_the_readable_view_and_the_html_follow_the_same_rules() -> None:
    _, record = FORMS["wohngeld-mietzuschuss"]
    view = sections(record, "wohngeld-mietzuschuss")
    titles = [s.title for s in view]
    assert titles[:2] == ["Antragstellende Person", "Anschrift"]
    assert "Haushaltsmitglied 6" in titles
    applicant = {f.label: f.value for f in view[0].fields}
    assert applicant == {"Familienname": "Krüger", "Vorname": "Anna", "Geburtsdatum": "02.06.1988"}
    flat = {f.label: f.value for s in view for f in s.fields}
    assert flat["Gesamtmiete monatlich"] == "845,00 €"
    assert german_amount("1234.5") == "1.234,50 €" and german_date("1979-11-23") == "23.11.1979"
    html = render_html(
        readable_application(
            record=record,
            form_id="wohngeld-mietzuschuss",
            leika_urn="urn:de:fim:leika:leistung:99107023037000",
            application_id="a",
            received_at=NOW,
            authority_name="Stadt Leipzig",
            original_media_type="application/json",
            original_size=2048,
            original_sha256=SHA,
            attachments=[],
        )
    ).decode()
    assert "845,00 €" in html and "Kind" in html and SHA in html
    for technical in ("nachrichtenkopf", "listURI", "listVersionID", "$schema", "anlageId"):
        assert technical not in html


def test_every_field_of_every_form_has_a_german_label_or_is_hidden() -> None:
    from pydantic import BaseModel

    from casefile.readable import _shape
    from contracts.forms import FORMS as REGISTRY
    from contracts.forms.labels import HIDDEN, LABELS

    missing: set[str] = set()
    seen: set[type[BaseModel]] = set()
    pending: list[type[BaseModel]] = [spec.model for spec in REGISTRY.values()]
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            key = info.alias or name
            if key in HIDDEN:
                continue
            if key not in LABELS:
                missing.add(f"{model.__name__}.{key}")
            _, target, _ = _shape(info.annotation)
            if isinstance(target, type) and issubclass(target, BaseModel):
                pending.append(target)
    assert not missing


def test_a_record_of_a_form_without_a_model_is_shown_without_technical_keys() -> None:
    view = sections(example("hundeanmeldung"), None)
    flat = {f.label: f.value for s in view for f in s.fields}
    assert flat["Geburtsdatum"] == "23.11.1979" and flat["Rasse"] == "Mischling"
    labels = {f.label for s in view for f in s.fields} | {s.title for s in view}
    assert not labels & {"nachrichtenkopf.g2g", "listURI", "listVersionID", "$schema"}
