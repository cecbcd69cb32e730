"""Payee accounts (惠民惠农一卡通) at rest: the account number and the holder's name sealed like ID-card numbers
(`shared.sealing`: AES-GCM under a key id, bound to the payee's id), a keyed hash of the number (blind index) to
find one account paid for several households, and masked forms for reading. No error message here contains an
account number or a name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

from shared import sealing

KEY_LABEL = "payee"
ACCOUNT_PATTERN = r"^[0-9]{12,30}$"
_ACCOUNT = re.compile(ACCOUNT_PATTERN, re.ASCII)
# What is sealed where: a ciphertext is bound to its payee and its column, so neither moves to another row or field.
_ACCOUNT_FIELD, _NAME_FIELD = b":account", b":holder_name"


def parse_keys(text: str) -> dict[str, bytes]:
    """AES keys by key id from `{"kid": "base64"}` JSON or a `kid:base64,kid2:base64` list."""
    return sealing.parse_keys(text, label=KEY_LABEL)


def parse_hmac_key(text: str) -> bytes:
    """The keyed-hash key, base64-encoded, at least 32 bytes."""
    return sealing.parse_hmac_key(text, label=KEY_LABEL)


def is_account_number(value: str) -> bool:
    """12 to 30 ASCII digits: a bank card or account number as the bank file carries it."""
    return bool(_ACCOUNT.fullmatch(value))


def mask_account(number: str) -> str:
    """The form shown to people: the first and last four digits (`6217 **** **** 1234`), whatever the length."""
    return f"{number[:4]} **** **** {number[-4:]}"


def mask_name(name: str) -> str:
    """A name as a public notice shows it (as households masks members' names): 张*三, first character, `*`, last
    character; 张* for two characters."""
    if len(name) <= 1:
        return "*"
    return name[0] + "*" + (name[-1] if len(name) > 2 else "")


@dataclass(frozen=True)
class SealedPayee:
    """What is stored for an account: key id, ciphertexts (nonce + AES-GCM output), keyed hash, masked forms."""

    kid: str
    account_ciphertext: bytes
    account_hash: str
    account_masked: str
    holder_name_ciphertext: bytes
    holder_name_masked: str


@dataclass(frozen=True)
class OpenedPayee:
    """An account as the bank file needs it: the full number and the holder's name."""

    account_no: str
    holder_name: str


class PayeeVault(sealing.Sealer):
    """Seals, opens and hashes payee accounts with the configured keys."""

    def __init__(self, keys: Mapping[str, bytes], active_kid: str, hmac_key: bytes) -> None:
        super().__init__(keys, active_kid, hmac_key, label=KEY_LABEL, subject="payee account")

    def account_hash(self, number: str) -> str:
        """HMAC-SHA256 of the number: one account, one hash, whichever household it was recorded for."""
        return self.keyed_digest(number.encode())

    def seal(self, number: str, holder_name: str, *, payee_id: UUID) -> SealedPayee:
        """Everything stored for an account, under the active key."""
        kid, account = self.encrypt_for(number, payee_id.bytes + _ACCOUNT_FIELD)
        _, name = self.encrypt_for(holder_name, payee_id.bytes + _NAME_FIELD)
        return SealedPayee(kid, account, self.account_hash(number), mask_account(number), name, mask_name(holder_name))

    def open(
        self, kid: str, account_ciphertext: bytes, holder_name_ciphertext: bytes, *, payee_id: UUID
    ) -> OpenedPayee:
        """The full number and name of a stored payee; ValueError if a key is gone or a ciphertext was tampered with."""
        return OpenedPayee(
            self.open_for(kid, account_ciphertext, payee_id.bytes + _ACCOUNT_FIELD),
            self.open_for(kid, holder_name_ciphertext, payee_id.bytes + _NAME_FIELD),
        )
