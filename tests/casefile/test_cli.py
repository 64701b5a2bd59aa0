"""The e-Akte's commands as an operator uses them: tokens (create, list, revoke) and file plans
(default plan, import per authority, import of a new default)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any
from unittest.mock import patch

import httpx
from typer.testing import CliRunner

from bootstrap.cli import app
from casefile.models import Akte
from eantrag.runtime import Runtime
from tests.casefile.support import DRESDEN_ID, LEIPZIG_ID, authority_message, bearer, file_directly
from tests.routing.support import WOHNGELD, import_example


def _cli(url: str, *args: str) -> Any:
    # The command would point the process's logging at the runner's captured (then closed)
    # stderr; the workers of later tests still log.
    with patch("eantrag.cli.configure_logging"):
        return CliRunner().invoke(app, list(args), env={"EANTRAG_DATABASE_URL": url})


async def cli(runtime: Runtime, *args: str) -> Any:
    return await asyncio.to_thread(_cli, runtime.db.url, *args)


async def test_a_token_is_shown_once_listed_and_revoked(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await import_example(runtime.db)
    created = await cli(
        runtime,
        "token",
        "create",
        "--authority",
        DRESDEN_ID,
        "--name",
        "Sachbearbeitung 1",
        "--expires-in-days",
        "30",
    )
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"eak_[A-Za-z0-9_-]{43}", token)
    assert (await client.get("/v1/cases", headers=bearer(token))).status_code == 200

    listed = await cli(runtime, "token", "list")
    assert listed.exit_code == 0 and "Sachbearbeitung 1" in listed.output
    assert token not in listed.output, "a token is never shown again"
    token_id = re.search(r"token ([0-9a-f-]{36})", created.output)
    assert token_id is not None

    revoked = await cli(runtime, "token", "revoke", token_id.group(1))
    assert revoked.exit_code == 0, revoked.output
    assert (await client.get("/v1/cases", headers=bearer(token))).status_code == 401
    assert "revoked" in (await cli(runtime, "token", "list")).output

    assert (await cli(runtime, "token", "create")).exit_code != 0, "a clerk needs an authority"
    triage = await cli(runtime, "token", "create", "--role", "triage")
    assert triage.exit_code == 0, triage.output
    triage_token = triage.stdout.strip().splitlines()[-1]
    assert (await client.get("/v1/triage", headers=bearer(triage_token))).status_code == 200


async def test_an_unknown_authority_is_refused_with_the_known_ones(runtime: Runtime) -> None:
    empty = await cli(runtime, "token", "create", "--authority", DRESDEN_ID)
    assert empty.exit_code != 0 and "directory import" in empty.output, empty.output
    await import_example(runtime.db)
    listed = await cli(runtime, "directory", "authorities")
    assert listed.exit_code == 0 and DRESDEN_ID in listed.output and LEIPZIG_ID in listed.output
    for command in (
        ["token", "create", "--authority", "stadt-dresdn"],
        ["archive", "due", "--authority", "stadt-dresdn"],
        ["archive", "offer", "--authority", "stadt-dresdn", "--out", "/nonexistent"],
        ["archive", "export", "--authority", "stadt-dresdn", "--out", "/nonexistent"],
    ):
        refused = await cli(runtime, *command)
        assert refused.exit_code == 2, (command, refused.output)
        assert "stadt-dresdn" in refused.output and DRESDEN_ID in refused.output, refused.output


def _units(plan: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted(
        (u["kennzeichen"], u["title"], u["retentionYears"], u["disposal"], sorted(u["services"]))
        for u in plan["units"]
    )


async def test_file_plans_default_import_and_replace(runtime: Runtime, tmp_path: Path) -> None:
    shown = await cli(runtime, "fileplan", "show")
    assert shown.exit_code == 0, shown.output
    default = json.loads(shown.stdout)
    assert {u["kennzeichen"] for u in default["units"]} >= {"022.31", "500.21"}

    first = await file_directly(
        runtime, await authority_message(runtime.blobs, LEIPZIG_ID, leika=WOHNGELD)
    )
    leipzig = json.loads((await cli(runtime, "fileplan", "show", "--authority", LEIPZIG_ID)).stdout)
    assert _units(leipzig) == _units(default), "an authority without a plan gets the default"

    plan = {
        "units": [
            {
                "kennzeichen": "50.4.1",
                "title": "Wohngeld (neu)",
                "retentionYears": None,
                "disposal": "A",
                "services": [WOHNGELD],
            },
            {
                "kennzeichen": "00.0",
                "title": "Sonstiges",
                "retentionYears": 5,
                "disposal": "V",
                "services": ["*"],
            },
        ]
    }
    path = tmp_path / "plan.json"
    await asyncio.to_thread(path.write_text, json.dumps(plan))
    imported = await cli(runtime, "fileplan", "import", str(path), "--authority", LEIPZIG_ID)
    assert imported.exit_code == 0, imported.output
    second = await file_directly(
        runtime, await authority_message(runtime.blobs, LEIPZIG_ID, leika=WOHNGELD)
    )
    other = await file_directly(runtime, await authority_message(runtime.blobs, LEIPZIG_ID))
    dresden = await file_directly(
        runtime, await authority_message(runtime.blobs, DRESDEN_ID, leika=WOHNGELD)
    )
    references = {}
    async with runtime.db.sessionmaker() as session:
        for case in (first, second, other, dresden):
            akte = await session.get(Akte, case.akte_id)
            assert akte is not None
            references[case.id] = (akte.aktenzeichen, akte.retention_years, akte.disposal)
    year = references[first.id][0].split("-")[1]
    assert references[first.id] == (f"500.21-{year}-1", 6, "B"), "existing files keep theirs"
    assert references[second.id] == (f"50.4.1-{year}-1", None, "A")
    assert references[other.id] == (f"00.0-{year}-1", 5, "V")
    assert references[dresden.id][0] == f"500.21-{year}-1", "other authorities keep the default"

    bad = tmp_path / "bad.json"
    await asyncio.to_thread(
        bad.write_text,
        json.dumps(
            {
                "units": [
                    {
                        "kennzeichen": "1-2",
                        "title": "x",
                        "retentionYears": 1,
                        "disposal": "V",
                        "services": ["123"],
                    },
                    {"kennzeichen": "9", "title": "y", "retentionYears": 1, "disposal": "Q"},
                ]
            }
        ),
    )
    refused = await cli(runtime, "fileplan", "import", str(bad), "--authority", DRESDEN_ID)
    assert refused.exit_code == 1
    assert "disposal" in refused.output

    new_default = dict(plan, units=[dict(plan["units"][1], services=["*"])])
    await asyncio.to_thread(path.write_text, json.dumps(new_default))
    assert (await cli(runtime, "fileplan", "import", str(path), "--authority", "*")).exit_code == 0
    fresh = await file_directly(runtime, await authority_message(runtime.blobs, "stadt-chemnitz"))
    async with runtime.db.sessionmaker() as session:
        akte = await session.get(Akte, fresh.akte_id)
    assert akte is not None and akte.kennzeichen == "00.0"


async def test_the_cli_offers_its_choices_and_takes_german_dates(runtime: Runtime) -> None:
    await import_example(runtime.db)
    help_of = {
        tuple(command): (await cli(runtime, *command, "--help")).output
        for command in (
            ["token", "create"],
            ["archive", "offer"],
            ["archive", "export"],
            ["archive", "confirm"],
            ["archive", "verify"],
            ["archive", "appraise"],
        )
    }
    assert "clerk" in help_of[("token", "create")] and "triage" in help_of[("token", "create")]
    assert "3.0.0" in help_of[("archive", "export")] and "3.1.0" in help_of[("archive", "export")]
    schema_help = {
        command: re.sub(r"\s+", " ", text.split("--no-schema-check", 1)[1])[:80]
        for command, text in help_of.items()
        if command[0] == "archive"
    }
    assert len(set(schema_help.values())) == len(schema_help), "each command says what it means"
    wrong_role = await cli(runtime, "token", "create", "--role", "boss", "--authority", DRESDEN_ID)
    assert wrong_role.exit_code == 2 and "clerk" in wrong_role.output
    wrong_version = await cli(
        runtime,
        "archive",
        "offer",
        "--authority",
        DRESDEN_ID,
        "--out",
        ".",
        "--xdomea-version",
        "2.4",
    )
    assert wrong_version.exit_code == 2 and "3.1.0" in wrong_version.output
    german = await cli(
        runtime, "archive", "due", "--authority", DRESDEN_ID, "--as-of", "01.01.2037"
    )
    assert german.exit_code == 0, german.output
    assert "as of 2037-01-01" in german.output
    assert "--install-completion" in (await cli(runtime, "--help")).output


async def test_token_list_is_a_table(runtime: Runtime) -> None:
    await import_example(runtime.db)
    await cli(runtime, "token", "create", "--authority", DRESDEN_ID, "--name", "Steuern")
    listed = (await cli(runtime, "token", "list")).output
    header = next(line for line in listed.splitlines() if "authority" in line)
    assert "\t" not in listed, listed
    assert "┃" in header or "│" in header, listed
    row = next(line for line in listed.splitlines() if "Steuern" in line)
    assert re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", row), row


def test_paths_in_command_output_are_never_broken_mid_name() -> None:
    from archive import cli as archive_cli
    from bootstrap import cli as eantrag_cli
    from casefile import cli as casefile_cli

    path = "/srv/eantrag/aussonderung/2037/" + "7f3c2a9e-1b4d-4c8e-9a6f-2d5e8b1c0a47" * 2 + ".zip"
    for console in (archive_cli.console, casefile_cli.console, eantrag_cli.console):
        width = console.width
        console.width = 40
        try:
            with console.capture() as captured:
                console.print(f"[green]offered[/green] 3 case(s): {path}")
        finally:
            console.width = width
        assert path in captured.get()
