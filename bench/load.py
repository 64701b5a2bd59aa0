"""Load generators: closed loop (fixed concurrency, as fast as the server answers) and open loop
(fixed arrival rate, latency measured from the moment a request was due, so a server that falls
behind cannot hide it).

Every request carries a different document: the template's message UUID is replaced, so no two
bodies hash alike (a content-addressed blob store would otherwise store one blob for all).
`wrk` (Debian: `apt-get install wrk`) drives the closed loop when it is installed — it costs the
machine far less CPU than a Python client, which matters on two cores; httpx does otherwise.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

TEMPLATE_UUID = b"c3b7e5a2-1f4d-4e8b-a6c9-7d2f0b9e4a18"
"""The message UUID of examples/wohngeld.json, which the generated documents start from:
replaced in every request (the same nachrichtenUUID twice is one message, filed once)."""


@dataclass
class LoadResult:
    tool: str
    seconds: float
    ok: int = 0
    failed: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    p50_ms: float | None = None
    p99_ms: float | None = None

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def finish(self) -> LoadResult:
        if self.latencies_ms:
            ordered = sorted(self.latencies_ms)
            self.p50_ms = _quantile(ordered, 0.50)
            self.p99_ms = _quantile(ordered, 0.99)
        return self


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def unique_bodies(template: bytes) -> Callable[[], bytes]:
    if TEMPLATE_UUID not in template:
        raise ValueError("the template has no message UUID to replace")

    def make() -> bytes:
        return template.replace(TEMPLATE_UUID, str(uuid.uuid4()).encode(), 1)

    return make


def _client(connections: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        timeout=httpx.Timeout(120.0),
    )


def _count(result: LoadResult, status: int, latency_ms: float, expected: set[int]) -> None:
    result.statuses[status] = result.statuses.get(status, 0) + 1
    if status in expected:
        result.ok += 1
        result.latencies_ms.append(latency_ms)
    else:
        result.failed += 1


async def closed_loop(
    url: str,
    make_body: Callable[[], bytes],
    headers: dict[str, str],
    *,
    concurrency: int,
    seconds: float,
    expected: frozenset[int] = frozenset({202}),
    ids: list[str] | None = None,
) -> LoadResult:
    """`concurrency` keep-alive connections, each sending its next request when the last one
    was answered, for `seconds`; with `ids`, the application id of every 202 is kept there."""
    result = LoadResult("httpx", seconds)
    async with _client(concurrency) as client:
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()

        async def worker() -> None:
            while time.perf_counter() < deadline:
                body = make_body()
                t0 = time.perf_counter()
                try:
                    response = await client.post(url, content=body, headers=headers)
                    status = response.status_code
                    if ids is not None and status == 202:
                        ids.append(response.json()["applicationId"])
                except httpx.HTTPError:
                    status = 0
                _count(result, status, (time.perf_counter() - t0) * 1000, set(expected))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.seconds = time.perf_counter() - started
    return result.finish()


class _Connection:
    """A bare HTTP/1.1 keep-alive connection: a tenth of httpx's CPU per request, which lets a
    Python load generator keep a fixed rate on a small machine."""

    def __init__(
        self, host: str, port: int, path: str, headers: dict[str, str] | None = None
    ) -> None:
        self.host, self.port, self.path = host, port, path
        # every other header of the request (the portal's Authorization), sent each time
        self.extra = "".join(
            f"\r\n{name}: {value}"
            for name, value in (headers or {}).items()
            if name.lower() not in ("content-type", "content-length", "host")
        )
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes, content_type: str) -> int:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: {content_type}"
            f"\r\nContent-Length: {len(body)}{self.extra}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        await self.writer.drain()
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def open_loop(
    url: str,
    make_body: Callable[[], bytes],
    headers: dict[str, str],
    *,
    rate: float,
    seconds: float,
    expected: frozenset[int] = frozenset({202}),
    connections: int = 64,
) -> LoadResult:
    """A request every 1/rate seconds whatever the answers; latency counts from when it was due.

    `connections` senders take the requests in order of their due time; when all are busy, the
    next one goes out late and its lateness counts (a server that falls behind cannot hide it).
    """
    result = LoadResult("asyncio", seconds)
    total = int(rate * seconds)
    taken = 0
    target = httpx.URL(url)
    content_type = headers.get("content-type", "application/octet-stream")
    start = time.perf_counter() + 0.05

    async def sender() -> None:
        nonlocal taken
        connection = _Connection(target.host, target.port or 80, target.raw_path.decode(), headers)
        try:
            while taken < total:
                index, taken = taken, taken + 1
                due = start + index / rate
                body = make_body()
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                try:
                    status = await connection.post(body, content_type)
                except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
                    connection.close()
                    connection = _Connection(
                        target.host, target.port or 80, target.raw_path.decode(), headers
                    )
                    status = 0
                _count(result, status, (time.perf_counter() - due) * 1000, set(expected))
        finally:
            connection.close()

    await asyncio.gather(*(sender() for _ in range(connections)))
    result.seconds = max(seconds, time.perf_counter() - start)
    return result.finish()


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


_WRK_SCRIPT = """
local template = [==[%(template)s]==]
local placeholder = "%(placeholder)s"
local counter = 0
local prefix = string.format("%%08x", math.random(0, 2147483647))
wrk.method = "POST"
wrk.headers["Content-Type"] = "%(content_type)s"
%(extra_headers)s

