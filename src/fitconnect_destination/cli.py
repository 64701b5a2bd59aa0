"""`eantrag fitconnect …`: the destination's keys, and a sender for tests and trials."""

from __future__ import annotations

import asyncio
import json
import mimetypes
from pathlib import Path
from typing import Annotated

import httpx
import orjson
import typer
from lxml import etree
from rich.console import Console

from contracts.forms import FormSpec, form_by_namespace
from fitconnect_destination import keys
from intake.fitconnect import OutgoingAttachment

fitconnect_app = typer.Typer(
    help="FIT-Connect: the destination's keys, and a sender for trials.", no_args_is_help=True
)
keys_app = typer.Typer(help="The destination's key pair(s).", no_args_is_help=True)
fitconnect_app.add_typer(keys_app, name="keys")
console = Console(stderr=True)

PRIVATE_FILE = "destination-keys.private.jwks.json"
PUBLIC_FILE = "destination-keys.public.jwks.json"


@keys_app.command("create")
def keys_create(
    out: Annotated[Path, typer.Option(help="Directory to write the key files into.")],
) -> None:
    """Make an RSA-4096 encryption key (RSA-OAEP-256) and signing key (PS512).

    The private JWK Set goes to DIR/destination-keys.private.jwks.json (mode 0600; point
    EANTRAG_FITCONNECT_KEYS at it); the public keys are printed (and written beside it) for
    registration at the destination. An existing private file is never overwritten.
    """
    private_path = out / PRIVATE_FILE
    if private_path.exists():
        raise typer.BadParameter(f"{private_path} exists; keys are never overwritten")
    private, public = keys.generate()
    keys.write_private(private_path, private)
    (out / PUBLIC_FILE).write_text(json.dumps(public, indent=2) + "\n")
    console.print(f"[green]private keys[/green] {private_path} (mode 0600)")
    console.print(f"public keys  {out / PUBLIC_FILE} — register both at the destination:")
    typer.echo(json.dumps(public, indent=2))


def _form_of(data: bytes, media_type: str) -> FormSpec:
    if media_type == "application/json":
        namespace = orjson.loads(data).get("$schema")
    else:
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        namespace = etree.QName(etree.fromstring(data, parser)).namespace
    form = form_by_namespace(str(namespace))
    if form is None:
        raise typer.BadParameter(f"no form with the namespace {namespace!r}")
    return form


@fitconnect_app.command("send")
def send_command(
    data: Annotated[Path, typer.Argument(help="The form as XÖV XML or JSON.")],
    destination_id: Annotated[str, typer.Option(help="The destination to send to.")],
    submission_api: Annotated[str, typer.Option(help="Base URL of the Submission API.")],
    token_url: Annotated[str, typer.Option(help="OAuth2 token endpoint.")],
    client_id: Annotated[str, typer.Option(help="The sender's OAuth2 client id.")],
    client_secret: Annotated[
        str,
        typer.Option(
            envvar="FITCONNECT_SENDER_CLIENT_SECRET",
            help="The sender's OAuth2 client secret (or FITCONNECT_SENDER_CLIENT_SECRET).",
        ),
    ],
    attachment: Annotated[
        list[str] | None,
        typer.Option(help="ID=PATH: an attachment under the id the form refers to (repeat)."),
    ] = None,
    no_zip: Annotated[bool, typer.Option(help="Do not compress before encrypting.")] = False,
) -> None:
    """Encrypt a submission for the destination's public key and send it, as a portal does."""
    from fitconnect_destination.sender import send

    content = data.read_bytes()
    media_type = "application/json" if data.suffix == ".json" else "application/xml"
    form = _form_of(content, media_type)
    attachments = []
    for item in attachment or []:
        attachment_id, _, path = item.partition("=")
        file = Path(path)
        attachments.append(
            OutgoingAttachment(
                attachment_id,
                file.read_bytes(),
                mimetypes.guess_type(file.name)[0] or "application/octet-stream",
                file.name,
            )
        )

    async def _send() -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            sent = await send(
                http,
                submission_api=submission_api,
                token_url=token_url,
                client_id=client_id,
                client_secret=client_secret,
                destination_id=destination_id,
                form=form,
                data=content,
                data_media_type=media_type,
                attachments=attachments,
                compress=not no_zip,
            )
        typer.echo(json.dumps({"submissionId": sent.submission_id, "caseId": sent.case_id}))

    asyncio.run(_send())
