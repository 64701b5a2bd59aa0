"""The Zuständigkeitsfinder: the most specific area wins; postcodes only when unambiguous."""

from __future__ import annotations

import pytest

from eantrag.runtime import Runtime
from routing import service
from routing.directory import InvalidKey, area_key, leika_key, prefixes
from routing.service import Candidate, DirectoryIndex, ars_from_postcode, choose
from tests.routing.support import (
    CHEMNITZ,
    DOG,
    DRESDEN,
    LEIPZIG,
    NIEDERWUERSCHNITZ,
    PIRNA_FICTITIOUS,
    STRUPPEN_FICTITIOUS,
    WOHNGELD,
    import_example,
)

ARS = "145215115430"
LEVELS = {12: "gemeinde", 9: "verband", 5: "kreis", 3: "bezirk", 2: "land"}


def candidates(*lengths: int) -> list[Candidate]:
    return [
        Candidate(area_key=ARS[:n], authority_id=LEVELS[n], name=LEVELS[n].title()) for n in lengths
    ]


@pytest.mark.parametrize(
    ("present", "winner"),
    [
        ((12, 9, 5, 3, 2), "gemeinde"),
        ((9, 5, 3, 2), "verband"),
        ((5, 3, 2), "kreis"),
        ((3, 2), "bezirk"),
        ((2,), "land"),
        ((2, 12), "gemeinde"),
        ((5, 9), "verband"),
    ],
)
def test_most_specific_area_wins(present: tuple[int, ...], winner: str) -> None:
    decision = choose(ARS, candidates(*present))
    assert decision.authority is not None
    assert decision.authority.authority_id == winner
    assert decision.authority.area_key == ARS[: next(n for n, v in LEVELS.items() if v == winner)]


def test_no_candidate_is_unroutable_with_a_reason() -> None:
    decision = choose(ARS, [])
    assert not decision.routed
    assert "no authority" in (decision.reason or "")


def test_a_responsibility_for_another_area_does_not_match() -> None:
    other = Candidate(area_key="145215116", authority_id="nachbar", name="Nachbarverband")
    assert not choose(ARS, [other]).routed


def test_two_authorities_for_the_same_area_go_to_triage() -> None:
    twins = [
        Candidate(area_key="14521", authority_id="a", name="Amt A"),
        Candidate(area_key="14521", authority_id="b", name="Amt B"),
        Candidate(area_key="14", authority_id="land", name="Land"),
    ]
    decision = choose(ARS, twins)
    assert not decision.routed
    assert "2 authorities" in (decision.reason or "") and "Amt A" in (decision.reason or "")


def test_a_conflict_above_a_unique_match_does_not_matter() -> None:
    found = [
        Candidate(area_key="14521", authority_id="a", name="Amt A"),
        Candidate(area_key="14521", authority_id="b", name="Amt B"),
        Candidate(area_key=ARS, authority_id="gemeinde", name="Gemeinde"),
    ]
    decision = choose(ARS, found)
    assert decision.authority is not None and decision.authority.authority_id == "gemeinde"


def test_postcode_only_when_it_names_one_municipality() -> None:
    assert ars_from_postcode("01069", [(DRESDEN, "Dresden")]).ars == DRESDEN
    assert ars_from_postcode("01069", [(DRESDEN, "Dresden"), (DRESDEN, "Dresden")]).ars == DRESDEN
    ambiguous = ars_from_postcode(
        "01796", [("146289990901", "Pirna"), ("146289990902", "Struppen")]
    )
    assert ambiguous.ars is None
    assert "spans several municipalities" in (ambiguous.reason or "")
    assert "Pirna" in (ambiguous.reason or "") and "Struppen" in (ambiguous.reason or "")
    unknown = ars_from_postcode("99999", [])
    assert unknown.ars is None and "not in the directory" in (unknown.reason or "")


def test_keys_accept_urns_and_refuse_other_forms() -> None:
    assert leika_key("urn:de:fim:leika:leistung:99102013104000") == DOG
    assert area_key("urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:rs:14521") == "14521"
    assert prefixes(ARS) == [ARS, "145215115", "14521", "145", "14"]
    for bad in ("9910201310400", "12102013104000", "abc"):
        with pytest.raises(InvalidKey):
            leika_key(bad)
    for bad in ("1452", "1452151154", "14521511543X", ""):
        with pytest.raises(InvalidKey):
            area_key(bad)


CASES = [
    # (service, ars, postcode, expected authority id or None)
    (DOG, DRESDEN, "01069", "stadt-dresden"),
    (WOHNGELD, LEIPZIG, "04109", "stadt-leipzig"),
    (WOHNGELD, CHEMNITZ, None, "stadt-chemnitz"),
    (DOG, NIEDERWUERSCHNITZ, None, "vv-lugau"),
    (WOHNGELD, NIEDERWUERSCHNITZ, None, "lk-erzgebirgskreis"),
    (WOHNGELD, PIRNA_FICTITIOUS, None, "stadt-pirna-fiktiv"),
    (WOHNGELD, STRUPPEN_FICTITIOUS, None, "lk-saechsische-schweiz-osterzgebirge"),
    (DOG, STRUPPEN_FICTITIOUS, None, "gemeinde-struppen-fiktiv"),
    (DOG, None, "01069", "stadt-dresden"),
    (DOG, None, "01796", None),
    (DOG, None, "99999", None),
    (DOG, None, None, None),
    (DOG, "091620000000", None, None),
    ("99050012104000", DRESDEN, None, None),
]


async def test_database_and_in_memory_resolution_agree_on_the_demo_directory(
    runtime: Runtime,
) -> None:
    await import_example(runtime.db)
    async with runtime.db.sessionmaker() as session:
        index = await DirectoryIndex.load(session)
        for leika, ars, plz, expected in CASES:
            by_query = await service.resolve(session, leika, ars, plz)
            in_memory = index.resolve(leika, ars, plz)
            got = by_query.authority.authority_id if by_query.authority else None
            assert got == expected, (leika, ars, plz, by_query.reason)
            assert in_memory == by_query
            if expected is None:
                assert by_query.reason


async def test_ambiguous_postcode_names_the_municipalities(runtime: Runtime) -> None:
    await import_example(runtime.db)
    async with runtime.db.sessionmaker() as session:
        decision = await service.resolve(session, DOG, None, "01796")
    assert not decision.routed
    assert decision.reason == (
        "no ARS given and postcode 01796 spans several municipalities "
        "(Dohma (fiktiv), Pirna (fiktiv), Struppen (fiktiv))"
    )
