"""The Posteingang at scale: the clerk's page `GET /` and the API's `GET /v1/cases` over 100,000
cases of one authority on PostgreSQL.

    python -m bench inbox [--cases 100000] [--others 50000] [--runs 60] [--no-baseline]

A fresh PostgreSQL database (`EANTRAG_TEST_PG_URL` names the server) is migrated to head and
filled by COPY with `--cases` Vorgänge (and their Akten) of one authority plus `--others` of five
other authorities: applicants drawn from common German names, six services, two years of
arrivals, the statuses and assignments of a working office. Then each query shape is asked
`--runs` times (after warm-up), in-process so that the time is the server's, without a network:
the Posteingang page as a logged-in clerk sees it (session and role check, the page's query of
25 cases, counts per status, the service filter's options, the HTML) and the clerk API with the
same session (50 cases, counts, JSON). Search terms and filters vary per request, drawn from
the data; the page gets the same ones in its form's fields.

Baseline, measured in the same run on the same data: a copy of the database with the indexes
of migration 0005 instead of 0013's (authority + received time, authority + status). Every
request goes to both, one after the other, so that the machine's load falls on both alike.
Target of the issue: a filtered, searched Posteingang page under 300 ms at p95 (checked on the
page's rows).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from sqlalchemy import insert

from bench.report import RESULTS, machine, print_table, write_report
from bootstrap.app import create_app
from bootstrap.wiring import open_pipeline
from casefile import assignment, audit, auth
from casefile.applicant import Applicant, search_key
from casefile.inbox import encode_cursor
from casefile.models import Vorgang
from eantrag import schema
from eantrag.runtime import open_runtime
from eantrag.settings import Settings
from identity.people import service as people
from routing.models import Authority

PG_ADMIN_URL = os.environ.get(
    "EANTRAG_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
AUTHORITY = "stadt-dresden"
OTHERS = ["stadt-leipzig", "stadt-chemnitz", "lk-meissen", "lk-bautzen", "lk-goerlitz"]
TARGET_P95_MS = 300.0
CLERK = "erika.muster"
PASSWORD = "bench-Posteingang-2026"
CSRF_FIELD = 'name="csrf_token" value="'
FAMILY = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Krüger",
    "Hofmann",
    "Hartmann",
    "Lange",
    "Schmitt",
    "Werner",
    "Schmitz",
    "Krause",
    "Meier",
    "Lehmann",
    "Schmid",
    "Schulze",
    "Maier",
    "Köhler",
    "Herrmann",
    "König",
    "Walter",
    "Mayer",
    "Huber",
    "Kaiser",
    "Fuchs",
    "Peters",
    "Lang",
    "Scholz",
    "Möller",
    "Weiß",
    "Jung",
    "Hahn",
    "Schubert",
    "Vogel",
    "Friedrich",
    "Keller",
    "Günther",
    "Frank",
    "Berger",
    "Winkler",
    "Roth",
    "Beck",
    "Lorenz",
    "Baumann",
    "Franke",
    "Albrecht",
    "Schuster",
    "Simon",
    "Ludwig",
    "Böhm",
    "Winter",
    "Kraus",
    "Martin",
    "Schumacher",
    "Krämer",
    "Vogt",
    "Stein",
    "Jäger",
    "Otto",
    "Sommer",
    "Groß",
    "Seidel",
    "Heinrich",
    "Brandt",
    "Haas",
    "Schreiber",
    "Graf",
    "Schulte",
    "Dietrich",
    "Ziegler",
    "Kuhn",
    "Kühn",
    "Pohl",
    "Engel",
    "Horn",
    "Busch",
    "Bergmann",
    "Thomas",
    "Voigt",
    "Sauer",
    "Arnold",
    "Wolff",
    "Pfeiffer",
]
GIVEN = [
    "Anna",
    "Maria",
    "Emma",
    "Sophie",
    "Marie",
    "Lena",
    "Lea",
    "Hannah",
    "Mia",
    "Laura",
    "Lisa",
    "Julia",
    "Sarah",
    "Katharina",
    "Sabine",
    "Petra",
    "Ursula",
    "Monika",
    "Karin",
    "Renate",
    "Helga",
    "Brigitte",
    "Andrea",
    "Claudia",
    "Susanne",
    "Nicole",
    "Stefanie",
    "Alexander",
    "Maximilian",
    "Paul",
    "Leon",
    "Lukas",
    "Felix",
    "Jonas",
    "Tim",
    "David",
    "Jan",
    "Thomas",
    "Michael",
    "Andreas",
    "Stefan",
    "Peter",
    "Klaus",
    "Jürgen",
    "Wolfgang",
    "Frank",
    "Uwe",
    "Bernd",
    "Dieter",
    "Matthias",
    "Christian",
    "Markus",
    "Sven",
]
SERVICES = {
    "99102013104000": "Hundesteuer – Anmeldung eines Hundes",
    "99102013070000": "Hundesteuer – Abmeldung eines Hundes",
    "99107023037000": "Wohngeld – Mietzuschuss erstmalig oder neu beantragen",
    "99107022012000": "Wohnberechtigungsschein",
    "99050012104000": "Gewerbe anmelden",
    "99102013011000": "Hundesteuer – Änderung",
}
STATUS_WEIGHTS = {"filed": 20, "in_progress": 20, "decided": 10, "closed": 45, "archived": 5}
START = datetime(2025, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 2 * 365 * 24 * 3600
# What migration 0013 added; the baseline runs without them (and with 0005's status index).
INBOX_INDEXES = (
    "ix_casefile_vorgaenge_status",
    "ix_casefile_vorgaenge_service",
    "ix_casefile_vorgaenge_assignee",
    "ix_casefile_vorgaenge_applicant",
    "ix_casefile_vorgaenge_search",
)


@dataclass(frozen=True)
class Generated:
    me: str
    names: list[tuple[str, str]]
    references: list[str]
    application_ids: list[uuid.UUID]
    cursors: list[str]


def _pg(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(_pg(PG_ADMIN_URL))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def generate(url: str, cases: int, others: int, me: str, seed: int = 15) -> Generated:
    """Akten and Vorgänge by COPY; returns what the requests draw their terms from."""
    rng = random.Random(seed)
    clerks = [
        (f"token:{uuid.UUID(int=rng.getrandbits(128))}", f"Sachbearbeitung {n}") for n in range(19)
    ]
    clerks.append((me, "Erika Muster"))
    statuses = list(STATUS_WEIGHTS)
    weights = list(STATUS_WEIGHTS.values())
    leika_keys = list(SERVICES)
    akten: list[tuple[Any, ...]] = []
    vorgaenge: list[tuple[Any, ...]] = []
    sample = Generated(me, [], [], [], [])
    keys: list[tuple[datetime, uuid.UUID]] = []
    now = datetime.now(UTC)
    authorities = [AUTHORITY] * cases + [OTHERS[n % len(OTHERS)] for n in range(others)]
    numbers: dict[tuple[str, int], int] = {}
    for authority in authorities:
        received = START + timedelta(seconds=rng.randrange(SPAN_SECONDS))
        year = received.year
        numbers[(authority, year)] = number = numbers.get((authority, year), 0) + 1
        reference = f"{'32.1' if authority == AUTHORITY else '40.2'}-{year}-{number}"
        family, given = rng.choice(FAMILY), rng.choice(GIVEN)
        person = Applicant(
            family,
            given,
            f"19{rng.randrange(40, 99)}-0{rng.randrange(1, 9)}-1{rng.randrange(0, 9)}",
        )
        leika = rng.choice(leika_keys)
        status = rng.choices(statuses, weights)[0]
        assignee = (
            rng.choice(clerks)
            if status in ("in_progress", "decided") or rng.random() < 0.1
            else None
        )
        akte_id, case_id, application_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        akten.append(
            (
                akte_id,
                authority,
                f"Behörde {authority}",
                reference,
                reference.split("-")[0],
                year,
                number,
                f"{SERVICES[leika]} — {person.display_name}",
                "Allgemein",
                10,
                "B",
                received,
                received + timedelta(days=60) if status == "closed" else None,
            )
        )
        record = {"antragsteller": {"familienname": family, "vorname": given}}
        vorgaenge.append(
            (
                case_id,
                akte_id,
                authority,
                application_id,
                leika,
                f"urn:de:fim:leika:leistung:{leika}",
                None,
                orjson.dumps(record).decode(),
                "{}",
                "routing",
                received,
                received,
                status,
                None,
                None,
                None,
                now,
                0,
                audit.GENESIS,
                person.display_name,
                person.identity_key,
                search_key(person, reference),
                assignee[0] if assignee else None,
                assignee[1] if assignee else None,
                now if assignee else None,
            )
        )
        if authority == AUTHORITY:
            keys.append((received, case_id))
        if authority == AUTHORITY and len(sample.names) < 2000 and rng.random() < 0.05:
            sample.names.append((family, given))
            sample.references.append(reference)
            sample.application_ids.append(application_id)
    keys.sort(reverse=True)
    for _ in range(200):
        received, case_id = keys[rng.randrange(len(keys) // 100, len(keys) - 100)]
        sample.cursors.append(encode_cursor(Vorgang(received_at=received, id=case_id)))
    connection = await asyncpg.connect(_pg(url))
    try:
        await connection.copy_records_to_table(
            "casefile_akten",
            records=akten,
            columns=[
                "id",
                "authority_id",
                "authority_name",
                "aktenzeichen",
                "kennzeichen",
                "year",
                "number",
                "title",
                "plan_title",
                "retention_years",
                "disposal",
                "created_at",
                "closed_at",
            ],
        )
        await connection.copy_records_to_table(
            "casefile_vorgaenge",
            records=vorgaenge,
            columns=[
                "id",
                "akte_id",
                "authority_id",
                "application_id",
                "leika_key",
                "leika_urn",
                "form_id",
                "record",
                "routing",
                "source",
                "received_at",
                "filed_at",
                "status",
                "outcome",
                "decided_at",
                "closed_at",
                "updated_at",
                "audit_seq",
                "audit_head",
                "applicant_name",
                "applicant_key",
                "search_key",
                "assignee_id",
                "assignee_name",
                "assigned_at",
            ],
        )
        await connection.executemany(
            "INSERT INTO routing_services (leika_key, name, updated_at) VALUES ($1, $2, now())",
            list(SERVICES.items()),
        )
        await connection.execute("VACUUM ANALYZE casefile_akten")
        await connection.execute("VACUUM ANALYZE casefile_vorgaenge")
    finally:
        await connection.close()
    return sample


Params = Callable[[random.Random, Generated], dict[str, Any]]


def _window(rng: random.Random) -> dict[str, str]:
    start = START + timedelta(days=rng.randrange(0, 600))
    return {
        "receivedFrom": start.isoformat(),
        "receivedTo": (start + timedelta(days=90)).isoformat(),
    }


SHAPES: list[tuple[str, Params]] = [
    ("newest first, no filter", lambda r, g: {}),
    ("status", lambda r, g: {"status": r.choice(["filed", "in_progress", "closed"])}),
    ("service + 90-day window", lambda r, g: {"service": r.choice(list(SERVICES)), **_window(r)}),
    ("assigned to me", lambda r, g: {"assigned": "me"}),
    ("not assigned + status filed", lambda r, g: {"assigned": "none", "status": "filed"}),
    ("search family name", lambda r, g: {"q": r.choice(g.names)[0]}),
    ("search 'given family'", lambda r, g: {"q": " ".join(reversed(r.choice(g.names)))}),
    ("search name part (3 letters)", lambda r, g: {"q": r.choice(g.names)[0][1:4]}),
    ("search 2 letters", lambda r, g: {"q": r.choice(g.names)[0][:2]}),
    (
        "search + status + window",
        lambda r, g: {"q": r.choice(g.names)[0], "status": "closed", **_window(r)},
    ),
    (
        "search + service + not assigned",
        lambda r, g: {
            "q": r.choice(g.names)[0][:4],
            "service": r.choice(list(SERVICES)),
            "assigned": "none",
        },
    ),
    ("search Aktenzeichen", lambda r, g: {"q": r.choice(g.references)}),
    ("search application id", lambda r, g: {"q": str(r.choice(g.application_ids))}),
    ("a later page (cursor deep in the list)", lambda r, g: {"cursor": r.choice(g.cursors)}),
    (
        "a later page, status + search",
        lambda r, g: {"cursor": r.choice(g.cursors), "status": "closed", "q": r.choice(g.names)[0]},
    ),
]


def page_query(query: dict[str, Any]) -> dict[str, str]:
    """The API's query as the Posteingang form sends it (German field names, whole days)."""
    fields = {
        "status": "status",
        "service": "dienst",
        "q": "suche",
        "cursor": "weiter",
    }
    out = {fields[k]: str(v) for k, v in query.items() if k in fields}
    if "receivedFrom" in query:
        out["von"] = datetime.fromisoformat(query["receivedFrom"]).date().isoformat()
    if "receivedTo" in query:
        last = datetime.fromisoformat(query["receivedTo"]) - timedelta(days=1)
        out["bis"] = last.date().isoformat()
    if "assigned" in query:
        out["zuweisung"] = {"me": "mir", "none": "niemand"}[query["assigned"]]
    return out


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _summary(name: str, times: list[float], matched: list[int]) -> dict[str, Any]:
    return {
        "shape": name,
        "p50_ms": statistics.median(times),
        "p95_ms": _percentile(times, 95),
        "max_ms": max(times),
        "matched_median": int(statistics.median(matched)),
    }


