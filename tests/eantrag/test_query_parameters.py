"""An unknown query parameter is refused, naming it and the ones the endpoint takes."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize(
    ("url", "unknown", "allowed"),
    [
        ("/v1/cases?query=Richter", "query", "status"),
        ("/v1/triage?sort=new", "sort", "state"),
        ("/v1/routes?leikaKey=99102013104000&ars=146120000000&plz=01067", "plz", "leikaKey"),
        ("/v1/forms?lang=de", "lang", "none"),
    ],
)
async def test_an_unknown_query_parameter_is_refused_with_the_allowed_ones(
    client: httpx.AsyncClient, url: str, unknown: str, allowed: str
) -> None:
    response = await client.get(url, headers={"Authorization": "Bearer whatever"})
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["code"] == "unknown_query_parameter"
    assert unknown in problem["detail"] and allowed in problem["detail"], problem["detail"]
    assert problem["invalid_params"][0]["name"] == unknown


async def test_declared_query_parameters_still_work(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/routes?leikaKey=99102013104000&ars=146120000000")
    assert response.status_code != 400, response.text
