"""GET /v1/routes: the Zuständigkeitsfinder as FIT-Connect-style machine interface."""

from __future__ import annotations

import io

import httpx
import pytest

from eantrag.runtime import Runtime
from routing.xzufi import read_xzufi
from tests.routing.support import DOG, WOHNGELD, import_batch, import_example


@pytest.fixture
async def directory(runtime: Runtime) -> None:
    await import_example(runtime.db)


async def test_route_for_a_city(client: httpx.AsyncClient, directory: None) -> None:
    response = await client.get("/v1/routes", params={"leikaKey": DOG, "ars": "146120000000"})
    assert response.status_code == 200
    assert response.json() == {
        "count": 1,
        "routes": [
            {
                "destinationId": "stadt-dresden",
                "destinationName": "Landeshauptstadt Dresden",
                "destinationAddress": {
                    "street": "Dr.-Külz-Ring",
                    "houseNumber": "19",
                    "postcode": "01067",
                    "city": "Dresden",
                },
                "destinationContact": {
                    "phone": None,
                    "email": None,
                    "url": "https://www.dresden.de",
                },
                "leikaKey": DOG,
                "matchedAreaKey": "146120000000",
            }
        ],
    }


@pytest.mark.parametrize(
    ("leika", "ars", "destination", "matched"),
    [
        (f"urn:de:fim:leika:leistung:{WOHNGELD}", "145215115430", "lk-erzgebirgskreis", "14521"),
        (DOG, "145215115430", "vv-lugau", "145215115"),
        (DOG, "145215115", "vv-lugau", "145215115"),
        (
            WOHNGELD,
            "urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:rs:14628",
            "lk-saechsische-schweiz-osterzgebirge",
            "14628",
        ),
        (WOHNGELD, "146289990901", "stadt-pirna-fiktiv", "146289990901"),
    ],
)
async def test_most_specific_route_by_key_or_urn(
    client: httpx.AsyncClient, directory: None, leika: str, ars: str, destination: str, matched: str
) -> None:
    response = await client.get("/v1/routes", params={"leikaKey": leika, "ars": ars})
    assert response.status_code == 200, response.text
    [route] = response.json()["routes"]
    assert (route["destinationId"], route["matchedAreaKey"]) == (destination, matched)


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"leikaKey": "123", "ars": "146120000000"}, ["leikaKey"]),
        ({"leikaKey": DOG, "ars": "1461"}, ["ars"]),
        ({"leikaKey": DOG}, ["ars"]),
        ({}, ["leikaKey", "ars"]),
        ({"leikaKey": DOG, "ars": "14612000000x"}, ["ars"]),
    ],
)
async def test_bad_parameters_are_a_400_problem(
    client: httpx.AsyncClient, directory: None, params: dict[str, str], names: list[str]
) -> None:
    response = await client.get("/v1/routes", params=params)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "routing.invalid_query"
    assert [p["name"] for p in problem["invalid_params"]] == names


async def test_no_responsible_authority_is_a_404_problem(
    client: httpx.AsyncClient, directory: None
) -> None:
    response = await client.get("/v1/routes", params={"leikaKey": DOG, "ars": "091620000000"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "routing.no_route"


async def test_a_conflict_shows_every_route(
    client: httpx.AsyncClient, runtime: Runtime, directory: None
) -> None:
    second = (
        b'<x:t xmlns:x="http://xoev.de/schemata/xzufi/2_2_0"><x:schreibe>'
        b"<x:organisationseinheit><x:id>zweites-amt</x:id><x:name><x:name>Zweites Amt"
        b"</x:name></x:name><x:zustaendigkeit><x:leistungID>urn:de:fim:leika:leistung:"
        b"99102013104000</x:leistungID><x:gebietID>urn:de:bund:destatis:"
        b"bevoelkerungsstatistik:schluessel:rs:146120000000</x:gebietID>"
        b"</x:zustaendigkeit></x:organisationseinheit></x:schreibe></x:t>"
    )
    await import_batch(runtime.db, read_xzufi(io.BytesIO(second)))
    body = (await client.get("/v1/routes", params={"leikaKey": DOG, "ars": "146120000000"})).json()
    assert body["count"] == 2
    assert [r["destinationId"] for r in body["routes"]] == ["stadt-dresden", "zweites-amt"]


async def test_openapi_documents_the_route_response(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    operation = spec["paths"]["/v1/routes"]["get"]
    assert set(operation["responses"]) >= {"200", "400", "404"}
    assert "RoutesOut" in spec["components"]["schemas"]
    assert {p["name"] for p in operation["parameters"]} == {"leikaKey", "ars"}
