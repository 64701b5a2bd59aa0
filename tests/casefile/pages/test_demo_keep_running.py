"""`eantrag demo --keep-running`: after the examples, the server keeps running on the demo's
data, and a printed clerk's login opens the Posteingang with the filed examples."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.casefile.conftest import free_port
from tests.identity.people.support import form_token

ROW = re.compile(r"│ (sb\.stadt-leipzig)\s+│ (\S+)\s+│ clerk of stadt-leipzig\s+│")


def test_the_demo_keeps_serving_and_a_clerk_logs_in(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("EANTRAG_")},
        "EANTRAG_DATA_DIR": str(tmp_path),
        "EANTRAG_GC_FREEZE": "false",
        "COLUMNS": "240",
    }
    out = tmp_path / "demo.log"
    with out.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bootstrap", "demo", "--keep-running", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            text = out.read_text()
            assert process.poll() is None, text
            if f"eantrag runs at {base}/" in text:
                try:
                    if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
            assert time.monotonic() < deadline, text
            time.sleep(0.5)
        found = ROW.search(text)
        assert found, text
        assert "once `eantrag serve` runs" not in text  # it runs already
        with httpx.Client(base_url=base, timeout=10) as client:
            form = client.get("/login")
            response = client.post(
                "/login",
                data={
                    "username": found[1],
                    "password": found[2],
                    "csrf_token": form_token(form.text, "/login"),
                    "next": "",
                },
            )
            assert response.status_code == 303 and response.headers["location"] == "/"
            inbox = client.get("/")
            assert inbox.status_code == 200
            assert len(re.findall(r'data-case="[0-9a-f-]{36}"', inbox.text)) == 4
            assert "500.21-" in inbox.text
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
