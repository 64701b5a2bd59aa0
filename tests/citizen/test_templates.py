"""The declarative parts: every notified event has its template and its binding; templates use
only known fields; content negotiation; the reply address."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
import yaml

from citizen.pipeline_source import reply_address
from citizen.service import mask
from citizen.templates import FIELDS, TEMPLATES
from eantrag.broker import NOTIFICATIONS_QUEUE, NOTIFIED_EVENTS, Topology
from intake.api import prefers_html


def test_every_notified_event_has_a_template_and_reaches_the_queue() -> None:
    assert {key.removeprefix("application.") for _, key in NOTIFIED_EVENTS} == set(TEMPLATES)
    topology = Topology()
    for exchange, key in NOTIFIED_EVENTS:
        assert NOTIFICATIONS_QUEUE in topology.route(exchange, key)
    assert NOTIFICATIONS_QUEUE not in topology.route("eantrag.events", "application.closed")


@pytest.mark.parametrize("event", sorted(TEMPLATES))
def test_templates_use_known_fields_only(event: str) -> None:
    template = TEMPLATES[event]
    used = {
        name
        for text in (template.subject, template.body)
        for _, name, _, _ in string.Formatter().parse(text)
        if name
    }
    assert used <= set(FIELDS)
    values = {name: f"<{name}>" for name in FIELDS}
    subject, body = template.render(values)
    assert "\n" not in subject
    assert "<status_url>" in body  # every message leads back to the status page
    assert "{" not in body and "{" not in subject


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (None, False),
        ("*/*", False),
        ("application/json", False),
        ("text/html", True),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),
        ("application/json, text/html;q=0.5", False),
        ("text/html;q=0", False),
        ("text/html;q=x", False),
    ],
)
def test_content_negotiation(accept: str | None, html: bool) -> None:
    assert prefers_html(accept) is html


def test_the_reply_channel_wins_over_the_form() -> None:
    record = {"halter": {"kontakt": {"email": "form@example.org"}}}
    metadata = {"replyChannel": {"eMail": {"address": "reply@example.org"}}}
    assert reply_address("halter", record, metadata) == "reply@example.org"
    assert reply_address("halter", record, None) == "form@example.org"
    assert reply_address("halter", record, {"replyChannel": {"deMail": {"address": "x@y.de"}}}) == (
        "form@example.org"
    )
    assert reply_address("halter", {"halter": {}}, None) is None
    assert mask("thomas.richter@example.org") == "t…@example.org"


def test_asyncapi_documents_the_notifications_queue() -> None:
    spec = yaml.safe_load((Path(__file__).resolve().parents[2] / "docs/asyncapi.yaml").read_text())
    channel = spec["channels"]["notifications"]
    assert channel["address"] == NOTIFICATIONS_QUEUE
    for exchange, key in NOTIFIED_EVENTS:
        assert (
            f"`{exchange}`" in channel["description"]
            and key.split(".")[1] in channel["description"]
        )
