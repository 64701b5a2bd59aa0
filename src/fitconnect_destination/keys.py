"""The destination's keys: a private JWK Set with decryption keys and one signing key.

FIT-Connect wants RSA keys of at least 4096 bits: `RSA-OAEP-256` to unwrap the content key of
every JWE a sender makes, `PS512` to sign the events of the case's event log. The public halves
are registered at the destination (with `key_ops` `wrapKey` and `verify`); the private ones stay
in a file only this process reads. Several decryption keys may be configured at once, so that a
new key can be registered while submissions encrypted for the old one are still waiting.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from jwcrypto import jwk

log = structlog.get_logger(__name__)

RSA_BITS = 4096
ENCRYPTION_ALG = "RSA-OAEP-256"
CONTENT_ENC = "A256GCM"
SIGNING_ALG = "PS512"
PUBLIC_OPS = {"unwrapKey": "wrapKey", "sign": "verify"}


class KeyFileError(Exception):
    """The key file is missing, unreadable or does not hold what a destination needs."""


@dataclass(frozen=True)
class DecryptionKey:
    kid: str
    thumbprint: str
    private: RSAPrivateKey


@dataclass(frozen=True)
class DestinationKeys:
    decryption: list[DecryptionKey]
    signing: jwk.JWK

    @property
    def signing_kid(self) -> str:
        return str(self.signing["kid"])

    def candidates(self, kid: str | None) -> list[DecryptionKey]:
        """The keys to try for a JWE: the one its `kid` names (by id or thumbprint) first,
        then every other one — senders name keys either way, and some by neither."""
        named = [k for k in self.decryption if kid is not None and kid in (k.kid, k.thumbprint)]
        return named + [k for k in self.decryption if k not in named]


def _ops(key: dict[str, Any]) -> set[str]:
    ops = set(key.get("key_ops") or [])
    use = key.get("use")
    if use == "enc":
        ops.add("unwrapKey")
    if use == "sig":
        ops.add("sign")
    return ops


def load(path: Path) -> DestinationKeys:
    """Read the private JWK Set; keys are told apart by `key_ops` (or `use`)."""
    try:
        if path.stat().st_mode & 0o077:
            log.warning("fitconnect.keys_readable_by_others", path=str(path))
        document = json.loads(path.read_text())
        entries = document["keys"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KeyFileError(f"cannot read the JWK Set {path}: {exc}") from exc
    decryption: list[DecryptionKey] = []
    signing: list[jwk.JWK] = []
    for entry in entries:
        key = jwk.JWK(**entry)
        if not key.has_private or key.get("kty") != "RSA":
            raise KeyFileError(f"{path}: key {entry.get('kid')!r} is not a private RSA key")
        ops = _ops(entry)
        if "unwrapKey" in ops or "decrypt" in ops:
            private = key.get_op_key("unwrapKey")
            decryption.append(
                DecryptionKey(str(entry.get("kid") or key.thumbprint()), key.thumbprint(), private)
            )
        elif "sign" in ops:
            signing.append(key)
    if not decryption:
        raise KeyFileError(f"{path} holds no decryption key (key_ops unwrapKey)")
    if len(signing) != 1:
        raise KeyFileError(f"{path} must hold exactly one signing key (key_ops sign)")
    return DestinationKeys(decryption, signing[0])


def generate() -> tuple[dict[str, Any], dict[str, Any]]:
    """A new encryption key and signing key: the private JWK Set and the public one."""
    private_keys = []
    public_keys = []
    for alg, op in ((ENCRYPTION_ALG, "unwrapKey"), (SIGNING_ALG, "sign")):
        key = jwk.JWK.generate(kty="RSA", size=RSA_BITS, kid=str(uuid.uuid4()), alg=alg)
        private = key.export_private(as_dict=True)
        private["key_ops"] = [op]
        public = key.export_public(as_dict=True)
        public["key_ops"] = [PUBLIC_OPS[op]]
        private_keys.append(private)
        public_keys.append(public)
    return {"keys": private_keys}, {"keys": public_keys}


def write_private(path: Path, key_set: dict[str, Any]) -> None:
    """Write the private JWK Set readable by its owner only; an existing file is not replaced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(key_set, out, indent=2)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())


def public_jwk(key_set: dict[str, Any], op: str) -> dict[str, Any]:
    """The public key of a (public or private) JWK Set with the given operation."""
    for entry in key_set["keys"]:
        if op in _ops(entry) or PUBLIC_OPS.get(op) in set(entry.get("key_ops") or []):
            public: dict[str, Any] = jwk.JWK(**entry).export_public(as_dict=True)
            return public | {"key_ops": [PUBLIC_OPS.get(op, op)]}
    raise KeyFileError(f"no key with key_ops {op}")