local ids = nil
function init(args)
  if args[1] then
    ids = io.open(args[1] .. "." .. prefix .. "." .. tostring(math.random(0, 2147483647)), "w")
    ids:setvbuf("line")
  end
end

function response(status, headers, body)
  if ids and status == 202 then
    local id = body:match('"applicationId":"([^"]+)"')
    if id then ids:write(id, "\\n") end
  end
end

%(pace)s
function request()
  counter = counter + 1
  local id = string.format("%%s-%%04x-4%%03x-8%%03x-%%012x", prefix,
    math.random(0, 65535), math.random(0, 4095), math.random(0, 4095), counter)
  local body = template:gsub(placeholder, id, 1)
  return wrk.format(nil, nil, nil, body)
end
"""


def wrk_closed_loop(
    url: str,
    template: bytes,
    content_type: str,
    *,
    concurrency: int,
    seconds: float,
    ids: Path | None = None,
    headers: dict[str, str] | None = None,
    rate: float | None = None,
) -> LoadResult:
    """The closed loop with wrk (one thread, `concurrency` connections); with `ids`, the
    application id of every 202 goes to files `<ids>.*`. With `rate`, each connection waits
    `concurrency / rate` seconds before its next request (wrk's `delay`): the load offered is
    about `rate` per second as long as answers are quick, less when they are not."""
    text = template.decode()
    if "]==]" in text:
        raise ValueError("the template cannot be embedded in the wrk script")
    placeholder = re.sub(r"([^\w])", r"%\1", TEMPLATE_UUID.decode())
    script = _WRK_SCRIPT % {
        "template": text,
        "placeholder": placeholder,
        "content_type": content_type,
        "extra_headers": "\n".join(
            f'wrk.headers["{name}"] = "{value}"' for name, value in (headers or {}).items()
        ),
        "pace": (f"function delay() return {1000 * concurrency / rate:.0f} end" if rate else ""),
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "post.lua"
        path.write_text(script)
        started = time.perf_counter()
        done = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{concurrency}",
                f"-d{max(1, round(seconds))}s",
                "--latency",
                "--timeout",
                "30s",
                "-s",
                str(path),
                url,
                *(["--", str(ids)] if ids is not None else []),
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 120,
        )
    if ".lua:" in done.stderr:
        raise RuntimeError(f"the wrk script failed: {done.stderr[-1000:]}")
    return parse_wrk(done.stdout, time.perf_counter() - started)


def parse_wrk(output: str, fallback_seconds: float) -> LoadResult:
    requests = re.search(r"(\d+) requests in ([\d.]+)(\w+)", output)
    if requests is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    total = int(requests.group(1))
    seconds = _duration_s(float(requests.group(2)), requests.group(3)) or fallback_seconds
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    failed = int(non_2xx.group(1)) if non_2xx else 0
    if errors:
        failed += sum(int(errors.group(i)) for i in range(1, 5))
    result = LoadResult("wrk", seconds, ok=total - (int(non_2xx.group(1)) if non_2xx else 0))
    result.failed = failed
    for quantile, attr in (("50", "p50_ms"), ("99", "p99_ms")):
        found = re.search(rf"^\s*{quantile}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        if found:
            setattr(result, attr, _duration_s(float(found.group(1)), found.group(2)) * 1000)
    return result


def _duration_s(value: float, unit: str) -> float:
    return value * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}.get(unit, 1.0)
