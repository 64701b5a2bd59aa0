"""The README's shell examples run as written, against a real `eantrag serve`, so they cannot drift.

Every ```sh block runs, in order, in one bash session (a variable set in one block, such as a
token, is there in the next), unless the line before it says
`<!-- readme-test: skip (why) -->`; a block with a curl in it may not be skipped. The only change
made to a block is the port: `127.0.0.1:8000` becomes the free port the server listens on. Every
HTTP answer must be a success, and the server's receipts must link to that port.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import ROOT, need_service

README = ROOT / "README.md"
BLOCK = re.compile(
    r"(?:<!-- readme-test: skip \((?P<why>[^)]*)\) -->\n)?```sh\n(?P<code>.*?)```", re.S
)
HTTP_STATUS = re.compile(r"^readme-test: HTTP (\d{3}) (\S*)$", re.M)
DEFAULT_ADDRESS = "127.0.0.1:8000"


@dataclass(frozen=True)
class Block:
    line: int
    code: str
    skip: str | None


def readme_blocks(text: str) -> list[Block]:
    return [
        Block(text.count("\n", 0, m.start("code")) + 1, m.group("code"), m.group("why"))
        for m in BLOCK.finditer(text)
    ]


def test_no_curl_example_is_left_out() -> None:
    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    assert [b for b in blocks if b.skip is None], "the README has runnable examples"
    skipped_curls = [b.line for b in blocks if b.skip is not None and "curl " in b.code]
    assert skipped_curls == [], f"README blocks with curl that would not run: lines {skipped_curls}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# Between blocks: wait until the in-process workers have routed and filed what was submitted,
# as a reader who pauses would. Only the harness does this; the blocks are unchanged.
SETTLE = """
readme_settle() {
  "$README_PYTHON" - "%(db)s" <<'PY'
import sqlite3, sys, time
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    with sqlite3.connect(sys.argv[1]) as db:
        busy = db.execute(
            "SELECT count(*) FROM applications WHERE status IN ('received', 'routed')"
        ).fetchone()[0]
    if not busy:
        break
    time.sleep(0.2)
PY
}
"""


def script(blocks: list[Block], port: int, db: Path) -> str:
    parts = ["set -e", SETTLE % {"db": db}]
    for block in blocks:
        if block.skip is not None:
            continue
        code = block.code.replace(DEFAULT_ADDRESS, f"127.0.0.1:{port}")
        assert ":8000" not in code, f"README line {block.line}: an address other than {port}"
        parts += [f"echo 'readme-test: block at line {block.line}' >&2", code, "readme_settle"]
    return "\n".join(parts)


def curl_shim(bin_dir: Path) -> None:
    """`curl` as written, but reporting each answer's status on stderr for the checks below."""
    real = shutil.which("curl")
    if real is None:
        need_service("curl", "install it with: apt-get install curl")
    bin_dir.mkdir()
    shim = bin_dir / "curl"
    shim.write_text(
        "#!/bin/sh\n"
        f'exec {real} "$@" '
        "--write-out '%{stderr}readme-test: HTTP %{http_code} %{url_effective}\\n'\n"
    )
    shim.chmod(0o755)


def test_the_readme_examples_run_as_written(tmp_path: Path) -> None:
    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    port = free_port()
    data_dir = tmp_path / "var"
    curl_shim(tmp_path / "bin")
    venv_bin = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("EANTRAG_")}
    env.update(
        EANTRAG_DATA_DIR=str(data_dir),
        EANTRAG_LOG_LEVEL="WARNING",
        PATH=os.pathsep.join([str(tmp_path / "bin"), str(venv_bin), env.get("PATH", "")]),
        README_PYTHON=sys.executable,
    )
    server = subprocess.Popen(
        [str(venv_bin / "eantrag"), "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_until_up(server, port)
        done = subprocess.run(
            ["bash", "-c", script(blocks, port, data_dir / "eantrag.db")],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    answers = HTTP_STATUS.findall(done.stderr)
    assert len(answers) >= sum("curl " in b.code for b in blocks if b.skip is None), report
    failed = [(status, url) for status, url in answers if not status.startswith("2")]
    assert failed == [], report
    locations = re.findall(r"^location: (\S+)", done.stdout, re.M | re.I)
    assert locations, "the submissions answer with a Location"
    assert all(url.startswith(f"http://127.0.0.1:{port}/") for url in locations), locations
    with sqlite3.connect(data_dir / "eantrag.db") as db:
        statuses = dict(db.execute("SELECT form_id, count(*) FROM applications GROUP BY form_id"))
    assert statuses == {"hundeanmeldung": 1, "wohngeld-mietzuschuss": 2}


def _wait_until_up(server: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            assert server.stderr is not None
            raise AssertionError(server.stderr.read().decode(errors="replace"))
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("eantrag serve did not come up in 60 s")
