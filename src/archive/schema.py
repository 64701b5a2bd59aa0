"""Validation against the official xdomea XSDs, loaded from `EANTRAG_XDOMEA_SCHEMA_DIR`.

The XSDs are not part of the repository (their licence for redistribution is unclear); an
installation points the setting at its copy.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from lxml import etree

from archive.errors import ArchiveError, SchemaInvalid, SchemaUnavailable

VERSIONS = ("3.0.0", "3.1.0")
ENTRY = "xdomea-Nachrichten-AussonderungDurchfuehren.xsd"

_lock = threading.Lock()


def namespace(version: str) -> str:
    if version not in VERSIONS:
        raise ArchiveError(f"unsupported xdomea version {version!r}; known: {', '.join(VERSIONS)}")
    return f"urn:xoev-de:xdomea:schema:{version}"


def version_of(namespace_uri: str) -> str:
    for version in VERSIONS:
        if namespace_uri == f"urn:xoev-de:xdomea:schema:{version}":
            return version
    raise ArchiveError(f"not an xdomea 3.x message: namespace {namespace_uri!r}")


@lru_cache(maxsize=8)
def _load(path: Path) -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.XMLSchema(etree.parse(str(path), parser))


class SchemaCheck:
    """Validates messages of one installation; `None` directory means "check nothing"."""

    def __init__(self, schema_dir: Path | None, *, skip: bool = False) -> None:
        if schema_dir is None and not skip:
            raise SchemaUnavailable()
        self.schema_dir = None if skip else schema_dir

    @property
    def enabled(self) -> bool:
        return self.schema_dir is not None

    def schema(self, version: str) -> etree.XMLSchema:
        assert self.schema_dir is not None
        path = (self.schema_dir / version / ENTRY).resolve()
        if not path.is_file():
            raise ArchiveError(f"xdomea {version} schema not found at {path}")
        with _lock:
            return _load(path)

    def validate(self, tree: etree._Element, version: str, what: str) -> None:
        if self.schema_dir is None:
            return
        schema = self.schema(version)
        # A schema object is not safe to share between threads while it validates.
        with _lock:
            valid = schema.validate(tree)
            errors = [f"line {e.line}: {e.message}" for e in schema.error_log]
        if not valid:
            raise SchemaInvalid(what, errors)
