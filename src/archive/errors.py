"""Errors of the archive context; each is a business outcome the CLI reports, never a crash."""

from __future__ import annotations


class ArchiveError(Exception):
    """A request the archive cannot carry out as asked (bad input, wrong state)."""


class UnknownProcess(ArchiveError):
    def __init__(self, process_id: str) -> None:
        super().__init__(f"unknown Aussonderung process {process_id}: no offer or export of ours")
        self.process_id = process_id


class SchemaInvalid(ArchiveError):
    """A message failed the official xdomea XSD."""

    def __init__(self, what: str, errors: list[str]) -> None:
        shown = "; ".join(errors[:5]) + (f" (+{len(errors) - 5} more)" if len(errors) > 5 else "")
        super().__init__(f"{what} is not valid xdomea: {shown}")
        self.errors = errors


class SchemaUnavailable(ArchiveError):
    def __init__(self) -> None:
        super().__init__(
            "no xdomea schema configured: set EANTRAG_XDOMEA_SCHEMA_DIR to the directory of the "
            "official XSDs, or pass --no-schema-check to write unvalidated messages"
        )


class IntegrityError(ArchiveError):
    """A stored file does not match its recorded SHA-256."""
