"""compose.yaml: pinned images, and no credential written into it."""

from __future__ import annotations

import re

import yaml

from tests.conftest import ROOT

COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SECRET_NAMES = re.compile(r"PASSWORD|PASS$|SECRET", re.I)


def test_every_image_has_a_pinned_version() -> None:
    images = [service["image"] for service in COMPOSE["services"].values() if "image" in service]
    assert images
    for image in images:
        name, _, tag = image.rpartition(":")
        assert name and tag and tag != "latest", image
        assert re.search(r"\d", tag), f"{image}: a version, not a moving tag"


def test_credentials_come_from_the_env_file() -> None:
    inline = []
    for name, service in COMPOSE["services"].items():
        for key, value in (service.get("environment") or {}).items():
            credential = SECRET_NAMES.search(key) or re.search(r"://[^:/@]+:[^@]+@", str(value))
            if credential and "${" not in str(value):
                inline.append(f"{name}: {key}")
    assert inline == []
    example = (ROOT / ".env.example").read_text()
    for variable in set(re.findall(r"\$\{(\w+):\?", (ROOT / "compose.yaml").read_text())):
        assert f"\n{variable}=" in "\n" + example, f"{variable} is missing from .env.example"
