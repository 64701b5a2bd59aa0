"""`eantrag user …` as an operator uses it: create (password on standard input, authority of the
directory), list, disable, set-password — and then the login works or does not."""

from __future__ import annotations

import asyncio
from typing import Any
from unittest.mock import patch

import httpx
import pytest
from typer.testing import CliRunner

from bootstrap.cli import app
from eantrag.runtime import Runtime
from identity.people import passwords
from identity.people.service import user_by_name
from tests.identity.people.support import PASSWORD, login

pytestmark = pytest.mark.usefixtures("directory")


def _cli(url: str, args: tuple[str, ...], stdin: str | None) -> Any:
    # The command would point logging at the runner's captured (then closed) stderr.
    with patch("eantrag.cli.configure_logging"):
        return CliRunner().invoke(app, list(args), input=stdin, env={"EANTRAG_DATABASE_URL": url})


async def cli(runtime: Runtime, *args: str, stdin: str | None = None) -> Any:
    return await asyncio.to_thread(_cli, runtime.db.url, args, stdin)


async def test_an_operator_creates_lists_disables_and_resets_an_account(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    created = await cli(
        runtime,
        "user", "create", "anna.beispiel", "--authority", "stadt-dresden", "--role", "clerk",
        "--name", "Anna Beispiel", "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert "created anna.beispiel (Anna Beispiel), clerk of stadt-dresden" in created.output
    async with runtime.db.sessionmaker() as session:
        user = await user_by_name(session, "anna.beispiel")
    assert user is not None and user.password_hash is not None
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert passwords.verify(user.password_hash, PASSWORD)

    listed = await cli(runtime, "user", "list")
    assert listed.exit_code == 0
    row = next(line for line in listed.output.splitlines() if "anna.beispiel" in line)
    for column in ("Anna Beispiel", "stadt-dresden", "clerk", "local", "active", "never"):
        assert column in row
    assert PASSWORD not in listed.output

    assert (await login(client, "anna.beispiel")).status_code == 303
    disabled = await cli(runtime, "user", "disable", "anna.beispiel")
    assert disabled.exit_code == 0, disabled.output
    assert (await client.get("/konto")).status_code == 303  # its session ended
    assert (await login(client, "anna.beispiel")).status_code == 401
    assert "disabled" in (await cli(runtime, "user", "list")).output

    new = "ein-neues-langes-Passwort"
    reset = await cli(
        runtime, "user", "set-password", "anna.beispiel", "--password-stdin", stdin=new
    )
    assert reset.exit_code == 0, reset.output
    async with runtime.db.sessionmaker() as session:
        user = await user_by_name(session, "anna.beispiel")
    assert user is not None and passwords.verify(user.password_hash, new)


async def test_an_unknown_authority_is_refused_with_the_known_ids(runtime: Runtime) -> None:
    refused = await cli(
        runtime,
        "user", "create", "bert", "--authority", "stadt-atlantis", "--role", "clerk",
        "--password-stdin",
        stdin=PASSWORD,
    )  # fmt: skip
    assert refused.exit_code == 2
    assert "no authority 'stadt-atlantis'" in refused.output
    assert "stadt-dresden" in refused.output and "stadt-leipzig" in refused.output
    async with runtime.db.sessionmaker() as session:
        assert await user_by_name(session, "bert") is None


DRESDEN = ("--authority", "stadt-dresden")


@pytest.mark.parametrize(
    ("args", "stdin", "reason"),
    [
        (("--role", "clerk", *DRESDEN), PASSWORD, "--password-stdin"),
        (("--role", "chef", *DRESDEN, "--password-stdin"), PASSWORD, "role"),
        (("--role", "clerk", "--password-stdin"), PASSWORD, "needs an authority"),
        (("--role", "archivist", *DRESDEN, "--password-stdin"), "kurz", "12"),
        (("--role", "clerk", *DRESDEN, "--password-stdin"), "", "no password"),
    ],
)
async def test_bad_commands_change_nothing(
    runtime: Runtime, args: tuple[str, ...], stdin: str, reason: str
) -> None:
    result = await cli(runtime, "user", "create", "carla", *args, stdin=stdin)
    assert result.exit_code == 2 and reason in result.output
    async with runtime.db.sessionmaker() as session:
        assert await user_by_name(session, "carla") is None


async def test_a_taken_username_and_an_unknown_one(runtime: Runtime) -> None:
    args = ("user", "create", "dora", "--role", "triage", "--password-stdin")
    assert (await cli(runtime, *args, stdin=PASSWORD)).exit_code == 0  # triage: no authority
    again = await cli(runtime, *args, stdin=PASSWORD)
    assert again.exit_code == 2 and "taken" in again.output
    missing = await cli(runtime, "user", "disable", "niemand")
    assert missing.exit_code == 2 and "no user 'niemand'" in missing.output


async def test_the_roles_are_a_choice_shown_in_the_help(runtime: Runtime) -> None:
    result = await cli(runtime, "user", "create", "--help")
    assert result.exit_code == 0
    assert "--role" in result.output and "ROLE" in result.output
    for role in ("clerk", "triage", "archivist", "admin"):
        assert role in result.output
    wrong = await cli(runtime, "user", "create", "x", "--role", "chef", "--password-stdin")
    assert wrong.exit_code == 2
    words = " ".join(w for w in wrong.output.split() if w != "│")
    assert "'chef' is not a role; one of clerk, triage, archivist, admin" in words
