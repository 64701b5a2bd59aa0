"""The e-Akte's message handlers: the authorities' inboxes, and the triage desk.

There is one inbox queue per authority (`authority.<id>.inbox`), and authorities come and go with
directory imports. The `casefile` worker keeps one consumer per known authority: it starts with
every authority of the directory and every inbox this process has declared, and looks again every
few seconds, so an authority imported later is picked up without a restart. A consumer that died
is started again on the next look. Run the worker more than once to have competing consumers on
every inbox; file references stay unique and gap-free because they come from a counter row in
the database, not from the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from casefile import directory, filing, repository, service
from casefile.filing import FilingConflict, PreparedFiling
from contracts.application import AuthorityMessage, UnroutableApplication
from eantrag.broker import (
    UNROUTABLE_QUEUE,
    Handler,
    IncomingMessage,
    PermanentError,
    authority_queue,
)
from eantrag.consumer import Prepared, grouped_prepared, idempotent
from eantrag.runtime import Runtime, Worker

log = structlog.get_logger(__name__)

CONSUMER = "casefile"
TRIAGE_CONSUMER = "casefile.triage"
REFRESH_SECONDS = 10.0
TICK_SECONDS = 0.5


def parse_authority_message(message: IncomingMessage) -> AuthorityMessage:
    parsed = AuthorityMessage.parse(message.body)
    if message.queue != authority_queue(parsed.authority.id):
        raise PermanentError(
            f"message for authority {parsed.authority.id!r} arrived in {message.queue!r}"
        )
    return parsed


def filing_handler(runtime: Runtime) -> Handler:
    """Verify and render outside the transaction (the prepare step), then file in groups.

    Every inbox consumer of the worker shares this handler, so deliveries from all authorities
    that are ready at the same time are filed in one transaction (see `grouped_prepared`): the
    commit, not the filing, is what costs (`filing.file_applications` writes a whole group
    with a handful of statements and locks the file-reference counters in a fixed order).
    """

    async def file_group(
        session: AsyncSession, items: Sequence[Prepared[PreparedFiling]]
    ) -> list[str | None]:
        filed = await filing.file_applications(
            session, [item.value for item in items], actor=filing.SYSTEM_ACTOR, source="routing"
        )
        return [case.akte.aktenzeichen if case is not None else None for case in filed]

    # one case per application (a unique key) makes filing idempotent: no message id recorded
    commit = grouped_prepared(CONSUMER, runtime.db, file_group, record_ids=False)

    async def handle(message: IncomingMessage) -> None:
        application = filing.from_message(parse_authority_message(message))
        bound = log.bind(
            application_id=str(application.application_id),
            message_id=str(message.message_id),
            authority_id=application.authority_id,
        )
        try:
            ready = await filing.prepare_filing(runtime.blobs, application)
        except Exception:
            # A redelivery or re-drive of a filed application finds its blobs gone once the
            # file was archived: that is no failure. (Filing itself skips a filed application,
            # so the common path needs no look-up of its own.)
            async with runtime.db.sessionmaker() as session:
                case_id = await repository.case_id_for_application(
                    session, application.application_id
                )
            if case_id is None:
                raise
            bound.info("casefile.already_filed", case_id=str(case_id))
            return
        try:
            reference = await commit(message, ready)
        except FilingConflict as exc:
            bound.warning("casefile.filing_conflict", error=str(exc))
            raise
        if reference is None:
            # a duplicate delivery, or another filer was first
            bound.info("casefile.already_filed")
        else:
            bound.info("casefile.filed", file_reference=reference)

    return handle


class InboxConsumers:
    """One consumer task per authority inbox, for every authority known now or later."""

    def __init__(
        self,
        runtime: Runtime,
        handler: Handler,
        *,
        refresh_seconds: float = REFRESH_SECONDS,
        tick_seconds: float = TICK_SECONDS,
    ) -> None:
        self.runtime = runtime
        self.handler = handler
        self.refresh_seconds = refresh_seconds
        self.tick_seconds = tick_seconds
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self._from_directory: set[str] = set()

    async def _refresh_directory(self) -> None:
        try:
            async with self.runtime.db.sessionmaker() as session:
                self._from_directory = await directory.authority_ids(session)
        except Exception as exc:
            log.warning("casefile.directory_unavailable", error=repr(exc))

    def known(self) -> set[str]:
        return self._from_directory | set(self.runtime.broker.topology.authority_ids)

    async def _ensure_consumers(self) -> None:
        for authority_id in sorted(self.known()):
            task = self.tasks.get(authority_id)
            if task is not None and not task.done():
                continue
            if task is not None and not task.cancelled() and task.exception() is not None:
                log.warning(
                    "casefile.consumer_restart",
                    authority_id=authority_id,
                    error=repr(task.exception()),
                )
            await self.runtime.broker.declare_authority(authority_id)
            self.tasks[authority_id] = asyncio.create_task(
                self.runtime.broker.consume(
                    authority_queue(authority_id),
                    self.handler,
                    prefetch=self.runtime.settings.queue_prefetch,
                ),
                name=f"casefile:{authority_id}",
            )
            log.info("casefile.consuming", queue=authority_queue(authority_id))

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_refresh = loop.time()
        try:
            while True:
                if loop.time() >= next_refresh:
                    await self._refresh_directory()
                    next_refresh = loop.time() + self.refresh_seconds
                await self._ensure_consumers()
                await asyncio.sleep(self.tick_seconds)
        finally:
            for task in self.tasks.values():
                task.cancel()
            for task in self.tasks.values():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self.tasks.clear()


async def record_unroutable(session: AsyncSession, message: IncomingMessage) -> None:
    await service.record_unroutable(session, UnroutableApplication.parse(message.body))


def workers(runtime: Runtime) -> dict[str, Worker]:
    triage_handler = idempotent(TRIAGE_CONSUMER, runtime.db, record_unroutable)

    async def casefile() -> None:
        await InboxConsumers(runtime, filing_handler(runtime)).run()

    async def triage() -> None:
        await runtime.broker.consume(
            UNROUTABLE_QUEUE, triage_handler, prefetch=runtime.settings.queue_prefetch
        )

    return {"casefile": casefile, "triage": triage}
