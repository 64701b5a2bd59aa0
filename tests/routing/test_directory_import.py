"""Directory import: XZuFi 2.2 and CSV, rejected objects, conflicts, re-import replacing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bootstrap.cli import app as cli
from eantrag.runtime import Runtime
from routing import cli as routing_cli
from routing import repository
from routing.csvformat import read_csv
from routing.errors import ImportFailed
from routing.models import Authority, Responsibility
from routing.service import read_file
from routing.xzufi import read_xzufi
from tests.routing.support import DIRECTORY, DOG, WOHNGELD, import_batch, import_example

NS = 'xmlns:x="http://xoev.de/schemata/xzufi/2_2_0"'
RS = "urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:rs:"


def xzufi(*objects: str, extra: str = "") -> bytes:
    body = "".join(f"<x:schreibe>{o}</x:schreibe>" for o in objects)
    return (
        f'<?xml version="1.0"?><x:transfer {NS} xmlns:plz="urn:eantrag:routing:1.0" '
        f'xzufiVersion="2.2.0">{body}{extra}</x:transfer>'
    ).encode()


def leistung(xzufi_id: str, key: str | None, name: str | None = "Eine Leistung") -> str:
    ref = f"<x:referenzLeiKa><code>{key}</code></x:referenzLeiKa>" if key else ""
    text = (
        (
            f"<x:modulText><x:inhalt>{name}</x:inhalt><x:leikaTextmodul><code>02</code>"
            "</x:leikaTextmodul></x:modulText>"
        )
        if name
        else ""
    )
    return f"<x:leistung><x:id>{xzufi_id}</x:id>{ref}{text}</x:leistung>"


def oe(oe_id: str | None, name: str | None, *zustaendigkeiten: tuple[str, list[str]]) -> str:
    parts = [f"<x:id>{oe_id}</x:id>" if oe_id else ""]
    if name:
        parts.append(f"<x:name><x:name>{name}</x:name></x:name>")
    for service, areas in zustaendigkeiten:
        gebiete = "".join(f"<x:gebietID>{a}</x:gebietID>" for a in areas)
        parts.append(
            f"<x:zustaendigkeit><x:leistungID>{service}</x:leistungID>{gebiete}</x:zustaendigkeit>"
        )
    return f"<x:organisationseinheit>{''.join(parts)}</x:organisationseinheit>"


async def responsibilities(runtime: Runtime) -> set[tuple[str, str, str]]:
    async with runtime.db.sessionmaker() as session:
        rows = await session.execute(
            select(Responsibility.authority_id, Responsibility.leika_key, Responsibility.area_key)
        )
        return {tuple(r) for r in rows}  # type: ignore[misc]


async def test_the_demo_directory_imports_completely(runtime: Runtime) -> None:
    report = await import_example(runtime.db)
    assert (report.services, report.authorities, report.responsibilities, report.postcodes) == (
        2,
        10,
        14,
        7,
    )
    assert report.rejected == [] and report.conflicts == []
    async with runtime.db.sessionmaker() as session:
        dresden = await session.get(Authority, "stadt-dresden")
        counts = await repository.counts(session)
    assert dresden is not None
    assert (dresden.name, dresden.street, dresden.postcode, dresden.ars, dresden.url) == (
        "Landeshauptstadt Dresden",
        "Dr.-Külz-Ring",
        "01067",
        "146120000000",
        "https://www.dresden.de",
    )
    assert counts["services"] == 2 and counts["responsibilities"] == 14
    assert ("vv-lugau", DOG, "145215115") in await responsibilities(runtime)


def test_every_rejected_object_is_reported_with_its_reason() -> None:
    document = xzufi(
        leistung("L1", DOG),
        leistung("L-NO-KEY", None),
        leistung("L-NO-NAME", WOHNGELD, name=None),
        leistung("L-BAD", "12345"),
        oe(None, "Ohne Id"),
        oe("ohne-name", None),
        oe("bad id", "Leerzeichen im Namen"),
        oe(
            "amt-1",
            "Amt 1",
            ("L1", [RS + "146120000000", RS + "1461", "urn:other:14612"]),
            ("L1", []),
            ("L-UNKNOWN", [RS + "14612"]),
        ),
        extra='<plz:postleitzahlGebiet postleitzahl="0106" ars="146120000000"/>'
        '<plz:postleitzahlGebiet postleitzahl="01069" ars="14612"/>',
    )
    batch = read_xzufi(io.BytesIO(document))
    reasons = {(r.kind, r.ref): r.reason for r in batch.rejected}
    assert reasons[("leistung", "L-NO-KEY")] == "no referenzLeiKa/code"
    assert "no name" in reasons[("leistung", "L-NO-NAME")]
    assert "not a LeiKa key" in reasons[("leistung", "L-BAD")]
    assert reasons[("organisationseinheit", "(without id)")] == "no id"
    assert reasons[("organisationseinheit", "ohne-name")] == "no name/name"
    assert "not a usable authority id" in reasons[("organisationseinheit", "bad id")]
    assert (
        "not an ARS URN"
        in reasons[("zustaendigkeit", f"amt-1 zustaendigkeit #1 gebietID '{RS}1461'")]
    )
    assert ("zustaendigkeit", "amt-1 zustaendigkeit #1 gebietID 'urn:other:14612'") in reasons
    assert reasons[("zustaendigkeit", "amt-1 zustaendigkeit #2")] == (
        "no usable gebietID (ARS URN)"
    )
    assert "not a postcode" in reasons[("postleitzahlGebiet", "0106 → 146120000000")]
    assert "12-digit" in reasons[("postleitzahlGebiet", "01069 → 14612")]
    assert all(r.line for r in batch.rejected)
    assert list(batch.authorities) == ["amt-1"]
    assert [(r.leika_key, r.area_key) for r in batch.responsibilities] == [(DOG, "146120000000")]
    assert [r.ref for r in batch.service_refs] == ["L-UNKNOWN"]


async def test_unknown_leistung_is_rejected_at_import_and_known_ones_resolve(
    runtime: Runtime,
) -> None:
    await import_example(runtime.db)
    document = xzufi(
        oe(
            "amt-2",
            "Amt 2",
            ("L-WOHNGELD-MIETZUSCHUSS", [RS + "14730"]),
            ("L-NOWHERE", [RS + "14730"]),
        )
    )
    report = await import_batch(runtime.db, read_xzufi(io.BytesIO(document)))
    assert [(r.kind, r.ref) for r in report.rejected] == [
        ("zustaendigkeit", "amt-2 leistungID 'L-NOWHERE'")
    ]
    assert ("amt-2", WOHNGELD, "14730") in await responsibilities(runtime)


def test_a_document_with_a_dtd_is_refused_and_entities_are_never_expanded() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<x:transfer xmlns:x="http://xoev.de/schemata/xzufi/2_2_0">&b;</x:transfer>'
    )
    with pytest.raises(ImportFailed, match="DOCTYPE"):
        read_xzufi(io.BytesIO(bomb))
    external = (
        b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://example.invalid/x.dtd">'
        b'<x:transfer xmlns:x="http://xoev.de/schemata/xzufi/2_2_0"/>'
    )
    with pytest.raises(ImportFailed, match="DOCTYPE"):
        read_xzufi(io.BytesIO(external))


def test_other_documents_are_refused_as_a_whole() -> None:
    with pytest.raises(ImportFailed, match="namespace"):
        read_xzufi(io.BytesIO(b"<transfer/>"))
    with pytest.raises(ImportFailed, match=r"2\.2"):
        read_xzufi(io.BytesIO(xzufi().replace(b'"2.2.0"', b'"2.1.0"')))
    with pytest.raises(ImportFailed, match="well-formed") as caught:
        read_xzufi(io.BytesIO(b'<x:a xmlns:x="http://xoev.de/schemata/xzufi/2_2_0">\n<x:b>'))
    assert caught.value.line == 2


async def test_conflicting_responsibilities_are_reported(runtime: Runtime) -> None:
    await import_example(runtime.db)
    document = xzufi(
        oe(
            "zweites-amt-dresden",
            "Zweites Amt Dresden",
            (f"urn:de:fim:leika:leistung:{DOG}", [RS + "146120000000"]),
        )
    )
    report = await import_batch(runtime.db, read_xzufi(io.BytesIO(document)))
    assert [(c.leika_key, c.area_key, c.authority_ids) for c in report.conflicts] == [
        (DOG, "146120000000", ["stadt-dresden", "zweites-amt-dresden"])
    ]


async def test_reimport_replaces_the_authoritys_previous_state(runtime: Runtime) -> None:
    await import_example(runtime.db)
    before = await responsibilities(runtime)
    assert ("stadt-dresden", WOHNGELD, "146120000000") in before
    document = xzufi(
        oe(
            "stadt-dresden",
            "Landeshauptstadt Dresden (neu)",
            (f"urn:de:fim:leika:leistung:{DOG}", [RS + "146120000000"]),
        )
    )
    await import_batch(runtime.db, read_xzufi(io.BytesIO(document)))
    after = await responsibilities(runtime)
    assert ("stadt-dresden", WOHNGELD, "146120000000") not in after
    assert ("stadt-dresden", DOG, "146120000000") in after
    assert {r for r in after if r[0] != "stadt-dresden"} == {
        r for r in before if r[0] != "stadt-dresden"
    }
    async with runtime.db.sessionmaker() as session:
        dresden = await session.get(Authority, "stadt-dresden")
    assert dresden is not None and dresden.name == "Landeshauptstadt Dresden (neu)"
    # The same file twice changes nothing.
    await import_example(runtime.db)
    await import_example(runtime.db)
    assert await responsibilities(runtime) == before


CSV = """\
# eantrag directory CSV
service,urn:de:fim:leika:leistung:99102013104000,Hundesteuer Anmeldung
authority,gemeinde-test,Gemeinde Test,Hauptstraße,1,09399,Testdorf,,+49 1 2,amt@test.example,
responsibility,gemeinde-test,99102013104000,146120000000
responsibility,stadt-leipzig,99102013104000,urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:rs:14729
responsibility,niemand,99102013104000,14729
postcode,01069,146120000000,Dresden
postcode,0106,146120000000
frobnicate,x
authority,bad id,Name
"""


async def test_csv_rows_of_every_kind(runtime: Runtime, tmp_path: Path) -> None:
    await import_example(runtime.db)
    path = tmp_path / "directory.csv"
    path.write_text(CSV, encoding="utf-8")
    batch = read_file(path)
    assert [(r.kind, r.line) for r in batch.rejected] == [
        ("postcode", 8),
        ("row", 9),
        ("authority", 10),
    ]
    report = await import_batch(runtime.db, batch)
    assert [r.ref for r in report.rejected[3:]] == ["niemand 99102013104000 14729"]
    after = await responsibilities(runtime)
    assert ("gemeinde-test", DOG, "146120000000") in after
    # stadt-leipzig is named by a responsibility row, so its responsibilities are replaced.
    assert {r for r in after if r[0] == "stadt-leipzig"} == {("stadt-leipzig", DOG, "14729")}
    assert [(c.area_key, c.authority_ids) for c in report.conflicts] == [
        ("146120000000", ["gemeinde-test", "stadt-dresden"])
    ]
    async with runtime.db.sessionmaker() as session:
        test = await session.get(Authority, "gemeinde-test")
    assert test is not None and (test.city, test.phone, test.email) == (
        "Testdorf",
        "+49 1 2",
        "amt@test.example",
    )


def test_format_is_detected_by_extension_or_content(tmp_path: Path) -> None:
    assert read_file(DIRECTORY).authorities
    odd = tmp_path / "directory.txt"
    odd.write_bytes(DIRECTORY.read_bytes())
    assert len(read_file(odd).authorities) == 10
    odd.write_text("postcode,01069,146120000000\n")
    assert len(read_file(odd).postcodes) == 1
    assert read_csv(io.BytesIO(b"postcode,01069,146120000000\n")).postcodes


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cli_imports_shows_and_lists_rejections(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EANTRAG_DATABASE_URL", database_url)
    monkeypatch.setenv("EANTRAG_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("EANTRAG_AMQP_URL", raising=False)
    # Logging set up inside CliRunner would keep writing to its closed stream afterwards.
    monkeypatch.setattr(routing_cli, "configure_logging", lambda *_: None)
    runner = CliRunner()
    result = runner.invoke(cli, ["directory", "import", str(DIRECTORY)])
    assert result.exit_code == 0, result.output
    assert "authorities" in result.output and "10" in result.output
    assert "10 authority inbox queue(s) declared" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text(CSV)
    result = runner.invoke(cli, ["directory", "import", "--format", "csv", str(bad)])
    assert result.exit_code == 0, result.output
    assert "rejected" in result.output and "unknown kind of row" in result.output
    assert "conflicts" in result.output
    result = runner.invoke(cli, ["directory", "show"])
    assert result.exit_code == 0 and "responsibilities" in result.output
    refused = tmp_path / "refused.xml"
    refused.write_text("<nope/>")
    result = runner.invoke(cli, ["directory", "import", str(refused)])
    assert result.exit_code == 2 and "refused" in result.output
    help_text = runner.invoke(cli, ["directory", "import", "--help"]).output
    assert "README" in help_text and "responsibility" in help_text
