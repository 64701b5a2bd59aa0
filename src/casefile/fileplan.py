"""File plans (Aktenpläne): units with Kennzeichen, retention and disposal code, and which
service is filed under which unit.

The built-in default plan is an example for the demo, not an official plan: its Kennzeichen and
periods are plausible choices (tax records kept ten years, Wohngeld six), nothing more. An
operator replaces it per authority, or replaces the default itself, with
`eantrag fileplan import FILE` (JSON, see `PlanFile`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from casefile.errors import FilePlanInvalid
from contracts.values import LEIKA_KEY

ANY_SERVICE = "*"
DEFAULT_AUTHORITY = "*"
KENNZEICHEN = re.compile(r"[0-9A-Za-z]+(\.[0-9A-Za-z]+)*")


class PlanModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class PlanUnitIn(PlanModel):
    kennzeichen: str = Field(max_length=40, description="e.g. `022.31`; digits, letters, dots.")
    title: str = Field(min_length=1, max_length=300)
    retention_years: int | None = Field(
        ge=0, le=500, description="Years after the file is closed; null: kept without limit."
    )
    disposal: Literal["A", "B", "V"] = Field(
        description="A archivwürdig, B zu bewerten, V vernichten."
    )
    services: list[str] = Field(
        default_factory=list,
        description='LeiKa keys (14 digits) filed under this unit; "*" for every other service.',
    )


class PlanFile(PlanModel):
    """The import format: `{"units": [{"kennzeichen", "title", "retentionYears", ...}]}`."""

    authority: str | None = Field(default=None, description="Authority id; the CLI may set it.")
    units: list[PlanUnitIn] = Field(min_length=1)


DEFAULT_PLAN = PlanFile(
    units=[
        PlanUnitIn(
            kennzeichen="022.31",
            title="Hundesteuer",
            retention_years=10,
            disposal="V",
            services=[
                "99102013104000",
                "99102013070000",
                "99102013011000",
                "99102013010000",
                "99102013149000",
            ],
        ),
        PlanUnitIn(
            kennzeichen="500.21",
            title="Wohngeld",
            retention_years=6,
            disposal="B",
            services=["99107023037000"],
        ),
        PlanUnitIn(
            kennzeichen="500.31",
            title="Wohnberechtigungsschein",
            retention_years=6,
            disposal="V",
            services=["99107022012000"],
        ),
        PlanUnitIn(
            kennzeichen="110.20",
            title="Gewerbeanzeigen",
            retention_years=10,
            disposal="B",
            services=["99050012104000"],
        ),
        PlanUnitIn(
            kennzeichen="000.90",
            title="Online-Anträge ohne eigene Aktenplaneinheit",
            retention_years=10,
            disposal="B",
            services=[ANY_SERVICE],
        ),
    ]
)


def check(plan: PlanFile) -> PlanFile:
    """Refuse what would make filing ambiguous: duplicate Kennzeichen or services."""
    problems = []
    seen_units: set[str] = set()
    seen_services: dict[str, str] = {}
    for unit in plan.units:
        if not KENNZEICHEN.fullmatch(unit.kennzeichen):
            problems.append(
                f"unit {unit.kennzeichen!r}: Kennzeichen may hold digits, letters, dots"
            )
        if unit.kennzeichen in seen_units:
            problems.append(f"unit {unit.kennzeichen!r}: Kennzeichen appears twice")
        seen_units.add(unit.kennzeichen)
        for service in unit.services:
            if service != ANY_SERVICE and not LEIKA_KEY.fullmatch(service):
                problems.append(f"unit {unit.kennzeichen!r}: {service!r} is no 14-digit LeiKa key")
            if service in seen_services:
                problems.append(
                    f"service {service!r} is mapped to both {seen_services[service]!r} and "
                    f"{unit.kennzeichen!r}"
                )
            seen_services[service] = unit.kennzeichen
    if problems:
        raise FilePlanInvalid(problems)
    return plan


def read_plan(path: Path) -> PlanFile:
    try:
        plan = PlanFile.model_validate(orjson.loads(path.read_bytes()))
    except orjson.JSONDecodeError as exc:
        raise FilePlanInvalid([f"{path}: not JSON: {exc}"]) from exc
    except ValidationError as exc:
        raise FilePlanInvalid(
            [f"{'/'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        ) from exc
    return check(plan)
