"""A message sent again in a submission of its own (a new submissionId, the same
nachrichtenUUID) is answered as intake answers a repeat: the same content is accepted without
filing anything twice, other content under a used nachrichtenUUID is rejected naming it."""

from __future__ import annotations

from sqlalchemy import func, select

from eantrag.runtime import Runtime
from fitconnect_destination import jose, repository
from fitconnect_destination.models import ANSWERED
from fitconnect_destination.problems import OURS
from fitconnect_destination.service import Destination, receive_pending
from intake.models import Application
from tests.fitconnect_destination.conftest import KeyFiles, Zustelldienst
from tests.fitconnect_destination.test_exchange import (
    send_wohngeld,
    the_event,
    verify_with_joserfc,
)
from tests.intake.test_fitconnect import wohngeld_submission

UUID = b"9632f31f-42ff-461e-95ab-37f8840da00d"  # the example's nachrichtenUUID


async def applications(runtime: Runtime) -> int:
    async with runtime.db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Application)) or 0)


async def answered(runtime: Runtime, submission_id: str) -> dict[str, object]:
    async with runtime.db.sessionmaker() as session:
        row = await repository.get(session, submission_id)
    assert row is not None
    return row


async def test_the_same_message_in_a_second_submission_is_accepted_and_filed_once(
    runtime: Runtime,
    destination: Destination,
    zustelldienst: Zustelldienst,
    destination_keys: KeyFiles,
) -> None:
    first, first_case = await send_wohngeld(zustelldienst)
    assert await receive_pending(destination) == 1
    second, second_case = await send_wohngeld(zustelldienst)

    assert await receive_pending(destination) == 1

    claims = verify_with_joserfc(the_event(zustelldienst, second_case), destination_keys)
    assert list(claims["events"]) == [jose.ACCEPT]
    assert zustelldienst.state.submissions[second].state == "accepted"
    assert await applications(runtime) == 1
    original = await answered(runtime, first)
    repeat = await answered(runtime, second)
    assert repeat["state"] == ANSWERED and repeat["application_id"] is None
    assert original["application_id"] is not None
    # nothing is left to do: the next pass finds no work and sends nothing again
    assert await receive_pending(destination) == 0
    assert len(zustelldienst.state.events[second_case]) == 1
    assert len(zustelldienst.state.events[first_case]) == 1


async def test_other_content_under_a_used_nachrichten_uuid_is_rejected_naming_it(
    runtime: Runtime,
    destination: Destination,
    zustelldienst: Zustelldienst,
    destination_keys: KeyFiles,
) -> None:
    await send_wohngeld(zustelldienst)
    assert await receive_pending(destination) == 1
    data, *_ = wohngeld_submission()
    changed = data.replace(b"Personen und Nummern sind erfunden", b"Alles erfunden", 1)
    assert changed != data and UUID in changed
    second, second_case = await send_wohngeld(zustelldienst, data=changed)

    assert await receive_pending(destination) == 1

    claims = verify_with_joserfc(the_event(zustelldienst, second_case), destination_keys)
    assert list(claims["events"]) == [jose.REJECT]
    (problem,) = claims["events"][jose.REJECT]["problems"]
    assert problem["type"] == OURS + "message-repeated"
    assert UUID.decode() in problem["detail"] and problem["instance"] == "data"
    assert await applications(runtime) == 1
    row = await answered(runtime, second)
    assert row["state"] == ANSWERED and row["application_id"] is None
    assert await receive_pending(destination) == 0
