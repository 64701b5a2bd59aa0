"""The 0503 transfer package: one ZIP per process, everything flat at its root.

`{ProzessID}_Aussonderung.Aussonderung.0503.zip` holds the message
`{ProzessID}_Aussonderung.Aussonderung.0503.xml`, every primary file under its own UUID name and
`manifest-sha256.txt` (BagIt-style: `<sha256>  <name>` per file), because xdomea 3.x has no
element for a file's hash. Stored files are hashed again while they are copied: a blob that no
longer matches its recorded SHA-256 stops the export.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from archive.errors import IntegrityError
from archive.schema import SchemaCheck, version_of
from archive.xdomea import message_filename
from eantrag.blobs import BlobStore

MANIFEST = "manifest-sha256.txt"
_TEXTUAL = {"xml", "json", "txt", "csv", "html"}
_UUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
PRIMARY_NAME = re.compile(_UUID + r"(_[^/\\]*)?(\.[A-Za-z0-9]+)?")
PACKAGE_NAME = re.compile(rf"({_UUID})_Aussonderung\.Aussonderung\.0503\.zip")

Progress = Callable[[int], None]
"""Called with the number of bytes just written."""


@dataclass(frozen=True)
class PackageEntry:
    """A primary file: from the blob store (`blob_key`) or generated (`content`)."""

    name: str
    sha256: str
    size: int
    blob_key: str = ""
    content: bytes | None = None


@dataclass
class WrittenPackage:
    path: Path
    files: int
    bytes_in: int
    size: int


def _compression(name: str) -> int:
    return (
        zipfile.ZIP_DEFLATED if name.rsplit(".", 1)[-1].lower() in _TEXTUAL else zipfile.ZIP_STORED
    )


async def write_transfer_package(
    out_dir: Path,
    process_id: uuid.UUID,
    message: bytes,
    entries: list[PackageEntry],
    blobs: BlobStore,
    progress: Progress | None = None,
) -> WrittenPackage:
    """Write the ZIP under a temporary name and rename it when complete (never a torn package)."""
    await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
    final = out_dir / message_filename(process_id, "0503", "zip")
    partial = final.with_name(final.name + ".partial")
    manifest: list[tuple[str, str]] = []
    bytes_in = 0
    try:
        with zipfile.ZipFile(partial, "w", allowZip64=True) as archive:
            xml_name = message_filename(process_id, "0503", "xml")
            archive.writestr(xml_name, message, compress_type=zipfile.ZIP_DEFLATED)
            manifest.append((hashlib.sha256(message).hexdigest(), xml_name))
            bytes_in += len(message)
            for entry in entries:
                digest = hashlib.sha256()
                info = zipfile.ZipInfo(entry.name)
                info.compress_type = _compression(entry.name)
                with archive.open(info, "w", force_zip64=entry.size > 2**31) as target:
                    if entry.content is not None:
                        digest.update(entry.content)
                        target.write(entry.content)
                    else:
                        async for chunk in blobs.read(entry.blob_key):
                            digest.update(chunk)
                            target.write(chunk)
                if digest.hexdigest() != entry.sha256:
                    raise IntegrityError(
                        f"{entry.name}: stored bytes do not match the recorded SHA-256 "
                        f"(blob {entry.blob_key}); export stopped"
                    )
                manifest.append((entry.sha256, entry.name))
                bytes_in += entry.size
                if progress is not None:
                    progress(entry.size)
            archive.writestr(
                MANIFEST,
                "".join(f"{digest}  {name}\n" for digest, name in manifest),
                compress_type=zipfile.ZIP_DEFLATED,
            )
        await asyncio.to_thread(_fsync, partial)
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return WrittenPackage(
        path=final, files=len(entries) + 1, bytes_in=bytes_in, size=final.stat().st_size
    )


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def write_message_container(
    out_dir: Path, process_id: uuid.UUID, code: str, message: bytes
) -> Path:
    """A message without files (0501, 0505) travels as `{ProzessID}_{type}.zip` holding its XML."""
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / message_filename(process_id, code, "zip")
    partial = final.with_name(final.name + ".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        archive.writestr(
            message_filename(process_id, code, "xml"), message, compress_type=zipfile.ZIP_DEFLATED
        )
    os.replace(partial, final)
    return final


# --- checking a package against the packaging rules -------------------------------------------


@dataclass
class PackageReport:
    process_id: str | None = None
    version: str | None = None
    primary_files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_package(path: Path, schema: SchemaCheck) -> PackageReport:
    """Everything an archive would check on arrival: names, ProzessID, schema, references,
    nothing unreferenced, hashes."""
    report = PackageReport()
    match = PACKAGE_NAME.fullmatch(path.name)
    if match is None:
        report.problems.append(f"package name {path.name!r} is not {{ProzessID}}_…0503.zip")
        return report
    report.process_id = match.group(1)
    xml_name = path.name[: -len(".zip")] + ".xml"
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        nested = [name for name in names if "/" in name or "\\" in name]
        if nested:
            report.problems.append(f"entries not at the root: {nested}")
        if len(set(names)) != len(names):
            report.problems.append("duplicate entries")
        if xml_name not in names:
            report.problems.append(f"message {xml_name} missing")
            return report
        message = archive.read(xml_name)
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
        root = etree.fromstring(message, parser)
        ns = etree.QName(root).namespace or ""
        report.version = version = version_of(ns)
        if root.prefix != "xdomea":
            report.problems.append(f"namespace prefix is {root.prefix!r}, not 'xdomea'")
        process_id = root.findtext(f"{{{ns}}}Kopf/{{{ns}}}ProzessID")
        if process_id != report.process_id:
            report.problems.append(
                f"ProzessID {process_id} in the message, {report.process_id} in the name"
            )
        try:
            schema.validate(root, version, xml_name)
        except Exception as exc:
            report.problems.append(str(exc))
        referenced = [node.text or "" for node in root.iter(f"{{{ns}}}Dateiname")]
        report.primary_files = referenced
        for name in referenced:
            if PRIMARY_NAME.fullmatch(name) is None:
                report.problems.append(f"file name {name!r} does not follow UUID[_text][.ext]")
            if name not in names:
                report.problems.append(f"referenced file {name} missing")
        if len(set(referenced)) != len(referenced):
            report.problems.append("a file is referenced twice")
        unreferenced = set(names) - set(referenced) - {xml_name, MANIFEST}
        if unreferenced:
            report.problems.append(f"files nobody references: {sorted(unreferenced)}")
        if MANIFEST not in names:
            report.problems.append(f"{MANIFEST} missing")
            return report
        listed: dict[str, str] = {}
        for line in archive.read(MANIFEST).decode().splitlines():
            expected, _, name = line.partition("  ")
            listed[name] = expected
        for name in names:
            if name == MANIFEST:
                continue
            if name not in listed:
                report.problems.append(f"{name} is not in the manifest")
                continue
            digest = hashlib.sha256()
            with archive.open(name) as handle:
                while chunk := handle.read(1024 * 1024):
                    digest.update(chunk)
            if digest.hexdigest() != listed[name]:
                report.problems.append(f"{name}: SHA-256 does not match the manifest")
        extra = set(listed) - set(names)
        if extra:
            report.problems.append(f"manifest lists files not in the package: {sorted(extra)}")
    return report
