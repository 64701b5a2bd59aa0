"""What the archive's use cases answer: the results of an offer, an appraisal, an export and
a confirmation, and the progress an export reports."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from archive.sources import ClosedCase

TWO_STEP = "two-step"
FOUR_STEP = "four-step"


class ExportProgress(Protocol):
    def started(self, process_id: uuid.UUID, cases: int, total_bytes: int) -> None: ...

    def advanced(self, cases: int, written_bytes: int) -> None: ...


class NoProgress:
    def started(self, process_id: uuid.UUID, cases: int, total_bytes: int) -> None:
        return None

    def advanced(self, cases: int, written_bytes: int) -> None:
        return None


@dataclass
class OfferResult:
    process_id: uuid.UUID
    path: Path
    cases: list[ClosedCase]


@dataclass
class AppraisalResult:
    process_id: uuid.UUID
    receipt: Path
    taken: list[str]
    destroyed_later: list[str]


@dataclass
class ExportedProcess:
    process_id: uuid.UUID
    variant: str
    path: Path | None
    cases: list[str]
    destroyed: list[str]
    files: int = 0
    bytes_in: int = 0
    size: int = 0


@dataclass
class Plan:
    """What a destructive step will do: the cases it deletes (with why), sends and keeps."""

    delete: list[tuple[str, str]] = field(default_factory=list)
    transfer: list[str] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ExportResult:
    processes: list[ExportedProcess] = field(default_factory=list)
    not_transferred_v: list[str] = field(default_factory=list)
    """Due cases whose unit says V: destroyed after the archive agreed, never sent unasked."""
    unreferenced_blobs: list[str] = field(default_factory=list)


@dataclass
class ConfirmResult:
    process_id: uuid.UUID
    archived: list[tuple[str, str | None]] = field(default_factory=list)
    failed: list[tuple[str, list[str]]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    unreferenced_blobs: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.unknown
