"""The command line as an operator uses it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import httpx
from pydantic import SecretStr

from bootstrap.cli import WORKER_NAMES
from eantrag import __version__
from eantrag.runtime import Runtime
from fitconnect_destination import consumers as fitconnect_consumers
from tests.conftest import ROOT
from tests.test_readme import free_port


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bootstrap", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})},
        cwd=ROOT,
    )


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    result = run("db", "upgrade", env={"EANTRAG_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "eantrag.db").exists()


def test_demo_runs_every_example_end_to_end(tmp_path: Path) -> None:
    result = run("demo", "--data-dir", str(tmp_path))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert output.count("202 accepted") == 5
    assert "broken transponder number" in output and "422" in output
    assert "demo finished" in output


def test_a_worker_serves_its_metrics_when_given_a_port(tmp_path: Path) -> None:
    import socket
    import time

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "EANTRAG_DATA_DIR": str(tmp_path),
        "EANTRAG_WORKER_METRICS_PORT": str(port),
    }
    assert run("db", "upgrade", env={"EANTRAG_DATA_DIR": str(tmp_path)}).returncode == 0
    worker = subprocess.Popen(
        [sys.executable, "-m", "bootstrap", "worker", "triage"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
                break
            except httpx.TransportError:
                assert worker.poll() is None, "the worker exited"
                assert time.monotonic() < deadline, "no metrics endpoint within 60 s"
                time.sleep(0.2)
        assert response.status_code == 200
        assert "eantrag_messages_handled_total" in response.text
        assert "eantrag_transaction_group_size" in response.text
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def test_version_prints_the_version() -> None:
    result = run("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"eantrag {__version__}"


def test_db_upgrade_says_nothing_of_alembic_and_logs_json_when_asked(tmp_path: Path) -> None:
    result = run(
        "db", "upgrade", env={"EANTRAG_DATA_DIR": str(tmp_path), "EANTRAG_LOG_FORMAT": "json"}
    )
    assert result.returncode == 0, result.stderr
    assert "Context impl" not in result.stderr and "non-transactional" not in result.stderr


def test_serve_logs_every_line_as_json_with_the_request_id(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "EANTRAG_DATA_DIR": str(tmp_path),
        "EANTRAG_LOG_FORMAT": "json",
        # about the log lines of a refused document; the token check has tests of its own
        "EANTRAG_INTAKE_AUTH": "off",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "bootstrap", "serve", "--no-workers", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and server.poll() is None, "serve did not start"
                time.sleep(0.2)
        refused = httpx.post(
            base + "/v1/applications",
            content=b"<not-a-form/>",
            headers={"content-type": "application/xml", "X-Request-ID": "portal-4711"},
        )
        made = httpx.get(base + "/v1/forms")
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=30)
    assert refused.headers["x-request-id"] == "portal-4711"
    assert len(made.headers["x-request-id"]) >= 16, "a request without one gets an id"
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]  # every line JSON
    assert any(line.get("logger", "").startswith("uvicorn") for line in lines), stderr
    access = [line for line in lines if line["event"] == "request"]
    assert {(a["path"], a["status"], a["request_id"]) for a in access} >= {
        ("/v1/applications", refused.status_code, "portal-4711"),
        ("/v1/forms", 200, made.headers["x-request-id"]),
    }
    (refusal,) = [line for line in lines if line["event"] == "application.refused"]
    assert refusal["level"] == "info" and refusal["request_id"] == "portal-4711"
    assert refusal["code"] == refused.json()["code"] and refusal["client"] == "127.0.0.1"


def test_worker_refuses_an_unknown_name_listing_the_known_ones() -> None:
    result = run("worker", "routr")
    assert result.returncode == 2
    assert "'routr' is not a worker" in result.stderr
    known = ("casefile", "outbox-relay", "router", "routing-sweeper", "triage", "notifications")
    for name in known:
        assert name in result.stderr


def test_worker_help_lists_the_workers() -> None:
    result = run("worker", "--help", env={"COLUMNS": "200"})
    assert result.returncode == 0
    for name in ("casefile", "fitconnect", "router", "routing-sweeper", "renderer", "triage"):
        assert name in result.stdout


async def test_the_declared_worker_names_are_the_workers_the_components_make(
    runtime: Runtime,
) -> None:
    """`eantrag worker` offers the names before any runtime exists; they must be the real ones."""
    made = set(runtime.workers)
    with_fitconnect = replace(
        runtime,
        settings=runtime.settings.model_copy(
            update={
                "fitconnect_submission_api": "http://127.0.0.1:1",
                "fitconnect_token_url": "http://127.0.0.1:1/token",
                "fitconnect_client_id": "c",
                "fitconnect_client_secret": SecretStr("s"),
                "fitconnect_destination_id": "d",
                "fitconnect_keys": Path("keys.json"),
            }
        ),
    )
    made |= set(fitconnect_consumers.workers(with_fitconnect))
    assert made == set(WORKER_NAMES)
