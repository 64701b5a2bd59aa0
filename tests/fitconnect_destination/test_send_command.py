"""`eantrag fitconnect send`: a submission encrypted for the destination's public key."""

from __future__ import annotations

import hashlib

import orjson
from typer.testing import CliRunner

from bootstrap.cli import app
from fitconnect_destination import jose, keys
from tests.conftest import EXAMPLES
from tests.fitconnect_destination.conftest import KeyFiles, Zustelldienst


def test_send_encrypts_for_the_destination_and_submits(
    zustelldienst: Zustelldienst, destination_keys: KeyFiles
) -> None:
    state = zustelldienst.state
    attachment = EXAMPLES / "attachments" / "Mietvertrag_Nikolaistrasse_27.pdf"
    result = CliRunner().invoke(
        app,
        [
            "fitconnect",
            "send",
            str(EXAMPLES / "hundeanmeldung.xml"),
            "--destination-id",
            zustelldienst.destination_id,
            "--submission-api",
            zustelldienst.url,
            "--token-url",
            zustelldienst.url + "/token",
            "--client-id",
            state.sender_id,
            "--attachment",
            f"a1b2c3d4-0000-4000-8000-000000000001={attachment}",
        ],
        env={"FITCONNECT_SENDER_CLIENT_SECRET": state.sender_secret},
    )
    assert result.exit_code == 0, result.output
    sent = orjson.loads(result.stdout)
    stored = state.submissions[sent["submissionId"]]
    assert stored.state == "submitted" and stored.case_id == sent["caseId"]

    loaded = keys.load(destination_keys.private_path)
    assert stored.encrypted_metadata and stored.encrypted_data
    data = jose.decrypt(stored.encrypted_data, loaded, 10**7)
    assert data.plaintext == (EXAMPLES / "hundeanmeldung.xml").read_bytes()
    assert data.header["zip"] == "DEF"
    metadata = orjson.loads(jose.decrypt(stored.encrypted_metadata, loaded, 10**6).plaintext)
    (announced,) = metadata["contentStructure"]["attachments"]
    content = jose.decrypt(stored.attachments[announced["attachmentId"]], loaded, 10**7)
    assert hashlib.sha512(content.plaintext).hexdigest() == announced["hash"]["content"]
    assert announced["filename"] == attachment.name
