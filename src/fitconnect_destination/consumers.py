"""The `fitconnect` worker: lists the destination's submissions on a timer and when woken."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from eantrag.runtime import Runtime, Worker
from fitconnect_destination import keys
from fitconnect_destination.client import SubmissionApi, Transient
from fitconnect_destination.service import Destination, receive_pending
from intake import service as intake_service
from intake.service import StatusTokens

log = structlog.get_logger(__name__)

_wakers: set[asyncio.Event] = set()


def wake_receivers() -> None:
    """Wake the receivers of this process (a valid callback); others find out by polling."""
    for event in _wakers:
        event.set()


async def open_destination(runtime: Runtime) -> Destination:
    settings = runtime.settings
    assert settings.fitconnect_keys is not None
    assert settings.fitconnect_client_secret is not None
    return Destination(
        api=SubmissionApi(
            str(settings.fitconnect_submission_api),
            str(settings.fitconnect_token_url),
            str(settings.fitconnect_client_id),
            settings.fitconnect_client_secret.get_secret_value(),
        ),
        keys=keys.load(settings.fitconnect_keys),
        destination_id=str(settings.fitconnect_destination_id),
        db=runtime.db,
        blobs=runtime.blobs,
        tokens=StatusTokens(await runtime.secret("status-token")),
        limits=intake_service.limits(settings),
    )


def workers(runtime: Runtime) -> dict[str, Worker]:
    if not runtime.settings.fitconnect_enabled:
        return {}
    interval = runtime.settings.fitconnect_poll_interval_seconds

    async def fitconnect_worker() -> None:
        wake = asyncio.Event()
        _wakers.add(wake)
        dest = await open_destination(runtime)
        log.info("fitconnect.receiving", destination_id=dest.destination_id)
        try:
            while True:
                wake.clear()
                try:
                    handled = await receive_pending(dest)
                    if handled:
                        log.info("fitconnect.pass", handled=handled)
                except Transient as exc:
                    log.warning("fitconnect.unreachable", error=str(exc)[:300])
                except Exception:
                    log.exception("fitconnect.pass_failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=interval)
        finally:
            _wakers.discard(wake)
            await dest.api.close()

    return {"fitconnect": fitconnect_worker}