async def measure(
    clients: dict[str, httpx.AsyncClient], sample: Generated, runs: int
) -> dict[str, list[dict[str, Any]]]:
    """Each request goes to every database in turn (alternating who goes first), so that the
    machine's changing load falls on the contenders alike; the page (`<db>`) and the API
    (`<db> api`) alike."""
    names = [n for db in clients for n in (db, f"{db} api")]
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    order = list(clients)
    for shape, params in SHAPES:
        rng = random.Random(shape)
        times: dict[str, list[float]] = {name: [] for name in names}
        matched: dict[str, list[int]] = {name: [] for name in names}
        for n in range(runs + 5):
            query = {"limit": 50, **params(rng, sample)}
            form = page_query(query)
            for db in order if n % 2 else reversed(order):
                start = time.perf_counter()
                page = await clients[db].get("/", params=form)
                page_elapsed = time.perf_counter() - start
                if page.status_code != 200:
                    raise RuntimeError(f"the page answered {page.status_code} to {form}")
                start = time.perf_counter()
                response = await clients[db].get("/v1/cases", params=query)
                elapsed = time.perf_counter() - start
                response.raise_for_status()
                if n < 5:  # warm-up
                    continue
                counts = response.json()["counts"]
                found = counts[query["status"]] if "status" in query else sum(counts.values())
                for name, took in ((db, page_elapsed), (f"{db} api", elapsed)):
                    times[name].append(took * 1000)
                    matched[name].append(found)
        for name in names:
            rows[name].append(_summary(shape, times[name], matched[name]))
    return rows


