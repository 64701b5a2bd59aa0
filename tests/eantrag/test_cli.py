"""The command line as an operator uses it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


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
        [sys.executable, "-m", "bootstrap", "worker", "status"],
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
