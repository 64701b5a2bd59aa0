"""Response bodies of the routes API, shaped after FIT-Connect's Routing API (`GET /routes`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class DestinationAddress(ApiModel):
    street: str | None = None
    house_number: str | None = None
    postcode: str | None = None
    city: str | None = None


class DestinationContact(ApiModel):
    phone: str | None = None
    email: str | None = None
    url: str | None = None


class RouteOut(ApiModel):
    destination_id: str = Field(
        description="Id of the authority (Organisationseinheit); its inbox is "
        "`authority.<destinationId>.inbox`."
    )
    destination_name: str = Field(description="Name of the responsible authority.")
    destination_address: DestinationAddress
    destination_contact: DestinationContact
    leika_key: str = Field(description="The service (14-digit LeiKa key).")
    matched_area_key: str = Field(
        description="The area key (ARS or prefix) of the responsibility that matched; the most "
        "specific one containing the requested area."
    )


class RoutesOut(ApiModel):
    count: int = Field(
        description="Number of routes; more than one means the directory names "
        "several authorities for the same area."
    )
    routes: list[RouteOut]