async def log_in(client: httpx.AsyncClient) -> None:
    """The bench's clerk logs in through the login form; the client keeps the cookie."""
    form = (await client.get("/login")).text
    start = form.index(CSRF_FIELD) + len(CSRF_FIELD)
    token = form[start : form.index('"', start)]
    response = await client.post(
        "/login", data={"username": CLERK, "password": PASSWORD, "csrf_token": token, "next": "/"}
    )
    if response.status_code != 303:
        raise RuntimeError(f"the bench's clerk could not log in: {response.status_code}")


async def run_requests(
    urls: dict[str, str], data_dir: Path, sample: Generated, runs: int
) -> dict[str, list[dict[str, Any]]]:
    async with AsyncExitStack() as stack:
        clients = {}
        for name, url in urls.items():
            settings = Settings(
                data_dir=data_dir,
                database_url=url,
                amqp_url=None,
                blob_url=(data_dir / "blobs").as_uri(),
                log_level="WARNING",
            )
            runtime = await open_pipeline(settings)
            stack.push_async_callback(runtime.close)
            app = create_app(settings, runtime=runtime)
            await stack.enter_async_context(app.router.lifespan_context(app))
            clients[name] = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
            )
            await log_in(clients[name])
        return await measure(clients, sample, runs)


async def drop_inbox_indexes(url: str) -> None:
    connection = await asyncpg.connect(_pg(url))
    try:
        for index in INBOX_INDEXES:
            await connection.execute(f"DROP INDEX {index}")
        await connection.execute(
            "CREATE INDEX ix_casefile_vorgaenge_status ON casefile_vorgaenge (authority_id, status)"
        )
        await connection.execute("DROP INDEX ix_casefile_vorgaenge_inbox")
        await connection.execute(
            "CREATE INDEX ix_casefile_vorgaenge_inbox "
            "ON casefile_vorgaenge (authority_id, received_at, id)"
        )
        await connection.execute("VACUUM ANALYZE casefile_vorgaenge")
    finally:
        await connection.close()


