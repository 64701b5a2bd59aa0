"""Scopes as FIT-Connect has them: who may send for which region and which service.

`send:region:DE<ARS prefix>` covers every application whose applicant's ARS starts with that
prefix (`DE` everywhere, `DE14` Sachsen, `DE146` a district); `send:service:<LeiKa URN>`
restricts a client to that service. A client without any service scope may send every service.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

REGION = "send:region:"
SERVICE = "send:service:"
EVERYWHERE = REGION + "DE"
# An ARS has 12 digits: Land 2, Regierungsbezirk 1, Kreis 2, Verband 4, Gemeinde 3.
_REGION = re.compile(r"send:region:DE\d{0,12}")
_SERVICE = re.compile(r"send:service:urn:de:fim:leika:leistung:\d{14}")


class ScopeSyntaxError(ValueError):
    pass


def validate(scope: str) -> str:
    """The scope unchanged if it is one this system knows how to check, else ScopeSyntaxError."""
    if _REGION.fullmatch(scope) or _SERVICE.fullmatch(scope):
        return scope
    raise ScopeSyntaxError(
        f"{scope!r} is no scope: expected `send:region:DE` followed by up to 12 digits of an "
        "ARS (`send:region:DE14`) or `send:service:urn:de:fim:leika:leistung:<14 digits>`"
    )


@dataclass(frozen=True)
class Grant:
    """What a client's scopes allow, parsed once per token."""

    regions: tuple[str, ...]  # ARS prefixes ("" = everywhere)
    services: frozenset[str]  # LeiKa URNs; empty = every service

    @classmethod
    def of(cls, scopes: list[str] | tuple[str, ...]) -> Grant:
        regions = tuple(s.removeprefix(EVERYWHERE) for s in scopes if _REGION.fullmatch(s))
        services = frozenset(s.removeprefix(SERVICE) for s in scopes if _SERVICE.fullmatch(s))
        return cls(regions, services)

    @property
    def everywhere(self) -> bool:
        return "" in self.regions

    def missing(self, ars: str | None, service_urn: str) -> str | None:
        """The scope this client lacks to send an application of `service_urn` from `ars`
        (None: covered). A region that is not established is covered only everywhere."""
        if self.services and service_urn not in self.services:
            return SERVICE + service_urn
        if self.everywhere:
            return None
        if ars is None:
            return EVERYWHERE
        if any(ars.startswith(prefix) for prefix in self.regions):
            return None
        return f"{EVERYWHERE}{ars}"
