"""Resident ID-card numbers (居民身份证号码, GB 11643): validation, masking, encryption and the keyed hash.

A number is validated (18 characters, plausible region and birth date, ISO 7064 MOD 11-2 check digit),
stored only encrypted with AES-GCM under a key id (so keys can rotate), found and de-duplicated through an
HMAC-SHA256 keyed hash, and shown masked. Nothing here logs, and no error message contains the number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from shared import sealing
from shared.personal_data import check_digit

_SHAPE = re.compile(r"\d{17}[\dX]", re.ASCII)
# Province-level codes (省级行政区划代码) that appear in resident ID numbers.
_PROVINCES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
        "83",
    ]
)
MASK = "*" * 10
KEY_LABEL = "ID-card"
FIRST_BIRTH_YEAR = 1900
IMPLAUSIBLE_BIRTH = "the birth date in the ID-card number is not plausible"


class InvalidIdNumber(ValueError):
    """The number is not a valid resident ID-card number; the message never contains the number."""


def birth_date_of(number: str) -> date:
    """The birth date a (shape-valid) number carries in positions 7-14."""
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise InvalidIdNumber("the birth date in the ID-card number is not a real date") from exc


def normalize_id_number(raw: str) -> str:
    """The canonical form (ASCII, upper-case X) of a valid number; InvalidIdNumber says what is wrong.

    Full-width digits (３７１５…, as a Chinese input method types them) are read as the same number, so the
    keyed hash, hence de-duplication, does not depend on how the number was typed. That the birth date is not
    after today needs the day: `check_born_by`.
    """
    number = unicodedata.normalize("NFKC", raw).strip().upper()
    if not _SHAPE.fullmatch(number):
        raise InvalidIdNumber("an ID-card number is 17 digits followed by a digit or X")
    if number[:2] not in _PROVINCES or number[2:6] == "0000":
        raise InvalidIdNumber("the region code of the ID-card number does not exist")
    if birth_date_of(number).year < FIRST_BIRTH_YEAR:
        raise InvalidIdNumber(IMPLAUSIBLE_BIRTH)
    if check_digit(number[:17]) != number[17]:
        raise InvalidIdNumber("the check digit of the ID-card number does not match")
    return number


def check_born_by(number: str, today: date) -> None:
    """InvalidIdNumber unless the (valid) number's birth date is not after `today`."""
    if birth_date_of(number) > today:
        raise InvalidIdNumber(IMPLAUSIBLE_BIRTH)


def mask(number: str) -> str:
    """The form shown to people: region prefix and last four only (`3715**********1234`)."""
    return number[:4] + MASK + number[-4:]


def parse_keys(text: str) -> dict[str, bytes]:
    """AES keys by key id from `{"kid": "base64"}` JSON or a `kid:base64,kid2:base64` list."""
    return sealing.parse_keys(text, label=KEY_LABEL)


def parse_hmac_key(text: str) -> bytes:
    """The keyed-hash key, base64-encoded, at least 32 bytes."""
    return sealing.parse_hmac_key(text, label=KEY_LABEL)


@dataclass(frozen=True)
class SealedIdNumber:
    """What is stored for a number: key id, ciphertext (nonce + AES-GCM output), keyed hash, masked form."""

    kid: str
    ciphertext: bytes
    keyed_hash: str
    masked: str


class IdCardVault(sealing.Sealer):
    """Encrypts, decrypts and hashes ID-card numbers with the configured keys (`shared.sealing`)."""

    def __init__(self, keys: Mapping[str, bytes], active_kid: str, hmac_key: bytes) -> None:
        super().__init__(keys, active_kid, hmac_key, label=KEY_LABEL, subject="ID-card number")

    def keyed_hash(self, number: str) -> str:
        """HMAC-SHA256 of the canonical number: equal numbers, equal hashes; useless without the key."""
        return self.keyed_digest(number.encode())

    def encrypt(self, number: str, *, member_id: UUID) -> tuple[str, bytes]:
        """Key id and ciphertext (nonce + AES-GCM output) under the active key; the member id is bound in as
        associated data, so a ciphertext copied to another member's row does not decrypt."""
        return self.encrypt_for(number, member_id.bytes)

    def seal(self, number: str, *, member_id: UUID) -> SealedIdNumber:
        """Everything stored for a number: ciphertext under the active key, keyed hash, masked form."""
        kid, ciphertext = self.encrypt(number, member_id=member_id)
        return SealedIdNumber(kid, ciphertext, self.keyed_hash(number), mask(number))

    def open(self, kid: str, ciphertext: bytes, *, member_id: UUID) -> str:
        """Decrypt a stored number; ValueError if the key is unknown or the ciphertext was tampered with."""
        return self.open_for(kid, ciphertext, member_id.bytes)