def _url(database: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    name = f"eantrag_bench_inbox_{uuid.uuid4().hex[:8]}"
    databases = [name]
    await _admin(f'CREATE DATABASE "{name}"')
    urls = {"indexed": _url(name)}
    try:
        await schema.upgrade_async(urls["indexed"])
        settings = Settings(database_url=urls["indexed"], amqp_url=None)
        runtime = await open_runtime(settings)
        try:
            async with runtime.db.transaction() as session:
                # The clerk: a person of the authority (which the directory must know).
                await session.execute(insert(Authority).values(id=AUTHORITY, name="Stadt Dresden"))
                person = await people.create_user(
                    session,
                    username=CLERK,
                    role="clerk",
                    authority_id=AUTHORITY,
                    display_name="Erika Muster",
                    password=PASSWORD,
                )
            who = auth.Principal(
                kind="person",
                id=str(person.id),
                name=person.display_name,
                authority_id=AUTHORITY,
                role="clerk",
            )
        finally:
            await runtime.close()
        me = assignment.assignee_of(who).id
        start = time.perf_counter()
        sample = await generate(urls["indexed"], args.cases, args.others, me)
        generated = time.perf_counter() - start
        print(f"generated {args.cases + args.others} cases in {generated:.1f} s", file=sys.stderr)
        if args.baseline:
            # The same data without 0013's indexes, in a copy of the database.
            databases.append(f"{name}_baseline")
            await _admin(f'CREATE DATABASE "{databases[-1]}" TEMPLATE "{name}"')
            urls["baseline"] = _url(databases[-1])
            await drop_inbox_indexes(urls["baseline"])
        load_before = [round(x, 2) for x in os.getloadavg()]
        with tempfile.TemporaryDirectory() as data_dir:
            measured = await run_requests(urls, Path(data_dir), sample, args.runs)
    finally:
        for database in databases:
            await _admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    indexed, baseline = measured["indexed"], measured.get("baseline", [])
    api, api_baseline = measured["indexed api"], measured.get("baseline api", [])
    for rows, base_rows in ((indexed, baseline), (api, api_baseline)):
        by_shape = {row["shape"]: row for row in base_rows}
        for row in rows:
            base = by_shape.get(row["shape"])
            if base:
                row["baseline_p95_ms"] = base["p95_ms"]
                row["x_baseline"] = base["p95_ms"] / row["p95_ms"]
            row["target_met"] = row["p95_ms"] < TARGET_P95_MS
    return {
        "benchmark": "inbox",
        "command": " ".join(["python -m bench inbox", *args.argv]).strip(),
        "machine": machine(),  # its load average is the one after the measurement
        "load_average_before": load_before,
        "cases": args.cases,
        "other_cases": args.others,
        "runs_per_shape": args.runs,
        "generated_seconds": round(generated, 1),
        "target_p95_ms": TARGET_P95_MS,
        "rows": indexed,
        "baseline_rows": baseline,
        "api_rows": api,
        "api_baseline_rows": api_baseline,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench inbox")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--others", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--no-baseline", dest="baseline", action="store_false")
    parser.add_argument("--out", type=Path, default=RESULTS / "inbox.json")
    args = parser.parse_args(argv)
    args.argv = argv
    report = asyncio.run(bench(args))
    columns = [
        ("shape", "shape", "{}"),
        ("p50 ms", "p50_ms", "{:.1f}"),
        ("p95 ms", "p95_ms", "{:.1f}"),
        ("max ms", "max_ms", "{:.1f}"),
        ("matched", "matched_median", "{}"),
        ("baseline p95 ms", "baseline_p95_ms", "{:.1f}"),
        ("× baseline", "x_baseline", "{:.1f}"),
        ("p95 < 300 ms", "target_met", "{}"),
    ]
    print("the Posteingang page, GET / (25 cases, HTML)")
    print_table(report["rows"], columns)
    print("\nthe clerk API, GET /v1/cases (50 cases, JSON)")
    print_table(report["api_rows"], columns)
    met = all(row["target_met"] for row in report["rows"])
    print(
        f"\ntarget: every shape of the page p95 < {TARGET_P95_MS:.0f} ms: "
        f"{'met' if met else 'NOT met'}"
    )
    write_report(args.out, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
