"""A complainant's contact (举报人联系方式) at rest: name and phone sealed together as one JSON value (`shared.sealing`:
AES-GCM under a key id, bound to the grievance's id, so a ciphertext moved to another grievance does not open), and
the masked form shown to the district's readers (王**, 138****5678). A township office never gets even that: the
township may be the one complained about. No error message here contains a name or a phone number.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

from shared import sealing

KEY_LABEL = "grievance contact"
# A mobile number (11 digits, 1[3-9]...) or a landline with its area code (0635-8241234, 06358241234).
PHONE_PATTERN = r"^(1[3-9][0-9]{9}|0[1-9][0-9]{1,2}-?[0-9]{7,8})$"
_PHONE = re.compile(PHONE_PATTERN, re.ASCII)
_FIELD = b":contact"  # what the ciphertext is bound to besides the grievance: this column's meaning
# No blind index is kept: a contact is never looked up by its value, so the keyed hash `Sealer` offers gets a key
# of its own that no one holds.
_UNUSED_HMAC_KEY_BYTES = sealing.MIN_HMAC_KEY_BYTES


def parse_keys(text: str) -> dict[str, bytes]:
    """AES keys by key id from `{"kid": "base64"}` JSON or a `kid:base64,kid2:base64` list."""
    return sealing.parse_keys(text, label=KEY_LABEL)


def is_phone(value: str) -> bool:
    return bool(_PHONE.fullmatch(value))


def mask_contact(name: str, phone: str) -> str:
    """The form district readers see: the name's first character and `**` (whatever its length, which is not
    told), the phone's first three and last four digits: `王**, 138****5678`."""
    digits = phone.replace("-", "")
    return f"{name[:1]}**, {digits[:3]}****{digits[-4:]}"


@dataclass(frozen=True)
class Contact:
    """How to reach the complainant: what the district office or the commission sees once it states why."""

    name: str
    phone: str


@dataclass(frozen=True)
class SealedContact:
    """What is stored: key id, ciphertext (nonce + AES-GCM output of the contact's JSON), masked form."""

    kid: str
    ciphertext: bytes
    masked: str


class ContactVault(sealing.Sealer):
    """Seals and opens complainants' contacts with the configured keys."""

    def __init__(self, keys: Mapping[str, bytes], active_kid: str) -> None:
        unused_hmac_key = os.urandom(_UNUSED_HMAC_KEY_BYTES)
        super().__init__(keys, active_kid, unused_hmac_key, label=KEY_LABEL, subject="complainant's contact")

    def seal(self, contact: Contact, *, grievance_id: UUID) -> SealedContact:
        """The contact sealed under the active key, bound to its grievance."""
        plain = json.dumps({"name": contact.name, "phone": contact.phone}, ensure_ascii=False)
        kid, ciphertext = self.encrypt_for(plain, grievance_id.bytes + _FIELD)
        return SealedContact(kid, ciphertext, mask_contact(contact.name, contact.phone))

    def open(self, kid: str, ciphertext: bytes, *, grievance_id: UUID) -> Contact:
        """The contact of a grievance; ValueError if its key is gone or the ciphertext was tampered with or moved."""
        opened = json.loads(self.open_for(kid, ciphertext, grievance_id.bytes + _FIELD))
        return Contact(name=opened["name"], phone=opened["phone"])
