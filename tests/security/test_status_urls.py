"""Status URLs cannot be enumerated: every wrong token gets the same 404 as an unknown id, and the
token is compared in constant time."""

from __future__ import annotations

import hmac
import uuid
from typing import Any

import httpx
import pytest

from intake import service
from tests.conftest import EXAMPLES, new_message

XML = {"content-type": "application/xml"}


async def submit(client: httpx.AsyncClient) -> tuple[str, str]:
    response = await client.post(
        "/v1/applications",
        content=new_message((EXAMPLES / "hundeanmeldung.xml").read_bytes()),
        headers=XML,
    )
    assert response.status_code == 202, response.text
    url = httpx.URL(response.json()["statusUrl"])
    return url.path, url.params["token"]


def without_instance(problem: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in problem.items() if k != "instance"}


async def test_no_wrong_token_tells_anything(client: httpx.AsyncClient) -> None:
    path, token = await submit(client)
    other_path, other_token = await submit(client)
    flipped = token[0].swapcase() + token[1:] if token[0].isalpha() else "A" + token[1:]
    wrong_tokens: list[dict[str, str]] = [
        {},
        {"token": ""},
        {"token": "wrong"},
        {"token": other_token},
        {"token": token[:-1]},
        {"token": token[:8]},
        {"token": token + "A"},
        {"token": flipped},
        {"token": token[:-1] + "é"},
        {"token": "\x00" * len(token)},
        {"token": "%00"},
    ]
    answers = []
    for params in wrong_tokens:
        response = await client.get(path, params=params)
        assert response.status_code == 404, (params, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        answers.append(without_instance(response.json()))
    unknown = await client.get(f"/v1/applications/{uuid.uuid4()}", params={"token": token})
    assert unknown.status_code == 404
    answers.append(without_instance(unknown.json()))
    assert all(answer == answers[0] for answer in answers), "a 404 differs from the others"

    assert (await client.get(path, params={"token": token})).status_code == 200
    assert (await client.get(other_path, params={"token": other_token})).status_code == 200


async def test_the_token_is_compared_in_constant_time(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, token = await submit(client)
    compared: list[tuple[Any, Any]] = []
    original = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(service.hmac, "compare_digest", spy)
    assert (await client.get(path, params={"token": token[:-1] + "B"})).status_code == 404
    assert (await client.get(path, params={"token": token})).status_code == 200
    assert len(compared) == 2, "every check goes through hmac.compare_digest"
