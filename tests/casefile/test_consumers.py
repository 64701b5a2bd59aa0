"""The inbox consumers: authorities imported later are picked up, a message that can never be
filed is dead-lettered with its reason while the rest flows, and nothing is filed twice."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace

from prometheus_client import REGISTRY
from sqlalchemy import event, select

from bootstrap.app import run_workers, stop_workers
from casefile import filing
from casefile.consumers import InboxConsumers, filing_handler
from casefile.fileplan import PlanFile
from casefile.models import Akte, Dokument
from eantrag.broker import IncomingMessage, authority_queue, dead_letter_queue
from eantrag.models import QueuedMessage
from eantrag.runtime import Runtime
from tests.casefile.support import DRESDEN_ID, authority_message, case_count, cases, outgoing
from tests.routing.support import WOHNGELD, import_example, queue_depth, wait_for, workers


async def test_an_authority_imported_later_is_consumed_without_a_restart(
    runtime: Runtime,
) -> None:
    consumers = InboxConsumers(
        runtime, filing_handler(runtime), refresh_seconds=0.2, tick_seconds=0.1
    )
    runtime.workers["casefile-fast"] = consumers.run
    tasks = await run_workers(runtime, ["casefile-fast"])
    try:
        await asyncio.sleep(0.3)
        assert consumers.tasks == {}, "no directory yet, no inbox"
        await import_example(runtime.db)  # as `eantrag directory import` in another process
        await wait_for(lambda: _has(consumers, DRESDEN_ID))
        body = await authority_message(runtime.blobs, DRESDEN_ID)
        await runtime.broker.publish([outgoing(body)])
        await wait_for(lambda: _filed(runtime, 1))
        assert len(consumers.tasks) == 10  # every authority of the demo directory
    finally:
        await stop_workers(tasks)
    assert consumers.tasks == {}, "consumers stop with the worker"


async def _has(consumers: InboxConsumers, authority_id: str) -> bool:
    return authority_id in consumers.tasks


async def _filed(runtime: Runtime, count: int) -> bool:
    return await case_count(runtime.db) >= count


async def test_unfileable_messages_are_dead_lettered_and_the_rest_is_filed(
    runtime: Runtime,
) -> None:
    await runtime.broker.declare_authority(DRESDEN_ID)
    good = await authority_message(runtime.blobs)
    tampered = await authority_message(runtime.blobs)
    tampered["original"]["sha256"] = good["original"]["sha256"]  # points at other bytes
    wrong_queue = await authority_message(runtime.blobs, "stadt-leipzig")
    malformed = replace(outgoing(await authority_message(runtime.blobs)), body=b"{")
    misrouted = replace(outgoing(wrong_queue), routing_key=DRESDEN_ID)
    only_dogs = PlanFile.model_validate(
        {
            "units": [
                {
                    "kennzeichen": "022.31",
                    "title": "Hundesteuer",
                    "retentionYears": 10,
                    "disposal": "V",
                    "services": ["99102013104000"],
                }
            ]
        }
    )
    async with runtime.db.transaction() as session:
        await filing.import_plan(session, DRESDEN_ID, only_dogs)
    no_unit = await authority_message(runtime.blobs, leika=WOHNGELD)
    await runtime.broker.publish(
        [outgoing(tampered), malformed, misrouted, outgoing(no_unit), outgoing(good)]
    )
    async with workers(runtime, "casefile"):
        await wait_for(lambda: _filed(runtime, 1))
        await wait_for(lambda: _dead(runtime, 4))
    filed = await cases(runtime.db)
    assert [str(c.application_id) for c in filed] == [good["applicationId"]]
    async with runtime.db.sessionmaker() as session:
        reasons = [
            str((row.headers or {}).get("x-death-reason"))
            for row in await session.scalars(
                select(QueuedMessage).where(
                    QueuedMessage.queue == dead_letter_queue(authority_queue(DRESDEN_ID))
                )
            )
        ]
    assert any("BlobMismatch" in r for r in reasons)
    assert any("malformed" in r for r in reasons)
    assert any("arrived in" in r for r in reasons)
    assert any("NoPlanUnit" in r and "no unit for service 99107023037000" in r for r in reasons)


async def _dead(runtime: Runtime, count: int) -> bool:
    depth = await queue_depth(runtime.db, dead_letter_queue(authority_queue(DRESDEN_ID)))
    return depth >= count


async def test_a_redelivered_or_repeated_application_is_filed_once(runtime: Runtime) -> None:
    await runtime.broker.declare_authority(DRESDEN_ID)
    body = await authority_message(runtime.blobs, attachments=1)
    first = outgoing(body)
    again = replace(first, message_id=uuid.uuid4())  # the same application, e.g. re-driven
    await runtime.broker.publish([first])
    async with workers(runtime, "casefile"):
        await wait_for(lambda: _filed(runtime, 1))
        await runtime.broker.publish([again])
        await wait_for(lambda: _empty(runtime))
    assert await case_count(runtime.db) == 1
    async with runtime.db.sessionmaker() as session:
        documents = (await session.scalars(select(Dokument))).all()
    assert sorted(d.kind for d in documents) == ["attachment", "original", "rendering"]


async def _empty(runtime: Runtime) -> bool:
    return await queue_depth(runtime.db, authority_queue(DRESDEN_ID)) == 0


def _delivery(body: dict[str, object]) -> IncomingMessage:
    sent = outgoing(body)
    return IncomingMessage(
        message_id=sent.message_id,
        queue=authority_queue(sent.routing_key),
        routing_key=sent.routing_key,
        type=sent.type,
        body=sent.body,
        headers={},
        attempts=0,
    )


async def test_deliveries_that_arrive_together_share_a_transaction(runtime: Runtime) -> None:
    """What is ready at the same time commits together; a bad delivery fails alone."""
    handler = filing_handler(runtime)
    good = [_delivery(await authority_message(runtime.blobs)) for _ in range(20)]
    tampered = await authority_message(runtime.blobs)
    tampered["original"]["size"] += 1
    bad = _delivery(tampered)
    commits = 0

    def count(_connection: object) -> None:
        nonlocal commits
        commits += 1

    def grouped() -> float:
        sample = REGISTRY.get_sample_value(
            "eantrag_transaction_group_size_sum", {"committer": "casefile"}
        )
        return sample or 0.0

    before = grouped()
    event.listen(runtime.db.engine.sync_engine, "commit", count)
    try:
        results = await asyncio.gather(
            *(handler(m) for m in [*good[:10], bad, *good[10:]]), return_exceptions=True
        )
    finally:
        event.remove(runtime.db.engine.sync_engine, "commit", count)
    assert [type(r).__name__ for r in results] == ["NoneType"] * 10 + ["BlobMismatch"] + [
        "NoneType"
    ] * 10
    assert await case_count(runtime.db) == 20
    async with runtime.db.sessionmaker() as session:
        references = (await session.scalars(select(Akte.aktenzeichen))).all()
    numbers = sorted(int(reference.rsplit("-", 1)[1]) for reference in references)
    assert numbers == list(range(1, 21)), "gap-free references, whatever the grouping"
    # 20 filings in fewer transactions than filings
    assert commits < 10, f"{commits} commits for 20 filings"
    # the metric counts every message of a committed group: the 20 good ones, and the bad one
    # only if it had been committed (it was not)
    assert grouped() - before == 20
    # and a repeat of the same deliveries files nothing twice
    again = await asyncio.gather(*(handler(m) for m in good), return_exceptions=True)
    assert all(r is None for r in again)
    assert await case_count(runtime.db) == 20
    # nor twins that arrive together (no message id is recorded: the case's unique application
    # id is what recognises them, within a group as across groups)
    twins = [_delivery(await authority_message(runtime.blobs)) for _ in range(5)]
    both = await asyncio.gather(*(handler(m) for m in twins + twins), return_exceptions=True)
    assert all(r is None for r in both)
    assert await case_count(runtime.db) == 25
