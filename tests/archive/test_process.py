"""The Aussonderung as a process: offer → appraisal → export → confirmation → deletion, against
the in-memory case source (the case file's own round trip is in test_casefile_round_trip)."""

from __future__ import annotations

import uuid
import zipfile
from datetime import date
from pathlib import Path

import pytest
from lxml import etree

from archive.errors import ArchiveError, UnknownProcess
from archive.messages import read_message_bytes, read_object_list
from archive.package import verify_package
from archive.service import ArchiveService
from tests.archive.conftest import ArchiveEnv
from tests.archive.support import (
    AUTHORITY,
    PDF,
    appraisal_message,
    example_case,
    import_confirmation,
    write,
)

AS_OF = date(2026, 11, 23)


def blob_exists(env: ArchiveEnv, key: str) -> bool:
    return (env.blobs.root / key).exists()


async def test_four_step_round_trip_leaves_no_data_of_archived_cases(
    env: ArchiveEnv, tmp_path: Path
) -> None:
    take = env.source.add(await example_case(env.blobs, number=1))
    destroy = env.source.add(await example_case(env.blobs, number=2))
    failing = env.source.add(await example_case(env.blobs, number=3))
    all_keys = {v.blob_key for a in (take, destroy, failing) for v in a.versions()}

    offer = await env.run(lambda s: s.offer(AUTHORITY, AS_OF, env.out))
    assert offer is not None
    assert offer.path.name == f"{offer.process_id}_Aussonderung.Anbieteverzeichnis.0501.zip"
    offered = read_object_list(read_message_bytes(offer.path), env.schema)
    assert offered.head.process_id == offer.process_id
    assert offered.head.flags == {"Empfangsbestaetigung": True}
    assert {a.id for a in offered.akten} == {take.id, destroy.id, failing.id}
    assert all(a.disposal and a.disposal.code == "B" for a in offered.akten)
    assert offered.filenames() == [], "an offer list carries metadata only"

    # Offered cases are in a running process: neither offered nor exported again.
    assert await env.run(lambda s: s.offer(AUTHORITY, AS_OF, env.out)) is None
    nothing = await env.run(lambda s: s.export(AUTHORITY, AS_OF, env.out))
    assert nothing.processes == []

    decisions = {take.id: "A", destroy.id: "V", failing.id: "A"}
    appraisal = write(tmp_path / "0502.xml", appraisal_message(offer.process_id, decisions))
    appraised = await env.run(lambda s: s.appraise(appraisal, env.out))
    assert appraised.receipt.name == (
        f"{offer.process_id}_Aussonderung.BewertungEmpfangBestaetigen.0505.zip"
    )
    receipt = etree.fromstring(read_message_bytes(appraised.receipt))
    env.schema.validate(receipt, "3.0.0", "0505")
    assert sorted(appraised.taken) == sorted([take.aktenzeichen, failing.aktenzeichen])
    assert [e.new_value for e in env.source.audit[destroy.id]] == ["V"]

    exported = await env.run(lambda s: s.export(AUTHORITY, AS_OF, env.out))
    [process] = exported.processes
    assert process.process_id == offer.process_id and process.variant == "four-step"
    assert process.destroyed == [destroy.aktenzeichen]
    assert destroy.id not in env.source.cases
    assert env.source.audit[destroy.id][-1].action == "archive.deleted"
    assert process.path is not None and verify_package(process.path, env.schema).ok
    with zipfile.ZipFile(process.path) as package:
        xml = next(n for n in package.namelist() if n.endswith(".xml"))
        transferred = read_object_list(package.read(xml))
    assert {a.id for a in transferred.akten} == {take.id, failing.id}

    confirmation = write(
        tmp_path / "0506.xml",
        import_confirmation(offer.process_id, {take.id: "el_sta/4711", failing.id: None}),
    )
    confirmed = await env.run(lambda s: s.confirm(confirmation))
    assert confirmed.archived == [(take.aktenzeichen, "el_sta/4711")]
    assert [name for name, _ in confirmed.failed] == [failing.aktenzeichen]
    assert not confirmed.ok
    assert take.id not in env.source.cases and failing.id in env.source.cases
    assert env.source.deleted[take.id] == "el_sta/4711"
    record = env.source.audit[take.id][-1]
    assert record.action == "archive.deleted" and record.new_value == "el_sta/4711"
    # Blobs: the archived and destroyed cases' files are gone, the failed case keeps its own;
    # the PDF all three share survives because the failed case still references it.
    kept = {v.blob_key for v in failing.versions()}
    for key in all_keys:
        assert blob_exists(env, key) == (key in kept), key

    # The failed case is due again and goes out in a new (two-step) process.
    again = await env.run(lambda s: s.export(AUTHORITY, AS_OF, env.out))
    assert [p.cases for p in again.processes] == [[failing.aktenzeichen]]


