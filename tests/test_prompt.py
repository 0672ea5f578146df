"""The prompt (glossary, date, time zone, schema, examples, budget), reply parsing and name suggestions."""

from __future__ import annotations

from datetime import datetime

import pytest

from paysql_magic.demo import demo_model
from paysql_magic.errors import Declined
from paysql_magic.examples import Example, retrieve
from paysql_magic.prompt import (
    DEFAULT_BUDGET_TOKENS,
    build_prompt,
    estimate_tokens,
    repair_prompt,
)
from paysql_magic.providers.structured import sql_of_reply
from paysql_magic.schema import Column, ForeignKey, Schema, Table
from paysql_magic.validate import ValidationError, check_dates, check_names, closest_names

NOW = datetime(2026, 11, 24, 10, 30)
WORDS = [
    "settlement",
    "chargeback",
    "dispute",
    "refund",
    "terminal",
    "acquirer",
    "issuer",
    "payout",
    "invoice",
    "ledger",
    "fee",
    "commission",
    "batch",
    "clearing",
    "device",
    "session",
    "loyalty",
    "coupon",
    "wallet",
    "token",
    "risk",
    "alert",
]


def _merchants() -> Table:
    return Table(
        "merchants",
        (Column("merchant_id", "integer", False), Column("merchant_name", "text", False, "legal name")),
        primary_key=("merchant_id",),
    )


def big_schema(n: int = 300) -> Schema:
    """``n`` generated tables with comments and foreign keys to merchants, built in memory."""
    tables = [_merchants()]
    for i in range(n - 1):
        word, other = WORDS[i % len(WORDS)], WORDS[(i * 7 + 3) % len(WORDS)]
        columns = [Column(f"{word}_{i}_id", "bigint", False)]
        columns += [Column(f"{other}_{j}_{c}", "numeric", True, f"{other} {c} figure") for j, c in enumerate("abcdef")]
        columns += [Column("merchant_id", "integer", True), Column("status", "text", True, values=("a", "b"))]
        tables.append(
            Table(
                f"{word}_{other}_{i}",
                tuple(columns),
                primary_key=(f"{word}_{i}_id",),
                foreign_keys=(ForeignKey(("merchant_id",), "merchants", ("merchant_id",)),),
                comment=f"{word} records ({other}) batch {i}",
            )
        )
    return Schema(tuple(tables), "Asia/Almaty")


def test_prompt_holds_glossary_date_timezone_schema_examples_and_reply_format(reader_engine):
    from paysql_magic.schema import introspect

    schema = introspect(reader_engine)
    shots = [Example("Сколько транзакций вчера?", "SELECT count(*) AS total_transactions FROM transactions")]
    text = build_prompt("Сколько транзакций сегодня?", schema, now=NOW, examples=shots, model=demo_model()).text
    assert "PostgreSQL" in text and "read-only" in text
    assert "Today is 2026-11-24 in the database time zone Asia/Almaty" in text
    assert "never date literals" in text
    assert "include EVERY status" in text and "SUM(amount_kzt)" in text and "total_transactions" in text
    assert "status IN ('declined')" in text and "merchants.city" in text  # rendered from the demo's model
    assert "CREATE TABLE transactions" in text and "CREATE TABLE merchants" in text and "values: '" in text
    assert "query_cache" not in text and "verified_examples" not in text  # paysql's own tables stay out
    assert "Question: Сколько транзакций вчера?\n```sql\nSELECT count(*)" in text
    assert "needs_clarification" in text and "```sql fenced block" in text
    assert text.rstrip().endswith("Question: Сколько транзакций сегодня?")
    assert estimate_tokens(text) < DEFAULT_BUDGET_TOKENS


def test_glossary_is_configurable_as_text_or_file(tmp_path):
    schema = Schema((_merchants(),), "UTC")
    assert "Volume = approved only." in build_prompt("q", schema, glossary="- Volume = approved only.").text
    path = tmp_path / "glossary.md"
    path.write_text("- Turnover counts approved transactions only.\n", encoding="utf-8")
    text = build_prompt("q", schema, glossary=str(path), model=demo_model()).text
    assert "Turnover counts approved transactions only." in text and "include EVERY status" not in text
    approved = build_prompt("q", schema, statuses="approved", model=demo_model()).text
    assert "include only approved rows" in approved and "include EVERY status" not in approved


