"""ID-card numbers (GB 11643): validation, masking, AES-GCM sealing with key ids, the keyed hash, settings."""

from __future__ import annotations

import base64
from datetime import date
from uuid import uuid4

import pytest

from services.households.rules.idcard import (
    IdCardVault,
    InvalidIdNumber,
    check_born_by,
    mask,
    normalize_id_number,
    parse_hmac_key,
    parse_keys,
)
from services.households.settings import DEV_IDCARD_HMAC_KEY, DEV_IDCARD_KEYS, HouseholdsSettings
from shared.personal_data import check_digit
from tests.unit.test_households_helpers import make_id

TODAY = date(2026, 11, 29)
KEY_A, KEY_B = b"a" * 32, b"b" * 32
HMAC_KEY = b"h" * 32


def validated(raw: str) -> str:
    """A number as the import checks it: valid, and born by today."""
    number = normalize_id_number(raw)
    check_born_by(number, TODAY)
    return number


def vault(active: str = "k1", **keys: bytes) -> IdCardVault:
    return IdCardVault(keys or {"k1": KEY_A}, active, HMAC_KEY)


def test_the_standard_example_number_is_valid() -> None:
    # The example printed in GB 11643-1999 itself, with its check character X.
    assert check_digit("11010519491231002") == "X"
    assert validated("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("3715231960030100", "17 digits"),  # too short
        ("37152319600301001A", "17 digits"),  # letter other than X
        ("991523196003010011", "region"),  # no province 99
        ("370000196003010011", "region"),  # a province, not a place of residence
        ("371523196002300011", "real date"),  # 30 February
        ("371523189912310011", "plausible"),  # before 1900
        ("371523209912310011", "plausible"),  # in the future
    ],
)
def test_invalid_numbers_are_refused_without_echoing_them(raw: str, why: str) -> None:
    fixed = (
        raw[:17] + check_digit(raw[:17]) if len(raw) == 18 and raw.isdigit() else raw
    )  # only the rule under test fails
    with pytest.raises(InvalidIdNumber) as caught:
        validated(fixed)
    assert why in str(caught.value)
    assert fixed not in str(caught.value) and fixed[6:14] not in str(caught.value)


FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def test_a_number_typed_in_full_width_is_the_same_number() -> None:
    # A Chinese input method in full-width mode types ３７１５…; the canonical number (and so its keyed hash,
    # which de-duplicates) must not depend on it.
    assert validated("11010519491231002X".translate(FULL_WIDTH)) == "11010519491231002X"
    number = make_id()
    assert validated(f" {number.translate(FULL_WIDTH)} ") == number


@pytest.mark.parametrize("typed", ["arabic-indic", "trailing newline inside"])
def test_other_digits_and_embedded_newlines_are_refused(typed: str) -> None:
    number = make_id()
    raw = number.translate(ARABIC_INDIC) if typed == "arabic-indic" else number[:17] + "\n" + number[17]
    with pytest.raises(InvalidIdNumber, match="17 digits"):
        validated(raw)


def test_a_wrong_check_digit_is_refused() -> None:
    good = make_id()
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    with pytest.raises(InvalidIdNumber, match="check digit"):
        validated(bad)


def test_mask_shows_region_prefix_and_last_four() -> None:
    assert mask("371523196003010011") == "3715**********0011"
    assert len(mask("371523196003010011")) == 18


def test_sealed_numbers_open_only_for_their_member_and_never_hold_the_plain_text() -> None:
    v, number, member_id = vault(), make_id(), uuid4()
    sealed = v.seal(number, member_id=member_id)
    assert number.encode() not in sealed.ciphertext
    assert sealed.kid == "k1" and sealed.masked == mask(number)
    assert v.open(sealed.kid, sealed.ciphertext, member_id=member_id) == number
    with pytest.raises(ValueError, match="tampered"):
        v.open(sealed.kid, sealed.ciphertext, member_id=uuid4())  # moved to another member's row
    tampered = sealed.ciphertext[:-1] + bytes([sealed.ciphertext[-1] ^ 1])
    with pytest.raises(ValueError, match="tampered"):
        v.open(sealed.kid, tampered, member_id=member_id)


def test_two_seals_of_one_number_differ_but_hash_alike() -> None:
    v, number = vault(), make_id()
    one, two = v.seal(number, member_id=uuid4()), v.seal(number, member_id=uuid4())
    assert one.ciphertext != two.ciphertext
    assert one.keyed_hash == two.keyed_hash == v.keyed_hash(number)
    other_key = IdCardVault({"k1": KEY_A}, "k1", b"x" * 32)
    assert other_key.keyed_hash(number) != one.keyed_hash


def test_rotation_reads_old_key_ids_and_writes_the_active_one() -> None:
    number, member_id = make_id(), uuid4()
    old = vault("k1", k1=KEY_A).seal(number, member_id=member_id)
    rotated = vault("k2", k1=KEY_A, k2=KEY_B)
    assert rotated.open(old.kid, old.ciphertext, member_id=member_id) == number
    assert rotated.seal(number, member_id=member_id).kid == "k2"
    with pytest.raises(ValueError, match="no longer configured"):
        vault("k2", k2=KEY_B).open(old.kid, old.ciphertext, member_id=member_id)


def test_key_parsing_accepts_json_and_pairs_and_refuses_bad_keys() -> None:
    b64 = base64.b64encode(KEY_A).decode()
    assert parse_keys(f'{{"k1": "{b64}"}}') == {"k1": KEY_A}
    assert parse_keys(f"k1:{b64}, k2:{b64}") == {"k1": KEY_A, "k2": KEY_A}
    for bad in ("", "k1", f"k1:{base64.b64encode(b'short').decode()}", "k1:not-base64!", f":{b64}"):
        with pytest.raises(ValueError):
            parse_keys(bad)
    with pytest.raises(ValueError, match="32 bytes"):
        parse_hmac_key(base64.b64encode(b"short").decode())


PROD = {"environment": "prod", "jwt_secret": "x" * 40, "database_url": "postgresql+asyncpg://h/db"}
REAL_KEYS = f"live-1:{base64.b64encode(b'r' * 32).decode()}"
REAL_HMAC = base64.b64encode(b"s" * 48).decode()


def test_settings_refuse_development_keys_in_production() -> None:
    with pytest.raises(ValueError, match="development key"):
        HouseholdsSettings(**PROD)
    with pytest.raises(ValueError, match="development default"):
        HouseholdsSettings(**PROD, idcard_keys=REAL_KEYS, idcard_active_kid="live-1")
    live = HouseholdsSettings(**PROD, idcard_keys=REAL_KEYS, idcard_active_kid="live-1", idcard_hmac_key=REAL_HMAC)
    assert live.idcard_active_kid == "live-1"


def test_settings_need_the_active_key_among_the_keys() -> None:
    with pytest.raises(ValueError, match="idcard_active_kid"):
        HouseholdsSettings(idcard_keys=DEV_IDCARD_KEYS, idcard_active_kid="missing")
    assert HouseholdsSettings(idcard_hmac_key=DEV_IDCARD_HMAC_KEY).idcard_active_kid == "dev-1"


def test_settings_read_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOUSEHOLDS_IDCARD_KEYS", REAL_KEYS)
    monkeypatch.setenv("HOUSEHOLDS_IDCARD_ACTIVE_KID", "live-1")
    monkeypatch.setenv("HOUSEHOLDS_IDCARD_HMAC_KEY", REAL_HMAC)
    settings = HouseholdsSettings()
    assert settings.idcard_active_kid == "live-1"
    assert REAL_KEYS not in repr(settings)
