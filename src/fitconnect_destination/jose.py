"""Compact JWE as FIT-Connect senders make it, and the Security Event Tokens a destination signs.

Decryption is written out on `cryptography` (RSA-OAEP-256 key unwrap, AES-256-GCM) rather than
left to jwcrypto's `JWE`, because of how jwcrypto 1.6 bounds `zip: DEF`: it refuses any compressed
ciphertext over 256 KiB (`jwcrypto.jwe.default_max_compressed_size`, one global for the whole
process), which turns away an honest compressed 20 MB attachment, and raising that global would
loosen it for every other user in the process. Here each part is inflated with its own output
limit (the data's, an attachment's, the metadata's), and a JWE whose ciphertext alone passes the
limit is refused before any RSA work. Only `RSA-OAEP-256` with `A256GCM` is accepted: FIT-Connect
names exactly these, and the token does not get to choose.

jwcrypto (a dependency of the `fitconnect` package anyway) does the rest: JWK parsing,
thumbprints, key generation and the PS512 signature of the events. The tests check both
directions against jwcrypto and joserfc independently.
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
import zlib
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from jwcrypto import jwk, jws

from fitconnect_destination.keys import CONTENT_ENC, ENCRYPTION_ALG, SIGNING_ALG, DestinationKeys

OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
EVENT_BASE = "https://schema.fitko.de/fit-connect/events/"
ACCEPT = EVENT_BASE + "accept-submission"
REJECT = EVENT_BASE + "reject-submission"


class DecryptionError(Exception):
    """The JWE cannot be decrypted with any configured key, or is not what FIT-Connect allows."""


class TooLarge(DecryptionError):
    """The plaintext (after inflating) exceeds the limit: a zip bomb, or simply too big."""


@dataclass(frozen=True)
class Decrypted:
    plaintext: bytes
    header: dict[str, Any]
    authentication_tag: str
    """The JWE's fifth part, as the sender sent it: the accept event names it."""


def b64url_decode(value: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (ValueError, TypeError) as exc:
        raise DecryptionError(f"not base64url: {exc}") from exc


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _inflate(data: bytes, limit: int) -> bytes:
    """Raw DEFLATE (RFC 1951), refusing as soon as the output would pass `limit` bytes."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise DecryptionError(f"zip DEF: not DEFLATE data: {exc}") from exc
    if len(out) > limit or inflater.unconsumed_tail:
        raise TooLarge(f"the plaintext inflates to more than {limit} bytes")
    if not inflater.eof:
        raise DecryptionError("zip DEF: the DEFLATE stream is truncated")
    return out


def decrypt(token: str, keys: DestinationKeys, limit: int) -> Decrypted:
    """Decrypt a compact JWE with the key its `kid` names, or each configured key in turn."""
    parts = token.strip().split(".")
    if len(parts) != 5:
        raise DecryptionError("not a compact JWE (five parts)")
    protected, encrypted_key, iv, ciphertext, tag = parts
    try:
        header = json.loads(b64url_decode(protected))
    except ValueError as exc:
        raise DecryptionError(f"the protected header is not JSON: {exc}") from exc
    if not isinstance(header, dict):
        raise DecryptionError("the protected header is not a JSON object")
    if header.get("alg") != ENCRYPTION_ALG or header.get("enc") != CONTENT_ENC:
        raise DecryptionError(
            f"alg {header.get('alg')!r}/enc {header.get('enc')!r}: only "
            f"{ENCRYPTION_ALG}/{CONTENT_ENC} is accepted"
        )
    if header.get("zip") not in (None, "DEF") or header.get("crit"):
        raise DecryptionError(f"unsupported header parameters: zip={header.get('zip')!r}, crit")
    wrapped = b64url_decode(encrypted_key)
    nonce = b64url_decode(iv)
    sealed = b64url_decode(ciphertext) + b64url_decode(tag)
    if len(nonce) != 12 or len(b64url_decode(tag)) != 16:
        raise DecryptionError("A256GCM needs a 96-bit IV and a 128-bit tag")
    # The ciphertext is as long as the (compressed) plaintext, and DEFLATE grows incompressible
    # input by well under 1 %: a JWE past that is refused before any RSA work.
    slack = limit // 100 + 1024 if header.get("zip") == "DEF" else 0
    if len(sealed) - 16 > limit + slack:
        raise TooLarge(f"the ciphertext alone exceeds {limit} bytes")
    kid = header.get("kid")
    for key in keys.candidates(kid if isinstance(kid, str) else None):
        try:
            cek = key.private.decrypt(wrapped, OAEP)
            if len(cek) != 32:
                continue
            plaintext = AESGCM(cek).decrypt(nonce, sealed, protected.encode("ascii"))
        except (ValueError, InvalidTag):
            continue
        if header.get("zip") == "DEF":
            plaintext = _inflate(plaintext, limit)
        return Decrypted(plaintext, header, tag)
    raise DecryptionError("no configured key decrypts it (wrong key, or the JWE was altered)")


def encrypt(
    plaintext: bytes, public: jwk.JWK, *, compress: bool = False, cty: str | None = None
) -> str:
    """Encrypt for a destination's public key as FIT-Connect senders do (the sending side)."""
    rsa_key = public.get_op_key("wrapKey")
    assert isinstance(rsa_key, RSAPublicKey)
    header: dict[str, Any] = {"alg": ENCRYPTION_ALG, "enc": CONTENT_ENC, "kid": public["kid"]}
    if cty:
        header["cty"] = cty
    if compress:
        header["zip"] = "DEF"
        deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        plaintext = deflater.compress(plaintext) + deflater.flush()
    protected = b64url(json.dumps(header, separators=(",", ":")).encode())
    cek = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    sealed = AESGCM(cek).encrypt(nonce, plaintext, protected.encode("ascii"))
    return ".".join(
        (
            protected,
            b64url(rsa_key.encrypt(cek, OAEP)),
            b64url(nonce),
            b64url(sealed[:-16]),
            b64url(sealed[-16:]),
        )
    )


def security_event(
    keys: DestinationKeys,
    *,
    issuer: str,
    submission_id: str,
    case_id: str,
    event: str,
    payload: dict[str, Any],
    jti: uuid.UUID | None = None,
    issued_at: int | None = None,
) -> str:
    """A signed Security Event Token (RFC 8417) for the case's event log."""
    claims = {
        "jti": str(jti or uuid.uuid4()),
        "iss": issuer,
        "iat": issued_at if issued_at is not None else int(time.time()),
        "sub": f"submission:{submission_id}",
        "txn": f"case:{case_id}",
        "events": {event: payload},
    }
    token = jws.JWS(json.dumps(claims, separators=(",", ":")).encode())
    token.add_signature(
        keys.signing,
        alg=SIGNING_ALG,
        protected={"typ": "secevent+jwt", "alg": SIGNING_ALG, "kid": keys.signing_kid},
    )
    return str(token.serialize(compact=True))