def test_300_tables_fit_the_budget_and_keep_the_tables_the_question_names():
    schema = big_schema(300)
    full_tokens = estimate_tokens(schema.to_ddl())
    assert full_tokens > 5 * DEFAULT_BUDGET_TOKENS
    text = build_prompt("Total chargeback_fee_1 figures per merchant", schema, now=NOW).text
    assert estimate_tokens(text) <= DEFAULT_BUDGET_TOKENS
    assert "CREATE TABLE chargeback_fee_1 (" in text
    assert "CREATE TABLE merchants (" in text  # its foreign-key neighbour
    small = build_prompt("Total chargeback_fee_1 figures per merchant", schema, budget_tokens=2000).text
    assert estimate_tokens(small) <= 2000 and "CREATE TABLE chargeback_fee_1 (" in small


def test_examples_are_retrieved_by_similarity():
    pool = [
        Example("Top 5 merchants by volume", "SELECT 1"),
        Example("Сколько транзакций было вчера?", "SELECT 2"),
        Example("Средний чек по категориям", "SELECT 3"),
    ]
    assert retrieve("Сколько транзакций было сегодня?", pool, k=1) == [pool[1]]
    assert retrieve("top 10 merchants by volume last week", pool, k=3) == [pool[0]]
    assert retrieve("anything", pool, k=0) == []


@pytest.mark.parametrize(
    ("reply", "sql"),
    [
        ('{"sql": "SELECT 1", "tables": [], "assumptions": [], "needs_clarification": null}', "SELECT 1"),
        ('```json\n{"sql": "SELECT 2;"}\n```', "SELECT 2"),
        ("Here:\n```sql\nSELECT 3\n```", "SELECT 3"),
    ],
)
def test_replies_are_json_or_a_fenced_block(reply, sql):
    assert sql_of_reply(reply) == sql


def test_needs_clarification_declines():
    with pytest.raises(Declined, match="which city"):
        sql_of_reply('{"sql": "", "needs_clarification": "which city?"}')


def test_names_are_checked_against_the_schema_with_closest_names(reader_engine):
    from paysql_magic.schema import introspect

    schema = introspect(reader_engine)
    with pytest.raises(ValidationError, match="unknown column 'amout_kzt'"):
        check_names("SELECT sum(amout_kzt) FROM transactions", schema)
    with pytest.raises(ValidationError, match="unknown table 'merchant'"):
        check_names("SELECT count(*) FROM merchant", schema)
    check_names("WITH t AS (SELECT merchant_id FROM transactions) SELECT count(*) FROM t", schema)
    assert "transactions.amount_kzt" in closest_names("amout_kzt", schema)
    assert closest_names("merchant", schema)[0] == "merchants"


def test_relative_periods_refuse_date_literals():
    with pytest.raises(ValidationError, match="date literal"):
        check_dates("Сколько транзакций было сегодня?", "SELECT count(*) FROM t WHERE ts >= '2026-11-24'")
    with pytest.raises(ValidationError):
        check_dates("Volume over the last 7 days", "SELECT 1 WHERE ts >= DATE '2026-11-18'")
    check_dates("Сколько транзакций было сегодня?", "SELECT count(*) FROM t WHERE ts >= current_date")
    check_dates("Volume on 2026-11-01", "SELECT 1 WHERE ts >= '2026-11-01'")


def test_repair_prompt_carries_sql_error_and_names():
    prompt = build_prompt("q", Schema((_merchants(),), "UTC"))
    text = repair_prompt(
        prompt, "SELECT nam FROM merchants", 'column "nam" does not exist', ["merchants.merchant_name"]
    ).text
    assert text.startswith(prompt.text)
    assert "SELECT nam FROM merchants" in text and 'column "nam" does not exist' in text
    assert "Closest real names: merchants.merchant_name." in text


def test_a_question_sharing_no_word_with_the_schema_gets_the_most_referenced_tables():
    text = build_prompt("Сколько транзакций было сегодня?", big_schema(300), now=NOW).text
    assert "CREATE TABLE merchants (" in text and estimate_tokens(text) <= DEFAULT_BUDGET_TOKENS
