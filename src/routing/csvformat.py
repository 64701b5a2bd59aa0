"""The directory's CSV format, for data that does not come as XZuFi (postcodes, local fixes).

UTF-8, comma-separated, quoted as usual for CSV; empty lines and lines starting with `#` are
ignored. The first field names the kind of row; trailing empty fields may be left out:

    service,<LeiKa key or URN>,<name>
    authority,<id>,<name>,<street>,<house number>,<postcode>,<city>,<ARS of the seat>,
              <phone>,<email>,<url>          (one line in the file)
    responsibility,<authority id>,<LeiKa key or URN>,<area key or ARS URN>[,<role>]
    postcode,<postcode>,<12-digit ARS>[,<place>]

As with XZuFi, an authority named in the file (by an `authority` row or in a `responsibility` row)
is described completely by it: its previous responsibilities are replaced. A `responsibility` row
may name an authority that is already in the directory. Every postcode in the file replaces that
postcode's previous rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

from routing.directory import (
    AuthorityData,
    DirectoryBatch,
    InvalidKey,
    PostcodeData,
    area_key,
    authority_id,
    leika_key,
    postcode,
)
from routing.errors import ImportFailed

AUTHORITY_FIELDS = (
    "id",
    "name",
    "street",
    "house_number",
    "postcode",
    "city",
    "ars",
    "phone",
    "email",
    "url",
)


def read_csv(source: str | Path | IO[bytes]) -> DirectoryBatch:
    if isinstance(source, str | Path):
        with open(source, "rb") as handle:
            return read_csv(handle)
    try:
        text = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
        return read_rows(csv.reader(text))
    except UnicodeDecodeError as exc:
        raise ImportFailed(f"not UTF-8: {exc.reason}") from exc
    except csv.Error as exc:
        raise ImportFailed(f"not CSV: {exc}") from exc


def read_rows(rows: Iterable[list[str]]) -> DirectoryBatch:
    batch = DirectoryBatch()
    readers: dict[str, Callable[[list[str], int, DirectoryBatch], None]] = {
        "service": _service,
        "authority": _authority,
        "responsibility": _responsibility,
        "postcode": _postcode,
    }
    for line, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        if not cells or not any(cells) or cells[0].startswith("#"):
            continue
        reader = readers.get(cells[0].lower())
        if reader is None:
            batch.reject(
                "row", cells[0], f"unknown kind of row; expected one of {sorted(readers)}", line
            )
            continue
        try:
            reader(cells[1:], line, batch)
        except InvalidKey as exc:
            batch.reject(cells[0].lower(), ",".join(cells[1:4]), str(exc), line)
    return batch


def _field(cells: list[str], index: int) -> str | None:
    return cells[index] or None if index < len(cells) else None


def _service(cells: list[str], line: int, batch: DirectoryBatch) -> None:
    key = leika_key(cells[0] if cells else "")
    name = _field(cells, 1)
    if name is None:
        batch.reject("service", key, "no name", line)
        return
    batch.services[key] = name


def _authority(cells: list[str], line: int, batch: DirectoryBatch) -> None:
    values = {name: _field(cells, i) for i, name in enumerate(AUTHORITY_FIELDS)}
    oe_id = authority_id(values["id"] or "")
    if values["name"] is None:
        batch.reject("authority", oe_id, "no name", line)
        return
    if oe_id in batch.authorities:
        batch.reject(
            "authority", oe_id, "the id occurs twice in this file; the first was kept", line
        )
        return
    ars = values["ars"]
    if ars is not None and not (len(ars) == 12 and ars.isdigit()):
        raise InvalidKey(f"{ars!r} is not a 12-digit ARS")
    batch.authorities[oe_id] = AuthorityData(
        id=oe_id,
        name=values["name"],
        street=values["street"],
        house_number=values["house_number"],
        postcode=values["postcode"],
        city=values["city"],
        ars=ars,
        phone=values["phone"],
        email=values["email"],
        url=values["url"],
    )


def _responsibility(cells: list[str], line: int, batch: DirectoryBatch) -> None:
    oe_id = authority_id(_field(cells, 0) or "")
    key = leika_key(_field(cells, 1) or "")
    area = area_key(_field(cells, 2) or "")
    batch.add_responsibilities(oe_id, key, [area], _field(cells, 3))


def _postcode(cells: list[str], line: int, batch: DirectoryBatch) -> None:
    plz = postcode(_field(cells, 0) or "")
    ars = area_key(_field(cells, 1) or "")
    if len(ars) != 12:
        batch.reject("postcode", f"{plz} → {ars}", "a postcode maps to 12-digit ARS only", line)
        return
    batch.postcodes.append(PostcodeData(plz, ars, _field(cells, 2)))
