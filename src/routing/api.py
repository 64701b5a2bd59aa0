"""Routing's HTTP API: the Zuständigkeitsfinder as a machine interface."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request

from eantrag.problems import Violation, problem_responses
from eantrag.runtime import Runtime
from routing import service
from routing.directory import InvalidKey, area_key, leika_key
from routing.errors import InvalidRouteQuery, NoRoute
from routing.schemas import DestinationAddress, DestinationContact, RouteOut, RoutesOut

router = APIRouter(prefix="/v1", tags=["routing"])


def _parse(
    name: str, value: str | None, parse: Callable[[str], str]
) -> tuple[str | None, Violation | None]:
    if value is None or not value.strip():
        return None, Violation(f"routing.missing_{name}", name, "required")
    try:
        return parse(value), None
    except InvalidKey as exc:
        return None, Violation(f"routing.invalid_{name}", name, str(exc))


@router.get(
    "/routes",
    response_model=RoutesOut,
    response_model_by_alias=True,
    summary="Find the authority responsible for a service in an area",
    description=(
        "Answers like FIT-Connect's Routing API: the authorities responsible for the service "
        "(`leikaKey`, 14 digits or LeiKa URN) in the most specific area that contains `ars` "
        "(2, 3, 5, 9 or 12 digits, or the ARS URN). More than one route means a conflict in the "
        "directory."
    ),
    responses=problem_responses(400, 404),
)
async def routes(
    request: Request,
    leika: Annotated[
        str | None,
        Query(alias="leikaKey", description="LeiKa key or URN.", examples=["99102013104000"]),
    ] = None,
    ars: Annotated[
        str | None,
        Query(description="ARS of the area or one of its prefixes.", examples=["146120000000"]),
    ] = None,
) -> RoutesOut:
    service_key, leika_problem = _parse("leikaKey", leika, leika_key)
    area, ars_problem = _parse("ars", ars, area_key)
    problems = [p for p in (leika_problem, ars_problem) if p is not None]
    if problems or service_key is None or area is None:
        raise InvalidRouteQuery(
            "leikaKey and ars must name a service and an area", violations=problems
        )
    runtime: Runtime = request.app.state.runtime
    async with runtime.db.sessionmaker() as session:
        matched, found = await service.find_routes(session, service_key, area)
    if not found or matched is None:
        raise NoRoute(
            f"no authority is responsible for {service_key} in {area} or an area containing it"
        )
    return RoutesOut(
        count=len(found),
        routes=[
            RouteOut(
                destination_id=c.authority_id,
                destination_name=c.name,
                destination_address=DestinationAddress(
                    street=c.street, house_number=c.house_number, postcode=c.postcode, city=c.city
                ),
                destination_contact=DestinationContact(phone=c.phone, email=c.email, url=c.url),
                leika_key=service_key,
                matched_area_key=matched,
            )
            for c in found
        ],
    )
