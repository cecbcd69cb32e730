"""The bank file's layout and the payee vault: pure rules, no database."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.subsidies.rules.bank_file import (
    EXPORT_HEADER,
    BankFileEncoding,
    ExportLine,
    ExportWriter,
    checksum,
    decode_file,
    encode_file,
    fen_of,
    purpose_of,
    yuan,
)
from services.subsidies.rules.payee_vault import PayeeVault, is_account_number, mask_account, mask_name, parse_keys
from services.subsidies.settings import DEV_PAYEE_HMAC_KEY, DEV_PAYEE_KEY, SubsidiesSettings
from shared.errors import InvalidInput

BATCH = UUID(int=7)
KEY_A, KEY_B = b"a" * 32, b"b" * 16
ACCOUNT = "6217000012345678901"


def _line(line_no: int, name: str = "张三", amount_fen: int = 25_800) -> ExportLine:
    return ExportLine(line_no, BATCH, ACCOUNT, name, amount_fen, purpose_of("低保", "2020-06"), UUID(int=line_no))


def _text(*lines: ExportLine) -> str:
    writer = ExportWriter()
    writer.write(lines)
    return writer.text()


def vault(active: str = "k1", **keys: bytes) -> PayeeVault:
    return PayeeVault(keys or {"k1": KEY_A}, active, b"h" * 32)


@pytest.mark.parametrize(
    ("fen", "text"),
    [(0, "0.00"), (5, "0.05"), (100, "1.00"), (25_800, "258.00"), (150_000, "1500.00"), (123_456_789, "1234567.89")],
)
def test_amounts_go_to_yuan_and_back_by_integer_arithmetic(fen: int, text: str) -> None:
    assert yuan(fen) == text
    assert fen_of(text) == fen


@pytest.mark.parametrize(
    "bad", ["258", "258.0", "258.000", "-1.00", "01.00", "1,000.00", " 1.00", "1e3.00", "２５８.００"]
)
def test_an_amount_not_written_with_two_decimals_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        fen_of(bad)


def test_a_negative_amount_is_never_written() -> None:
    with pytest.raises(ValueError):
        yuan(-1)


def test_the_export_file_is_a_header_and_one_crlf_line_per_instruction() -> None:
    text = _text(_line(1), _line(2, "李四", 5))
    rows = text.split("\r\n")
    assert rows[0] == ",".join(EXPORT_HEADER)
    assert rows[1] == f"1,{BATCH},{ACCOUNT},张三,258.00,低保 2020-06,{UUID(int=1)}"
    assert rows[2] == f"2,{BATCH},{ACCOUNT},李四,0.05,低保 2020-06,{UUID(int=2)}"
    assert rows[3] == "" and len(rows) == 4  # every line ends with CRLF, the last too
    assert "\ufeff" not in text


def test_the_same_lines_give_the_same_bytes_and_checksum_in_either_encoding() -> None:
    text = _text(_line(1), _line(2))
    assert _text(_line(1), _line(2)) == text
    assert checksum(text) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert encode_file(text, BankFileEncoding.GBK).decode("gbk") == text
    assert encode_file(text, BankFileEncoding.UTF_8) == text.encode("utf-8")
    assert not encode_file(text, BankFileEncoding.UTF_8).startswith(b"\xef\xbb\xbf")


def test_a_name_gbk_cannot_write_refuses_the_whole_file_naming_each_line() -> None:
    text = _text(_line(1), _line(2, "王䶮"), _line(3), _line(4, "𠀾明"))  # characters outside GBK
    with pytest.raises(InvalidInput) as caught:
        encode_file(text, BankFileEncoding.GBK)
    errors = caught.value.extensions["errors"]
    assert [e["field"] for e in errors] == ["line 2", "line 4"]
    assert {e["code"] for e in errors} == {"not_encodable"}
    assert "䶮" not in str(caught.value.extensions) and "䶮" not in caught.value.detail
    assert encode_file(text, BankFileEncoding.UTF_8).decode() == text  # UTF-8 writes them


def test_a_gbk_file_declared_utf8_names_its_first_undecodable_line() -> None:
    data = "line_no,reference\r\n1,abc\r\n2,张三\r\n3,李四\r\n".encode("gbk")
    with pytest.raises(InvalidInput) as caught:
        decode_file(data, BankFileEncoding.UTF_8)
    assert caught.value.extensions["errors"] == [
        {"field": "line 3", "message": "not utf-8 text", "code": "not_decodable"}
    ]
    assert decode_file(data, BankFileEncoding.GBK).startswith("line_no")


def test_account_numbers_are_12_to_30_ascii_digits() -> None:
    assert is_account_number("6" * 12) and is_account_number("6" * 30)
    for bad in ("6" * 11, "6" * 31, "6217 0000 1234 5678", "621700001234567X", "６２１７０００８１２３４５６７８"):
        assert not is_account_number(bad)


def test_masks_show_the_first_and_last_four_digits_and_the_names_ends() -> None:
    assert mask_account(ACCOUNT) == "6217 **** **** 8901"
    assert mask_account("123456789012") == "1234 **** **** 9012"
    assert [mask_name(n) for n in ("张三丰", "张三", "张", "欧阳娜娜")] == ["张*丰", "张*", "*", "欧*娜"]


def test_a_sealed_payee_opens_only_for_its_own_row_and_never_holds_the_plain_text() -> None:
    v, payee_id = vault(), uuid4()
    sealed = v.seal(ACCOUNT, "张三", payee_id=payee_id)
    assert ACCOUNT.encode() not in sealed.account_ciphertext and "张三".encode() not in sealed.holder_name_ciphertext
    assert (sealed.kid, sealed.account_masked, sealed.holder_name_masked) == ("k1", "6217 **** **** 8901", "张*")
    opened = v.open(sealed.kid, sealed.account_ciphertext, sealed.holder_name_ciphertext, payee_id=payee_id)
    assert (opened.account_no, opened.holder_name) == (ACCOUNT, "张三")
    with pytest.raises(ValueError, match="tampered"):  # moved to another payee's row
        v.open(sealed.kid, sealed.account_ciphertext, sealed.holder_name_ciphertext, payee_id=uuid4())
    with pytest.raises(ValueError, match="tampered"):  # the name's ciphertext put in the account's column
        v.open(sealed.kid, sealed.holder_name_ciphertext, sealed.account_ciphertext, payee_id=payee_id)


def test_the_blind_index_finds_one_account_whoever_it_was_sealed_for() -> None:
    v = vault()
    one, two = v.seal(ACCOUNT, "张三", payee_id=uuid4()), v.seal(ACCOUNT, "李四", payee_id=uuid4())
    assert one.account_ciphertext != two.account_ciphertext
    assert one.account_hash == two.account_hash == v.account_hash(ACCOUNT)
    assert PayeeVault({"k1": KEY_A}, "k1", b"x" * 32).account_hash(ACCOUNT) != one.account_hash


def test_rotation_opens_old_key_ids_and_seals_under_the_active_one() -> None:
    payee_id = uuid4()
    old = vault("k1", k1=KEY_A).seal(ACCOUNT, "张三", payee_id=payee_id)
    rotated = vault("k2", k1=KEY_A, k2=KEY_B)
    assert (
        rotated.open(old.kid, old.account_ciphertext, old.holder_name_ciphertext, payee_id=payee_id).account_no
        == ACCOUNT
    )
    assert rotated.seal(ACCOUNT, "张三", payee_id=payee_id).kid == "k2"
    with pytest.raises(ValueError, match="payee account is no longer configured"):
        vault("k2", k2=KEY_B).open(old.kid, old.account_ciphertext, old.holder_name_ciphertext, payee_id=payee_id)


def test_payee_keys_are_parsed_like_id_card_keys() -> None:
    b64 = base64.b64encode(KEY_A).decode()
    assert parse_keys(f"k1:{b64}") == {"k1": KEY_A}
    with pytest.raises(ValueError, match="payee keys"):
        parse_keys("k1")


def test_production_refuses_the_development_payee_keys() -> None:
    real_key = base64.b64encode(b"r" * 32).decode()
    real_hmac = base64.b64encode(b"s" * 32).decode()
    prod: dict[str, Any] = {
        "environment": "prod",
        "jwt_secret": "x" * 40,
        "database_url": "postgresql://u:p@db/subsidies",
    }
    with pytest.raises(ValueError, match="development key"):
        SubsidiesSettings(**prod, payee_keys=f"dev-1:{DEV_PAYEE_KEY}", payee_hmac_key=real_hmac)
    with pytest.raises(ValueError, match="development default"):
        SubsidiesSettings(**prod, payee_keys=f"dev-1:{real_key}", payee_hmac_key=DEV_PAYEE_HMAC_KEY)
    with pytest.raises(ValueError, match="payee_active_kid"):
        SubsidiesSettings(payee_keys=f"k9:{real_key}")
    settings = SubsidiesSettings(**prod, payee_keys=f"dev-1:{real_key}", payee_hmac_key=real_hmac)
    assert settings.payee_vault().active_kid == "dev-1"
