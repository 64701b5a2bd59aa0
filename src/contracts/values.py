"""Value types every context speaks: the LeiKa key of a service and the ARS of an area."""

from __future__ import annotations

import re

LEIKA_URN_PREFIX = "urn:de:fim:leika:leistung:"
ARS_URN_PREFIX = "urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:rs:"
# An ARS has 12 digits; its prefixes (Land, Regierungsbezirk, Kreis, Verband) name larger areas.
AREA_KEY_LENGTHS = (12, 9, 5, 3, 2)

LEIKA_KEY = re.compile(r"99\d{12}")
_DIGITS = re.compile(r"\d+")


class InvalidKey(ValueError):
    """A key (LeiKa, ARS, postcode, authority id) that does not have its required form."""


def leika_key(value: str) -> str:
    """A 14-digit LeiKa key from the key itself or its URN."""
    value = value.strip().removeprefix(LEIKA_URN_PREFIX)
    if not LEIKA_KEY.fullmatch(value):
        raise InvalidKey(f"{value!r} is not a LeiKa key (99 followed by 12 digits)")
    return value


def leika_urn(key: str) -> str:
    return LEIKA_URN_PREFIX + key


def area_key(value: str) -> str:
    """An ARS or one of its prefixes (2, 3, 5, 9 or 12 digits), from the key or its URN."""
    value = value.strip().removeprefix(ARS_URN_PREFIX)
    if not _DIGITS.fullmatch(value) or len(value) not in AREA_KEY_LENGTHS:
        raise InvalidKey(
            f"{value!r} is not an area key (ARS of 12 digits or a prefix of 2, 3, 5 or 9 digits)"
        )
    return value


def area_urn(key: str) -> str:
    return ARS_URN_PREFIX + key
