"""The offline provider's tolerance of typos and synonyms: what it corrects, what it refuses to guess."""

from __future__ import annotations

import pytest
from test_offline_parser import describe

from paysql_magic.demo import demo_model
from paysql_magic.errors import Declined
from paysql_magic.providers.offline.parser import Parser
from paysql_magic.providers.offline.spelling import Speller, is_word
from paysql_magic.providers.offline.text import tokenize

MODEL = demo_model()


@pytest.fixture(scope="module")
def parser() -> Parser:
    return Parser(MODEL)


CORRECTED = {
    "Сколько транзакцый было вчера?": "total_transactions | yesterday",
    "Топ 5 мерчантв по обороту": "total_volume | by merchant | top 5 by total_volume",
    "Количество отклоненых операций по каналам": "total_transactions | by channel | status=declined",
    "Средний чек в рестаранах": "avg_amount | category=Restaurants",
    "Сколько транзакций в октяре?": "total_transactions | month 10",
    "Оборот в Шымкенет": "total_volume | city=Shymkent",
    "Оборот Тexнодом": "total_volume | brand=Technodom",  # a Latin "x" among Cyrillic letters
    "Оборот в Астaна за эту неделю": "total_volume | city=Astana | this week",  # a Latin "a"
    "Volume in Almatty": "total_volume | city=Almaty",
    "Total volme yesterday": "total_volume | yesterday",
    "Transactions yesturday": "total_transactions,total_volume | yesterday",
    "How many declnied transactions?": "total_transactions | status=declined",  # one swap of two letters
    "Top 5 merchnats by volume": "total_volume | by merchant | top 5 by total_volume",  # the plural is kept
    "Average transacton amount by city": "avg_amount | by city",
    "Volume of mastercrad payments in Novembr": "total_volume | card_brand=mastercard | month 11",
}


@pytest.mark.parametrize(("question", "expected"), CORRECTED.items())
def test_typos_are_corrected(parser: Parser, question: str, expected: str) -> None:
    assert describe(parser.parse(question)) == expected


REFUSED = [
    "Сколько нуспешных транзакций?",  # неуспешных or успешных: opposite answers
    "Доля олайн платежей",  # онлайн or офлайн
    "Transactions by acount",  # account, count or amount
    "Volume by channe",  # channel or change
    "Volume by chanel",  # a word of English (Chanel): not a typo to correct
    "How many transactions at dairy stores?",  # a real word, not "daily"
    "Сколько трнзкций вчера?",  # three letters off
    "Volume in Almt",  # too short to guess
    "How many dclnied transactions?",  # too far from "declined", and no verb to ignore either
]


@pytest.mark.parametrize("question", REFUSED)
def test_ambiguous_or_distant_typos_are_declined(parser: Parser, question: str) -> None:
    with pytest.raises(Declined, match="does not know the words"):
        parser.parse(question)


def test_speller_keeps_the_closest_form_and_refuses_short_or_real_words() -> None:
    speller = Speller({"мерчант", "volume", "declined"})
    assert speller.closest("мерчантв")[0] == "мерчантов"
    assert speller.closest("volme") == ["volume"]
    assert speller.closest("declnied") == ["declined"]
    assert speller.closest("vlme") == []  # four letters
    assert speller.closest("vlumee") == []  # two edits in a short word
    assert speller.closest("volumes") == []  # a real word


def test_real_words_are_told_from_typos() -> None:
    assert is_word("transactions") and is_word("decided") and is_word("расплачивались")
    assert not is_word("declnied") and not is_word("транзакцый")


def test_mixed_alphabets_are_read_in_one() -> None:
    assert [t.text for t in tokenize("Астaна Almаty CУММА")] == ["астана", "almaty", "сумма"]


SYNONYMS = {
    "total_volume | by merchant | top 5 by total_volume": [
        "Топ-5 мерчантов по обороту", "Топ 5 магазинов по объему", "Топ пять продавцов по сумме",
        "Топ-5 торговых точек по обороту", "Top five merchants by volume", "Top 5 stores by turnover",
        "Пять самых крупных мерчантов",
    ],
    "total_transactions | status=declined": [
        "Сколько отклоненных транзакций?", "Сколько неуспешных транзакций?", "How many unsuccessful transactions?",
        "How many failed transactions?", "How many declined transactions?",
    ],
    "total_transactions | currency=KZT": ["Сколько транзакций в тенге?", "Сколько транзакций в KZT?"],
    "total_transactions | city=Almaty": ["Сколько транзакций в Алматы?", "How many transactions in Almaty?"],
    "total_transactions | city=Astana": [
        "Сколько транзакций в Астане?", "Сколько транзакций в Нур-Султане?", "How many transactions in Nur-Sultan?",
        "How many transactions in Astana?",
    ],
    "total_volume | last 5 day": [
        "Объем за последние пять дней", "Оборот за последние 5 дней", "Volume for the last five days",
    ],
}  # fmt: skip


@pytest.mark.parametrize(("expected", "question"), [(e, q) for e, qs in SYNONYMS.items() for q in qs])
def test_synonyms(parser: Parser, expected: str, question: str) -> None:
    assert describe(parser.parse(question)) == expected


def test_parts_of_the_day_are_declined_rather_than_ignored(parser: Parser) -> None:
    for question in ("How many payments in the evening?", "Сколько транзакций было ночью?"):
        with pytest.raises(Declined, match="parts of the day"):
            parser.parse(question)
