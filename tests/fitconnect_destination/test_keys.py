"""The destination's keys: creation, rollover, and decryption limits."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from jwcrypto import jwk
from typer.testing import CliRunner

from bootstrap.cli import app
from fitconnect_destination import jose, keys
from tests.fitconnect_destination.conftest import KeyFiles, public_key


def test_keys_create_writes_the_private_set_for_the_owner_only_and_prints_the_public_keys(
    tmp_path: Path,
) -> None:
    result = CliRunner().invoke(app, ["fitconnect", "keys", "create", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    private_path = tmp_path / "destination-keys.private.jwks.json"
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    printed = json.loads(result.stdout[result.stdout.index("{") :])
    by_op = {k["key_ops"][0]: k for k in printed["keys"]}
    assert set(by_op) == {"wrapKey", "verify"}
    assert by_op["wrapKey"]["alg"] == "RSA-OAEP-256" and by_op["verify"]["alg"] == "PS512"
    for key in printed["keys"]:
        assert "d" not in key and "p" not in key
        assert len(jose.b64url_decode(key["n"])) * 8 == 4096
    loaded = keys.load(private_path)
    assert [k.kid for k in loaded.decryption] == [by_op["wrapKey"]["kid"]]
    assert loaded.signing_kid == by_op["verify"]["kid"]

    again = CliRunner().invoke(app, ["fitconnect", "keys", "create", "--out", str(tmp_path)])
    assert again.exit_code != 0  # never overwrites a private key


@pytest.fixture
def rollover(
    tmp_path: Path, destination_keys: KeyFiles, other_keys: KeyFiles
) -> keys.DestinationKeys:
    """The new key (destination_keys) and the old one still configured (other_keys)."""
    old = [k for k in other_keys.private["keys"] if "unwrapKey" in k["key_ops"]]
    combined = {"keys": [*destination_keys.private["keys"], *old]}
    path = tmp_path / "rollover.jwks.json"
    keys.write_private(path, combined)
    return keys.load(path)


def _without_kid(public: dict[str, Any]) -> jwk.JWK:
    return jwk.JWK(**{k: v for k, v in public.items() if k != "kid"} | {"kid": "unknown"})


def test_a_jwe_is_decrypted_with_the_key_its_kid_names_or_each_in_turn(
    rollover: keys.DestinationKeys, destination_keys: KeyFiles, other_keys: KeyFiles
) -> None:
    old_public = public_key(other_keys, "unwrapKey")
    new_public = public_key(destination_keys, "unwrapKey")
    by_kid = jose.encrypt(b"old key, named by kid", jwk.JWK(**old_public))
    by_thumbprint = jose.encrypt(
        b"old key, named by thumbprint",
        jwk.JWK(**(old_public | {"kid": jwk.JWK(**old_public).thumbprint()})),
    )
    unnamed = jose.encrypt(b"new key, kid unknown", _without_kid(new_public), compress=True)

    assert jose.decrypt(by_kid, rollover, 1024).plaintext == b"old key, named by kid"
    assert jose.decrypt(by_thumbprint, rollover, 1024).plaintext == b"old key, named by thumbprint"
    assert jose.decrypt(unnamed, rollover, 1024).plaintext == b"new key, kid unknown"
    old_kid = rollover.candidates(old_public["kid"])[0].kid
    assert old_kid == old_public["kid"]


def test_only_rsa_oaep_256_with_a256gcm_is_accepted(destination_keys: KeyFiles) -> None:
    loaded = keys.load(destination_keys.private_path)
    token = jose.encrypt(b"x", jwk.JWK(**public_key(destination_keys, "unwrapKey")))
    header = json.loads(jose.b64url_decode(token.split(".")[0]))
    downgraded = jose.b64url(json.dumps(header | {"enc": "A128GCM"}).encode())
    with pytest.raises(jose.DecryptionError, match="only RSA-OAEP-256/A256GCM"):
        jose.decrypt(".".join([downgraded, *token.split(".")[1:]]), loaded, 1024)


def test_a_plaintext_over_the_limit_is_refused_with_and_without_zip(
    destination_keys: KeyFiles,
) -> None:
    loaded = keys.load(destination_keys.private_path)
    public = jwk.JWK(**public_key(destination_keys, "unwrapKey"))
    for compress in (True, False):
        token = jose.encrypt(bytes(10_000), public, compress=compress)
        assert jose.decrypt(token, loaded, 10_000).plaintext == bytes(10_000)
        with pytest.raises(jose.TooLarge):
            jose.decrypt(token, loaded, 9_999)


def test_a_compressed_part_of_a_megabyte_is_decrypted_where_jwcrypto_refuses_it(
    destination_keys: KeyFiles,
) -> None:
    """Why decryption does not go through jwcrypto's JWE (see `fitconnect_destination.jose`)."""
    from jwcrypto import jwe
    from jwcrypto.common import JWException

    loaded = keys.load(destination_keys.private_path)
    public = public_key(destination_keys, "unwrapKey")
    attachment = os.urandom(1024 * 1024)  # incompressible, like a PDF's streams
    token = jose.encrypt(attachment, jwk.JWK(**public), compress=True)

    assert jose.decrypt(token, loaded, 20 * 1024 * 1024).plaintext == attachment
    private = next(k for k in destination_keys.private["keys"] if k["kid"] == public["kid"])
    with pytest.raises(JWException, match="Compressed data exceeds maximum allowed"):
        jwe.JWE().deserialize(token, key=jwk.JWK(**private))
