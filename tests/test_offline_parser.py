"""The offline provider without a database: numbers, intents for many phrasings, SQL shapes, declines, speed."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import sqlglot

from paysql_magic.demo import demo_model
from paysql_magic.errors import Declined
from paysql_magic.guard import check
from paysql_magic.providers.base import Prompt
from paysql_magic.providers.offline import OfflineProvider
from paysql_magic.providers.offline.compose import build, to_sql
from paysql_magic.providers.offline.intent import SERIES, Filter, Intent, Window
from paysql_magic.providers.offline.parser import Parser
from paysql_magic.providers.offline.text import tokenize
from paysql_magic.schema import Schema

MODEL = demo_model()

QUESTION_FILES = (
    Path(__file__).parent / "data" / "questions.jsonl",
    Path(__file__).parents[1] / "benchmarks" / "questions" / "questions.jsonl",
)
CASES = [json.loads(line) for path in QUESTION_FILES for line in path.read_text("utf-8").splitlines()]
QUESTIONS = [case["question"] for case in CASES if case.get("expect") != "declined"]
OUT_OF_SCOPE = [case["question"] for case in CASES if case.get("expect") == "declined"]


@pytest.fixture(scope="module")
def parser() -> Parser:
    return Parser(MODEL)


def _value(value: object) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _filter(f: Filter) -> str:
    ops = {"gt": ">", "ge": ">=", "lt": "<", "le": "<=", "eq": "=", "in": "!=" if f.negated else "="}
    if f.op == "between":
        return f"{f.field} {_value(f.values[0])}..{_value(f.values[1])}"
    return f"{f.field}{ops[f.op]}{','.join(map(_value, f.values))}"


def _window(w: Window) -> str:
    if w.kind in ("last", "hours"):
        return f"{w.kind} {w.n} {w.unit}"
    if w.kind in ("this", "previous"):
        return f"{w.kind} {w.unit}"
    if w.kind in ("month", "since"):
        days = f" {w.day_from}-{w.day_to}" if w.day_from else ""
        return f"{w.kind} {w.month}{'-' + str(w.month_to) if w.month_to != w.month else ''}{days}"
    return w.kind if w.kind != "year" else f"year {w.year}"


def describe(intent: Intent) -> str:
    """A compact, readable summary: "count,volume | by merchant | status=declined | last 7 day | top 5"."""
    parts = ["list" if intent.listing else ",".join(m.alias for m in intent.measures)]
    if intent.dimensions:
        parts.append(f"by {','.join(intent.dimensions)}")
    parts += [_filter(f) for f in intent.filters]
    if intent.window:
        parts.append(_window(intent.window))
    if intent.source != "transactions":
        parts.append(f"from {intent.source}")
    if intent.order and intent.order[0].key not in SERIES:
        order = intent.order[0]
        count = f" {intent.limit}" if intent.limit else ""
        parts.append(f"{'top' if order.descending else 'bottom'}{count} by {order.key}")
    return " | ".join(parts)


NUMBERS = [
    ("свыше 500 000 тенге", 500_000),
    ("more than 100k", 100_000),
    ("1 млн", 1_000_000),
    ("1M", 1_000_000),
    ("1,5 млн", 1_500_000),
    ("1,500,000", 1_500_000),
    ("десять", 10),
    ("двадцать пять", 25),
    ("top five", 5),
    ("топ-5", 5),
    ("пять тысяч", 5000),
    ("a million", 1_000_000),
    ("12.5", 12.5),
    ("сто двадцать", 120),
    ("two hundred thousand", 200_000),
    ("from 1st to 15th", None),
]


@pytest.mark.parametrize(("text", "value"), NUMBERS)
def test_numbers(text: str, value: float | None) -> None:
    numbers = [t.number for t in tokenize(text) if t.is_number]
    assert numbers == ([1, 15] if value is None else [value])


INTENTS = {
    # counts, volumes, averages, extremes
    "Сколько всего транзакций в базе?": "total_transactions",
    "Общее количество платежей за вчерашний день": "total_transactions | yesterday",
    "How many payments happened today?": "total_transactions | today",
    "Выручка за позавчера": "total_volume | day_before",
    "What is the turnover for the past 14 days?": "total_volume | last 14 day",
    "Средний чек по каналам": "avg_amount | by channel",
    "Mean transaction value by channel": "avg_amount | by channel",
    "Какой самый крупный платеж был вчера?": "max_amount | yesterday",
    "Smallest transaction amount yesterday": "min_amount | yesterday",
    "Сколько уникальных покупателей было вчера?": "unique_customers | yesterday",
    "How many distinct merchants had transactions today?": "unique_merchants | today",
    "How many active customers this month?": "unique_customers | this month",
    "Среднее количество транзакций в день за последнюю неделю": "avg_daily_transactions | last 7 day",
    "Average daily volume over the last 30 days": "avg_daily_volume | last 30 day",
    # merchants and customers counted in their own tables
    "How many merchants are there in Almaty?": "merchant_count | city=Almaty | from merchants",
    "Сколько торговых точек в каждом городе?": "merchant_count | by city | from merchants",
    "Сколько клиентов премиум-сегмента?": "customer_count | segment=premium | from customers",
    "Сколько клиентов живет в Караганде?": "customer_count | customer_city=Karaganda | from customers",
    "Сколько новых мерчантов подключилось в этом году?": "merchant_count | this year | from merchants",
    "Новые клиенты по месяцам": "customer_count | by month | from customers",
    "Сколько клиентов из Алматы совершили покупки за неделю?": "unique_customers | customer_city=Almaty | last 7 day",
    # breakdowns
    "Транзакции по валютам": "total_transactions,total_volume | by currency",
    "Transactions broken down by currency": "total_transactions,total_volume | by currency",
    "Транзакции в разрезе категорий MCC за месяц": "total_transactions,total_volume | by category | last 30 day",
    "Volume by city and channel this week": "total_volume | by city,channel | this week",
    "Объем транзакций по городам клиентов": "total_volume | by customer_city",
    "Оборот по сегментам клиентов за последний месяц": "total_volume | by segment | last 30 day",
    "Volume by card scheme this month": "total_volume | by card_brand | this month",
    "Транзакции по статусу и каналу за неделю": "total_transactions,total_volume | by status,channel | last 7 day",
    "Транзакции по дням недели": "total_transactions,total_volume | by weekday",
    # series
    "Дневной объем транзакций за последние 7 дней": "total_volume | by day | last 7 day",
    "Оборот по дням за последний месяц": "total_volume | by day | last 30 day",
    "Weekly volume for the last 8 weeks": "total_volume | by week | last 8 week",
    "Ежемесячный объем за последние 6 месяцев": "total_volume | by month | last 6 month",
    "Объем по месяцам за полгода": "total_volume | by month | last 6 month",
    "Number of transactions per hour today": "total_transactions | by hour | today",
    "Сколько транзакций было в каждый час сегодня?": "total_transactions | by hour | today",
    # top N and superlatives
    "Топ 10 мерчантов по объему транзакций": "total_volume | by merchant | top 10 by total_volume",
    "Top five MCC categories by transaction volume today": "total_volume | by category | today | top 5 by total_volume",
    "Топ-5 компаний по количеству транзакций": "total_transactions | by merchant | top 5 by total_transactions",
    "Top merchants this month": "total_volume | by merchant | this month | top 10 by total_volume",
    "Пять крупнейших мерчантов по обороту в Алматы": "total_volume | by merchant | city=Almaty | top 5 by total_volume",
    "Bottom 5 merchants by volume": "total_volume | by merchant | bottom 5 by total_volume",
    "Which city has the most transactions?": "total_transactions | by city | top 1 by total_transactions",
    "В какой день был самый большой оборот за месяц?": "total_volume | by day | last 30 day | top 1 by total_volume",
    "Самый популярный канал оплаты": "total_transactions | by channel | top 1 by total_transactions",
    "Наименее популярные категории": "total_transactions | by category | bottom by total_transactions",
    "Десять самых активных клиентов за последние 30 дней": (
        "total_transactions | by customer | last 30 day | top 10 by total_transactions"
    ),
    "Which category has the highest average ticket?": "avg_amount | by category | top 1 by avg_amount",
    "10 крупнейших транзакций за вчера": "list | yesterday | top 10 by amount",
    "Show the 5 most recent declined transactions": "list | status=declined | top 5 by time",
    # filters
    "How many declined transactions were there today?": "total_transactions | status=declined | today",
    "Сколько транзакций было отменено за последнюю неделю?": "total_transactions | status=reversed | last 7 day",
    "Сколько было отказов вчера?": "total_transactions | status=declined | yesterday",
    "Count of approved payments yesterday": "total_transactions | status=approved | yesterday",
    "Объем онлайн-платежей по дням за последние 10 дней": "total_volume | by day | channel=online | last 10 day",
    "Сколько платежей по картам Visa было за последние 14 дней?": "total_transactions | card_brand=visa | last 14 day",
    "Оборот по валютам, кроме тенге": "total_volume | by currency | currency!=KZT",
    "Сколько транзакций в USD и EUR за месяц?": "total_transactions | currency=USD,EUR | last 30 day",
    "Общий объем транзакций сегодня в KZT": "total_volume | today",
    "Сколько транзакций в тенге?": "total_transactions | currency=KZT",
    "Средний чек в ресторанах за последнюю неделю": "avg_amount | category=Restaurants | last 7 day",
    "How many payments were made at gas stations last week?": "total_transactions | category=Fuel | last 7 day",
    "Transactions of business customers by channel": "total_transactions,total_volume | by channel | segment=business",
    "Сколько транзакций свыше 500 000 тенге?": "total_transactions | amount>500000",
    "Transactions between 100,000 and 200,000 KZT": "total_transactions,total_volume | amount 100000..200000",
    "Сколько было операций на сумму от 100 000 до 500 000 тенге за неделю?": (
        "total_transactions | amount 100000..500000 | last 7 day"
    ),
    "Payments under 5k by channel": "total_transactions,total_volume | by channel | amount<5000",
    "Количество транзакций не менее 1 млн": "total_transactions | amount>=1000000",
    "Мерчанты с оборотом более 10 млн тенге за месяц": (
        "total_transactions,total_volume | by merchant | volume>10000000 | last 30 day"
    ),
    # shares
    "Какая доля отклоненных транзакций за последние 7 дней?": "declined_share | last 7 day",
    "Share of ECOM transactions in the last 30 days": "online_share | last 30 day",
    "Decline rate by channel for the last 30 days": "declined_share | by channel | last 30 day",
    "Какой процент платежей в USD отклоняется?": "declined_share | currency=USD",
    "Share of declined transactions among ECOM payments": "declined_share | channel=online",
    "Доля ECOM в обороте за месяц": "online_volume_share | last 30 day",
    "Доля каждого канала": "share | by channel",
    "Конверсия по картам за неделю": "approved_share | by card_brand | last 7 day",
    # time windows
    "Volume this year": "total_volume | this year",
    "Объем транзакций с начала месяца": "total_volume | this month",
    "Объем за прошлый месяц": "total_volume | previous month",
    "Transactions in the last 24 hours": "total_transactions,total_volume | hours 24 hour",
    "Объем транзакций в октябре": "total_volume | month 10",
    "Volume in November": "total_volume | month 11",
    "Количество транзакций с 1 по 15 ноября": "total_transactions | month 11 1-15",
    "Transactions from 1 to 10 November": "total_transactions,total_volume | month 11 1-10",
    "How many transactions on November 20?": "total_transactions | month 11 20-20",
    "Транзакции 1-15 ноября": "total_transactions,total_volume | month 11 1-15",
    "Объем с 1 октября по 15 ноября": "total_volume | month 10-11 1-15",
    "Сколько транзакций было с 1 ноября?": "total_transactions | since 11 1-1",
    "Объем транзакций за 2026 год": "total_volume | year 2026",
    "Сколько транзакций за октябрь и ноябрь?": "total_transactions | month 10-11",
    "Volume this quarter": "total_volume | this quarter",
    "Объем по кварталам в этом году": "total_volume | by quarter | this year",
    # merchant brands, exact amounts, rates per period
    "Сколько транзакций в Magnum за неделю?": "total_transactions | brand=Magnum | last 7 day",
    "Оборот Kaspi Magazin за месяц": "total_volume | brand=Kaspi Magazin | last 30 day",
    "Top 5 Magnum stores by volume": "total_volume | by merchant | brand=Magnum | top 5 by total_volume",
    "Сколько было транзакций на сумму ровно 1000 тенге?": "total_transactions | amount=1000",
    "Сколько раз клиенты расплачивались картой Visa в этом месяце?": (
        "total_transactions | card_brand=visa | this month"
    ),
    "Average transactions per hour today": "avg_hourly_transactions | today",
    "Top 5 merchants by declined transactions in Almaty last week": (
        "total_transactions | by merchant | status=declined | city=Almaty | last 7 day | top 5 by total_transactions"
    ),
    "Decline rate for Mastercard this week": "declined_share | card_brand=mastercard | this week",
}


@pytest.mark.parametrize(("question", "expected"), INTENTS.items())
def test_intent(parser: Parser, question: str, expected: str) -> None:
    assert describe(parser.parse(question)) == expected


CITY_FORMS = [
    ("в Астане", "Astana"), ("по Алматы", "Almaty"), ("в Алма-Ате", "Almaty"), ("в Шымкенте", "Shymkent"),
    ("в Караганде", "Karaganda"), ("в Актобе", "Aktobe"), ("в Таразе", "Taraz"), ("в Павлодаре", "Pavlodar"),
    ("в Усть-Каменогорске", "Oskemen"), ("в Оскемене", "Oskemen"), ("в Семее", "Semey"), ("в Атырау", "Atyrau"),
    ("в Костанае", "Kostanay"), ("в Кызылорде", "Kyzylorda"), ("в Актау", "Aktau"), ("в Туркестане", "Turkistan"),
    ("in Shymkent", "Shymkent"), ("in Oskemen", "Oskemen"), ("по Караганде", "Karaganda"), ("in Astana", "Astana"),
]  # fmt: skip


@pytest.mark.parametrize(("words", "city"), CITY_FORMS)
def test_city_in_any_case_form(parser: Parser, words: str, city: str) -> None:
    assert describe(parser.parse(f"Сколько транзакций {words}?")) == f"total_transactions | city={city}"


CATEGORY_WORDS = [
    ("в супермаркетах", "Groceries"), ("в продуктовых магазинах", "Groceries"), ("в ресторанах", "Restaurants"),
    ("на АЗС", "Fuel"), ("at gas stations", "Fuel"), ("в аптеках", "Pharmacies"), ("в такси", "Transport"),
    ("на электронику", "Electronics"), ("в категории Groceries", "Groceries"), ("for travel", "Travel"),
    ("снятий наличных", "Cash withdrawal"), ("в категории Home and garden", "Home and garden"),
]  # fmt: skip


@pytest.mark.parametrize(("words", "category"), CATEGORY_WORDS)
def test_category_synonyms(parser: Parser, words: str, category: str) -> None:
    assert describe(parser.parse(f"Сколько транзакций {words}?")) == f"total_transactions | category={category}"


WINDOW_SQL = {
    "сегодня": "transaction_ts >= CURRENT_DATE AND transaction_ts < (CURRENT_DATE + 1)",
    "yesterday": "transaction_ts >= (CURRENT_DATE - 1) AND transaction_ts < CURRENT_DATE",
    "за последние 7 дней": "transaction_ts >= (CURRENT_DATE - 6)",
    "за неделю": "transaction_ts >= (CURRENT_DATE - 6)",
    "last month": "transaction_ts >= (CURRENT_DATE - 29)",
    "в этом месяце": "transaction_ts >= DATE_TRUNC('MONTH', CURRENT_DATE)",
    "this week": "transaction_ts >= DATE_TRUNC('WEEK', CURRENT_DATE)",
    "в этом году": "transaction_ts >= DATE_TRUNC('YEAR', CURRENT_DATE)",
    "for the last 8 weeks": "transaction_ts >= (DATE_TRUNC('WEEK', CURRENT_DATE) - INTERVAL '7 weeks')",
    "за последние 6 месяцев": "transaction_ts >= (DATE_TRUNC('MONTH', CURRENT_DATE) - INTERVAL '5 months')",
    "в октябре": (
        "transaction_ts >= (DATE_TRUNC('YEAR', CURRENT_DATE - INTERVAL '9 months') + INTERVAL '9 months') "
        "AND transaction_ts < (DATE_TRUNC('YEAR', CURRENT_DATE - INTERVAL '9 months') + INTERVAL '10 months')"
    ),
    "in January": (
        "transaction_ts >= DATE_TRUNC('YEAR', CURRENT_DATE) "
        "AND transaction_ts < (DATE_TRUNC('YEAR', CURRENT_DATE) + INTERVAL '1 months')"
    ),
    "с 1 по 15 ноября": (
        "transaction_ts >= (DATE_TRUNC('YEAR', CURRENT_DATE - INTERVAL '10 months') + INTERVAL '10 months') "
        "AND transaction_ts < (DATE_TRUNC('YEAR', CURRENT_DATE - INTERVAL '10 months') + INTERVAL '10 months 15 days')"
    ),
    "in October 2025": "transaction_ts >= CAST('2025-10-01' AS DATE) AND transaction_ts < CAST('2025-11-01' AS DATE)",
}


@pytest.mark.parametrize(("words", "condition"), WINDOW_SQL.items())
def test_window_sql(parser: Parser, words: str, condition: str) -> None:
    sql = build(MODEL, parser.parse(f"Сколько транзакций {words}?")).sql(dialect="postgres")
    assert sql == f"SELECT COUNT(*) AS total_transactions FROM transactions WHERE {condition}"


BRIEF_COLUMNS = {
    "Сколько всего транзакций в базе?": ["total_transactions"],
    "How many transactions are in the database in total?": ["total_transactions"],
    "Сколько транзакций было сегодня?": ["total_transactions"],
    "How many transactions were there today?": ["total_transactions"],
    "Сколько транзакций было вчера?": ["total_transactions"],
    "How many transactions were there yesterday?": ["total_transactions"],
    "Общий объем транзакций сегодня в KZT": ["total_volume"],
    "Total transaction volume today in KZT": ["total_volume"],
    "Топ 10 мерчантов по объему транзакций": ["merchant_name", "total_volume"],
    "Top 10 merchants by transaction volume": ["merchant_name", "total_volume"],
    "Топ 5 категорий MCC по объему транзакций сегодня": ["mcc_category", "total_volume"],
    "Top 5 MCC categories by transaction volume today": ["mcc_category", "total_volume"],
    "Транзакции по категориям MCC за последний месяц": ["mcc_category", "total_transactions", "total_volume"],
    "Transactions by currency": ["currency", "total_transactions", "total_volume"],
    "Дневной объем транзакций за последние 90 дней": ["day", "total_volume"],
}


@pytest.mark.parametrize(("question", "columns"), BRIEF_COLUMNS.items())
def test_brief_questions_use_the_conventional_columns(parser: Parser, question: str, columns: list[str]) -> None:
    assert sqlglot.parse_one(to_sql(MODEL, parser.parse(question)), dialect="postgres").named_selects == columns


DECLINED = [
    "Какая погода в Алматы?",
    "What's the weather like?",
    "delete all transactions",
    "Удали все транзакции",
    "DROP TABLE transactions",
    "Обнови статус транзакции 5 на approved",
    "Почему упал оборот?",
    "Прогноз оборота на следующий месяц",
    "Транзакции больше 100 долларов",
    "Сколько крупных транзакций было вчера?",
    "Сколько всего категорий MCC?",
    "Average number of customers per day this week",
    "Сколько стоит Magnum?",
    "Сколько транзакций с понедельника?",
    "Hello",
    "",
]


@pytest.mark.parametrize("question", DECLINED + OUT_OF_SCOPE)
def test_declines_what_it_cannot_parse(question: str) -> None:
    prompt = Prompt(question, Schema((), "Asia/Almaty"), "", model=MODEL)
    with pytest.raises(Declined) as error:
        OfflineProvider().generate(prompt)
    lines = str(error.value).splitlines()
    assert 1 <= len(lines) <= 3 and lines[0].startswith("The offline provider cannot answer this question: ")
    assert "measures:" not in str(error.value)  # the vocabulary is in %ask --help, not in every decline


def test_a_decline_names_the_word_and_gives_the_provider_hint_once(monkeypatch) -> None:
    from paysql_magic.providers.offline import provider as offline

    monkeypatch.setattr(offline, "_hinted", type(offline._hinted)())
    messages = []
    for question in ("Какая погода в Алматы?", "Сколько стоит Magnum?"):
        with pytest.raises(Declined) as error:
            OfflineProvider().generate(Prompt(question, Schema((), "Asia/Almaty"), "", model=MODEL))
        messages.append(str(error.value))
    first, second = messages
    assert "«погода»" in first.splitlines()[0] and 'Ask.provider = "gemini"' in first
    assert 'Ask.provider = "gemini"' not in second and len(second.splitlines()) <= 2


def test_provider_generates_sql_from_the_question_alone() -> None:
    provider = OfflineProvider()
    assert (provider.name, provider.model) == ("offline", "offline-parser-1")
    sql = provider.generate(Prompt("Транзакции по валютам", Schema((), "Asia/Almaty"), "ignored", model=MODEL))
    assert sql.startswith("SELECT") and "GROUP BY" in sql


def test_every_answer_is_one_select_the_guard_accepts(parser: Parser) -> None:
    for question in [*QUESTIONS, *INTENTS]:
        sql = to_sql(MODEL, parser.parse(question))
        assert isinstance(sqlglot.parse_one(sql, dialect="postgres"), sqlglot.exp.Select)
        check(sql)


def test_fast(parser: Parser) -> None:
    started = time.perf_counter()
    Parser(MODEL)
    assert time.perf_counter() - started < 0.5
    started = time.perf_counter()
    for question in QUESTIONS:
        to_sql(MODEL, parser.parse(question))
    assert (time.perf_counter() - started) / len(QUESTIONS) < 0.005


def test_a_breakdown_comes_sorted_biggest_first(parser: Parser) -> None:
    sql = to_sql(MODEL, parser.parse("Оборот по городам за вчера"))
    assert sql.rstrip().endswith("ORDER BY\n  total_volume DESC")
