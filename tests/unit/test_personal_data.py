"""Free text screened for personal numbers (shared/personal_data.py): bank account numbers however they are typed."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from shared.personal_data import (
    ScreenedPaymentText,
    ScreenedText,
    check_digit,
    contains_account_number,
    contains_id_number,
    redact_id_numbers,
)

FIRST_17 = "37152319600101001"
ID_NUMBER = FIRST_17 + check_digit(FIRST_17)


@pytest.mark.parametrize(
    "text",
    [
        "卡号 6217000012345678901",  # whole, 19 digits
        "卡号 6217 0000 1234 5678 901",  # in groups, as printed on the card
        "账号 6217-0000-1234-5678",
        "账号 6217000012345",  # 13 digits
        "账号 621700001234",  # 12 digits, the shortest account
        "账号 ６２１７ ００００ １２３４",  # full-width digits and spaces
        "账号 6217\u200b0000\u200b1234",  # invisible separators
        "6217 0000 1234\n5678",  # a line break between groups
        "6217  0000  1234",  # two blanks between groups
        "卡号 6217.0000.1234.5678.901",
        "卡号 6217/0000/1234/5678/901",
        "卡号 6217_0000_1234_5678",
        "卡号 6217，0000，0000，0001，234",  # full-width commas
    ],
)
def test_an_account_number_however_typed_is_found(text: str) -> None:
    assert contains_account_number(text)


@pytest.mark.parametrize(
    "text",
    [
        "2020年6月低保代发, 报送农商行",
        "户籍核查: 该户2020年3月已迁出本区, 6月低保应停发",
        "联系电话 13800138000",  # a phone number: 11 digits
        "鲁财社〔2020〕1号 中央财政困难群众救助补助资金",
        "the district's 2020 standard: 5,160 yuan a person a year",
        "6217 0000 123",  # 11 digits
        "金额 77400.00 元, 批次 12",
    ],
)
def test_other_numbers_are_not_taken_for_an_account(text: str) -> None:
    assert not contains_account_number(text)


def test_payment_text_refuses_an_account_or_an_id_number_without_repeating_it() -> None:
    adapter = TypeAdapter(ScreenedPaymentText)
    assert adapter.validate_python("重新导出: 户名更正") == "重新导出: 户名更正"
    for text, message in [("卡号 6217 0000 1234 5678 901", "bank account"), (f"身份证 {ID_NUMBER}", "ID-card")]:
        with pytest.raises(ValidationError) as refused:
            adapter.validate_python(text)
        [error] = refused.value.errors(include_input=False)
        assert message in error["msg"] and "6217" not in error["msg"] and ID_NUMBER not in error["msg"]


def test_plain_screened_text_still_takes_an_account_like_number() -> None:
    """Other services' free text (a household's note) is screened for ID-card numbers only."""
    assert TypeAdapter(ScreenedText).validate_python("合同号 6217000012345") == "合同号 6217000012345"


@pytest.mark.parametrize(
    "spelling",
    ["{a}  {b}  {c}", "{a}/{b}/{c}", "{a}.{b}.{c}", "{a}, {b}, {c}", "{a}_{b}_{c}", "{a} - {b} - {c}"],
)
def test_an_id_number_in_groups_with_any_common_separators_is_found(spelling: str) -> None:
    assert contains_id_number(spelling.format(a=ID_NUMBER[:6], b=ID_NUMBER[6:14], c=ID_NUMBER[14:]))


SEPARATORS = [" ", "  ", "-", " - ", "/", ".", "_", ",", "，", "、", "\u3000", "\u200b", ""]


@st.composite
def id_number_spellings(draw: st.DrawFn) -> tuple[str, str]:
    """A valid ID-card number (either form) and one way an officer might type it: cut into groups anywhere, joined by
    any separators, in full-width digits or not, its check character X in lower case or not."""
    born = draw(st.dates(min_value=date(1930, 1, 1), max_value=date(1999, 12, 31)))
    region = draw(st.sampled_from(["371523", "110101", "440305", "650102"]))
    seq = draw(st.integers(min_value=0, max_value=999))
    if draw(st.booleans()):
        first17 = f"{region}{born:%Y%m%d}{seq:03d}"
        number = first17 + check_digit(first17)
    else:
        number = f"{region}{born:%y%m%d}{seq:03d}"  # the first-generation 15-digit form
    cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=len(number) - 1), max_size=6)))
    groups = [number[a:b] for a, b in zip([0, *cuts], [*cuts, len(number)], strict=True)]
    text = "".join(g + (draw(st.sampled_from(SEPARATORS)) if i < len(groups) - 1 else "") for i, g in enumerate(groups))
    if draw(st.booleans()):
        text = text.translate(FULL_WIDTH)
    if draw(st.booleans()):
        text = text.replace("X", "x")
    prefix = draw(st.sampled_from(["", "身份证号 ", "户主身份证:", "note: "]))
    return number, prefix + text + draw(st.sampled_from(["", " 已核实", "。"]))


FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


@settings(max_examples=300, deadline=None)
@given(id_number_spellings())
def test_no_spelling_of_an_id_number_is_accepted_or_echoed(spelled: tuple[str, str]) -> None:
    number, text = spelled
    assert contains_id_number(text)
    with pytest.raises(ValidationError) as refused:
        TypeAdapter(ScreenedText).validate_python(text)
    shown = str(refused.value.errors(include_input=False)) + str(refused.value.json(include_input=False))
    assert number[6:12] not in shown and number[-4:] not in shown
    assert number[6:12] not in redact_id_numbers(text)
