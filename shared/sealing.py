"""Sealing short secrets at rest (ID-card numbers, bank account numbers): AES-GCM under a key id, so keys can rotate,
bound to the row that owns the secret, and an HMAC-SHA256 keyed hash (blind index) to find equal secrets without
decrypting. Nothing here logs, and no error message contains a secret.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from typing import Self

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
AES_KEY_BYTES = (16, 24, 32)
MIN_HMAC_KEY_BYTES = 32


def parse_keys(text: str, *, label: str) -> dict[str, bytes]:
    """AES keys by key id from `{"kid": "base64"}` JSON or a `kid:base64,kid2:base64` list (`label` names them in
    errors: "ID-card", "payee")."""
    text = text.strip()
    try:
        pairs = json.loads(text).items() if text.startswith("{") else (p.split(":", 1) for p in text.split(","))
        keys = {str(kid).strip(): base64.b64decode(str(value).strip(), validate=True) for kid, value in pairs}
    except (ValueError, binascii.Error) as exc:
        raise ValueError(f"{label} keys must be kid:base64 pairs or a JSON object of them") from exc
    if not keys or any(not kid for kid in keys):
        raise ValueError(f"at least one {label} key with a non-empty key id is required")
    if any(len(key) not in AES_KEY_BYTES for key in keys.values()):
        raise ValueError(f"every {label} key must be 16, 24 or 32 bytes (AES-128/192/256)")
    return keys


def parse_hmac_key(text: str, *, label: str) -> bytes:
    """The keyed-hash key, base64-encoded, at least 32 bytes."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (ValueError, binascii.Error) as exc:
        raise ValueError(f"the {label} HMAC key must be base64") from exc
    if len(key) < MIN_HMAC_KEY_BYTES:
        raise ValueError(f"the {label} HMAC key must be at least {MIN_HMAC_KEY_BYTES} bytes")
    return key


class Sealer:
    """Encrypts, decrypts and hashes one kind of secret with the configured keys.

    `label` names the keys in errors ("ID-card"), `subject` the secret ("ID-card number").
    """

    def __init__(
        self, keys: Mapping[str, bytes], active_kid: str, hmac_key: bytes, *, label: str, subject: str
    ) -> None:
        if active_kid not in keys:
            raise ValueError(f"the active {label} key id is not among the configured keys")
        self._ciphers = {kid: AESGCM(key) for kid, key in keys.items()}
        self._active_kid = active_kid
        self._hmac_key = hmac_key
        self._subject = subject

    @property
    def active_kid(self) -> str:
        return self._active_kid

    def keyed_digest(self, data: bytes) -> str:
        """HMAC-SHA256 of `data`: equal inputs, equal hashes; useless without the key."""
        return hmac.digest(self._hmac_key, data, hashlib.sha256).hex()

    def with_hmac_key(self, hmac_key: bytes) -> Self:
        """The same encryption keys with another keyed-hash key (for recomputing hashes on rotation)."""
        clone = copy.copy(self)
        clone._hmac_key = hmac_key
        return clone

    def encrypt_for(self, plain: str, owner: bytes) -> tuple[str, bytes]:
        """Key id and ciphertext (nonce + AES-GCM output) under the active key; `owner` (the owning row's id) is
        bound in as associated data, so a ciphertext copied to another row does not decrypt."""
        nonce = os.urandom(NONCE_BYTES)
        return self._active_kid, nonce + self._ciphers[self._active_kid].encrypt(nonce, plain.encode(), owner)

    def open_for(self, kid: str, ciphertext: bytes, owner: bytes) -> str:
        """Decrypt a stored secret; ValueError if the key is unknown or the ciphertext was tampered with."""
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise ValueError(f"the key that encrypted this {self._subject} is no longer configured")
        try:
            plain = cipher.decrypt(ciphertext[:NONCE_BYTES], ciphertext[NONCE_BYTES:], owner)
        except InvalidTag as exc:
            raise ValueError(f"the stored {self._subject} does not decrypt (tampered or wrong key)") from exc
        return plain.decode()
