"""Real messages of other systems (../shared/xdomea/samples) read without loss of what we use."""

from __future__ import annotations

import uuid
import zipfile
from datetime import date
from pathlib import Path

from archive.messages import read_message_bytes, read_object_list
from archive.retention import due_cases, retention_end
from archive.schema import SchemaCheck
from archive.sources import ClosedCase, FilePlanUnit, Retention
from tests.archive.support import at
from tests.conftest import shared_dir


def test_xman_offer_list(schema: SchemaCheck) -> None:
    path = shared_dir("xdomea", "samples", "xman_0501.zip")
    offer = read_object_list(read_message_bytes(path), schema)
    assert offer.version == "3.0.0"
    assert offer.head.process_id == uuid.UUID("9a75050f-323a-4e84-94c9-a889aa2b4fe8")
    assert offer.head.code == "0501"
    assert offer.head.sender == "AbsXdomeaInstitutionName"
    assert offer.head.flags == {"Empfangsbestaetigung": True}
    first = offer.akten[0]
    assert first.id == uuid.UUID("37ad5391-e5c1-4818-aaa0-58c5dd381020")
    assert (first.kennzeichen, first.unit_kennzeichen) == ("1234-1", "1234")
    assert first.disposal is not None
    assert (first.disposal.code, first.disposal.proposal) == ("B", "A")
    assert first.period == ("2018-07-24", "2018-07-24")
    assert [v.kennzeichen for v in first.vorgaenge] == ["1234-1.1", "1234-1.2"]
    assert first.vorgaenge[0].closed
    assert first.vorgaenge[0].documents[0].versions == []
    assert offer.filenames() == []


def test_xman_transfer_package(schema: SchemaCheck) -> None:
    path = shared_dir("xdomea", "samples", "xman_0503.zip")
    transfer = read_object_list(read_message_bytes(path), schema)
    assert transfer.head.flags == {
        "Importbestaetigung": True,
        "RueckmeldungArchivkennung": True,
        "Empfangsbestaetigung": True,
    }
    assert transfer.head.receiver == "EmpXdomeaInstitutionName"
    assert len(transfer.akten) == 2
    document = transfer.akten[0].vorgaenge[0].documents[0]
    assert document.kennzeichen == "1234-1.1-1"
    [version] = document.versions
    assert version.number == "2.95"
    [fmt] = version.formats
    assert (fmt.code, fmt.list_version, fmt.version) == ("018", "1.0", "1.4")
    assert fmt.filename == "30d9f1ae-eee8-4314-b3cd-5bd90365ccaf_test_pdf_a1-b.pdf"
    with zipfile.ZipFile(path) as package:
        names = set(package.namelist())
    assert set(transfer.filenames()) <= names
    assert len(transfer.filenames()) == 3


def test_lavnrw_annotated_transfer(schema: SchemaCheck) -> None:
    path = shared_dir("xdomea", "samples", "lavnrw_v3_0503.xml")
    transfer = read_object_list(Path(path).read_bytes(), schema)
    assert transfer.head.process_id == uuid.UUID("9fde4e7a-b41b-11ec-9225-005056871b7c")
    assert transfer.head.flags["RueckmeldungArchivkennung"] is False
    assert transfer.akten == []
    [vorgang] = transfer.vorgaenge
    assert vorgang.kennzeichen == "[Vorgangskennzeichen]"
    assert [h.actor for h in vorgang.history] == ["[Person/System]"]
    [document] = vorgang.documents
    assert document.history[0].at == "2011-02-12T11:22:35Z"
    [fmt] = document.versions[0].formats
    assert (fmt.code, fmt.list_version) == ("045", "2.0")
    assert transfer.filenames() == ["f4bcaaf7-d7cb-11ef-a278-005056871b7c.txt"]
    assert (Path(path).parent / "lavnrw_v3" / transfer.filenames()[0]).exists()


def test_retention_ends_with_the_year_and_never_when_unlimited() -> None:
    six = FilePlanUnit("1", "x", Retention(6), "B")
    unlimited = FilePlanUnit("2", "y", Retention(None), "A")

    def case(unit: FilePlanUnit, closed: str) -> ClosedCase:
        return ClosedCase(uuid.uuid4(), closed, "t", at(closed), unit)

    cases = [
        case(six, "2019-12-31T22:59:00"),  # 23:59 in Germany: closed in 2019
        case(six, "2019-12-31T23:00:00"),  # already 2020 in Germany
        case(unlimited, "1990-01-01T00:00:00"),
    ]
    assert retention_end(cases[0].closed_at, six.retention) == date(2025, 12, 31)
    assert due_cases(cases, date(2025, 12, 31)) == []
    due = due_cases(cases, date(2026, 1, 1))
    assert [c.aktenzeichen for c in due] == ["2019-12-31T22:59:00"]
    assert retention_end(cases[2].closed_at, unlimited.retention) is None