async def test_a_confirmation_for_an_unknown_process_fails_loudly(
    env: ArchiveEnv, tmp_path: Path
) -> None:
    akte = env.source.add(await example_case(env.blobs, number=1))
    stranger = uuid.uuid4()
    message = write(tmp_path / "0506.xml", import_confirmation(stranger, {akte.id: "x/1"}))
    with pytest.raises(UnknownProcess, match=str(stranger)):
        await env.run(lambda s: s.confirm(message))
    assert akte.id in env.source.cases


async def test_two_step_confirmation_deletes_and_keeps_shared_blobs(
    env: ArchiveEnv, tmp_path: Path
) -> None:
    archived = env.source.add(await example_case(env.blobs, number=1))
    later = env.source.add(
        await example_case(env.blobs, number=2, closed="2025-06-01T00:00:00", attachment=PDF)
    )
    shared = archived.vorgaenge[0].documents[1].versions[0].blob_key
    assert shared == later.vorgaenge[0].documents[1].versions[0].blob_key

    exported = await env.run(lambda s: s.export(AUTHORITY, AS_OF, env.out))
    [process] = exported.processes
    assert process.cases == [archived.aktenzeichen]
    message = write(
        tmp_path / "0506.xml",
        import_confirmation(process.process_id, {archived.id: "el_sta/1"}, "3.0.0"),
    )
    confirmed = await env.run(lambda s: s.confirm(message))
    assert confirmed.ok and confirmed.pending == []
    assert blob_exists(env, shared), "still referenced by the later case"
    original = archived.vorgaenge[0].documents[0].versions[0].blob_key
    assert not blob_exists(env, original)

    # Confirming again changes nothing and deletes nothing twice.
    again = await env.run(lambda s: s.confirm(message))
    assert again.archived == [(archived.aktenzeichen, "el_sta/1")]


async def test_an_appraisal_must_decide_exactly_the_offered_objects(
    env: ArchiveEnv, tmp_path: Path
) -> None:
    one = env.source.add(await example_case(env.blobs, number=1))
    two = env.source.add(await example_case(env.blobs, number=2))
    offer = await env.run(lambda s: s.offer(AUTHORITY, AS_OF, env.out))
    assert offer is not None

    async def appraise(decisions: dict[uuid.UUID, str]) -> object:
        path = write(tmp_path / "0502.xml", appraisal_message(offer.process_id, decisions))

        async def work(service: ArchiveService) -> object:
            return await service.appraise(path, env.out)

        return await env.run(work)

    with pytest.raises(ArchiveError, match="undecided"):
        await appraise({one.id: "A"})
    with pytest.raises(ArchiveError, match="never offered"):
        await appraise({one.id: "A", two.id: "V", uuid.uuid4(): "A"})
    with pytest.raises(ArchiveError, match="A or V"):
        await appraise({one.id: "A", two.id: "B"})
    await appraise({one.id: "A", two.id: "A"})
    with pytest.raises(ArchiveError, match="appraised"):
        await appraise({one.id: "A", two.id: "A"})
