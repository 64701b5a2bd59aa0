"""`eantrag serve` with FIT-Connect configured: the Zustelldienst's callback, signed as it signs
callbacks, reaches the API and wakes the worker in the same process — long before its next poll."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

import httpx

from eantrag.settings import Settings
from fitconnect_destination.standin import free_port
from tests.fitconnect_destination.conftest import KeyFiles, Zustelldienst
from tests.fitconnect_destination.test_crash import start_worker, until
from tests.fitconnect_destination.test_exchange import send_wohngeld


async def test_the_callback_wakes_the_worker_of_eantrag_serve(
    settings: Settings, zustelldienst: Zustelldienst, destination_keys: KeyFiles, tmp_path: Path
) -> None:
    port = free_port()
    secret = "the-destination-callback-secret"
    destination = zustelldienst.state.destinations[zustelldienst.destination_id]
    destination.callback_url = f"http://127.0.0.1:{port}/v1/fitconnect/callback"
    destination.callback_secret = secret
    log = tmp_path / "serve.log"
    server = start_worker(
        settings,
        zustelldienst,
        destination_keys,
        log,
        "serve",
        "--port",
        str(port),
        EANTRAG_FITCONNECT_CALLBACK_SECRET=secret,
        EANTRAG_FITCONNECT_POLL_INTERVAL_SECONDS="3600",
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:

            async def ready() -> bool:
                try:
                    return (await http.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await until(ready, "eantrag serve", log)
            await asyncio.sleep(1.0)  # the worker's first pass is over; the next is an hour away
            _submission_id, case_id = await send_wohngeld(zustelldienst)
            assert zustelldienst.state.callbacks_sent == 1

            async def answered() -> bool:
                return case_id in zustelldienst.state.events

            await until(answered, "the answer after the callback", log)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
    claims = zustelldienst.state.decoded_events(case_id)
    assert list(claims[0]["events"]) == [
        "https://schema.fitko.de/fit-connect/events/accept-submission"
    ]
    assert '"fitconnect.callback"' in log.read_text()
