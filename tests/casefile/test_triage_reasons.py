"""Routing's reasons for a Klärfall, as the triage desk says them in German."""

from __future__ import annotations

from casefile.triage import UNKNOWN_REASON, reason_in_words
from routing.service import Candidate, Query, _area_of, ars_from_postcode, choose


def test_every_reason_routing_gives_reads_in_german() -> None:
    two = [
        Candidate(area_key="146120000000", authority_id=a, name=n, url=None)
        for a, n in (("a", "Amt A"), ("b", "Amt B"))
    ]
    reasons = [
        choose("091620000000", []).reason,
        choose("146120000000", two).reason,
        ars_from_postcode("99999", []).reason,
        ars_from_postcode("01796", [("1", "Pirna"), ("2", "Struppen")]).reason,
        _area_of(Query("x", "12x"), {}).reason,  # type: ignore[union-attr]
        _area_of(Query("x", None, None), {}).reason,  # type: ignore[union-attr]
    ]
    said = [reason_in_words(r) for r in reasons]
    for reason, words in zip(reasons, said, strict=True):
        assert reason and not words.startswith(UNKNOWN_REASON), (reason, words)
    assert "091620000000" in said[0]
    assert "2 Behörden" in said[1] and "Amt A, Amt B" in said[1]
    assert "Postleitzahl 99999" in said[2]
    assert "(Pirna, Struppen)" in said[3]
    assert "„12x“" in said[4]


def test_an_unknown_reason_is_quoted_and_none_is_said_plainly() -> None:
    assert reason_in_words(None) == UNKNOWN_REASON
    assert "etwas Neues" in reason_in_words("etwas Neues")
