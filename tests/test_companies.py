"""The company databases of ``tests/companies``: each builds on the session's server, its reader reads every table
the gold SQL needs and creates nothing, and every gold SQL of its question set runs (today's answers non-empty)."""

from __future__ import annotations

import importlib

import companies
import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError


def _cases() -> list[pytest.param]:
    return [
        pytest.param(name, q, id=f"{name}-{q['id']}") for name in companies.COMPANIES for q in companies.questions(name)
    ]


def _is_today(question: str) -> bool:
    return any(word in question.lower() for word in ("today", "сегодня"))


@pytest.mark.parametrize("name", companies.COMPANIES)
def test_question_set_is_well_formed(name: str) -> None:
    qs = companies.questions(name)
    assert 15 <= len(qs) <= 30
    assert len({q["id"] for q in qs}) == len(qs)
    for q in qs:
        assert set(q) == {"id", "lang", "question", "gold_sql", "ordered"}
        assert q["lang"] in ("ru", "en") and isinstance(q["ordered"], bool)
    langs = [q["lang"] for q in qs]
    assert abs(langs.count("ru") - langs.count("en")) <= 2
    assert sum(_is_today(q["question"]) for q in qs) >= 3


@pytest.mark.parametrize(("name", "question"), _cases())
def test_gold_sql_runs_for_the_reader(company_databases: dict, name: str, question: dict) -> None:
    with company_databases[name].reader.connect() as conn:
        rows = conn.execute(text(question["gold_sql"])).fetchall()
    assert isinstance(rows, list)
    if _is_today(question["question"]):
        assert rows, "today is always populated"
        assert any(v not in (None, 0) for v in rows[0]), rows


@pytest.mark.parametrize("name", companies.COMPANIES)
def test_reader_sees_the_data(company_databases: dict, name: str) -> None:
    fact = importlib.import_module(f"companies.{name}").FACT_TABLE
    time_column = {
        "processing": "data_operacii",
        "acquiring": "created",
        "retail": "created_at",
        "wallet": "occurred_at",
        "bazar": '"дата_время"',
    }[name]
    with company_databases[name].reader.connect() as conn:
        total, days, today = conn.execute(
            text(
                f"SELECT count(*), count(DISTINCT {time_column}::date),"
                f" count(*) FILTER (WHERE {time_column} >= current_date) FROM {fact}"
            )
        ).one()
        assert conn.execute(text("SHOW timezone")).scalar_one() == "Asia/Almaty"
    assert total >= 20_000 and days >= 120 and today > 0


@pytest.mark.parametrize("name", companies.COMPANIES)
def test_reader_creates_nothing(company_databases: dict, name: str) -> None:
    schemas = importlib.import_module(f"companies.{name}").SCHEMAS
    statements = [f"CREATE TABLE {schema}.paysql_probe(a int)" for schema in {*schemas, "public"}]
    statements += ["CREATE TABLE paysql_probe(a int)", "CREATE TEMP TABLE paysql_probe(a int)", "CREATE SCHEMA probe"]
    with company_databases[name].reader.connect() as conn:
        for statement in statements:
            with pytest.raises(DBAPIError) as caught:
                conn.execute(text(statement))
            assert isinstance(
                caught.value.orig, psycopg.errors.InsufficientPrivilege | psycopg.errors.InvalidSchemaName
            )
            conn.rollback()


def test_each_company_has_its_own_shape(company_databases: dict) -> None:
    with company_databases["processing"].admin.connect() as conn:
        kind = conn.execute(text("SELECT relkind FROM pg_class WHERE oid = 'processing.operacii'::regclass"))
        assert kind.scalar_one() == "p"  # partitioned
    with company_databases["acquiring"].reader.connect() as conn:
        assert conn.execute(text("SELECT to_regclass('payments')")).scalar() is None  # off the search_path
        comment = conn.execute(
            text(
                "SELECT col_description(attrelid, attnum) FROM pg_attribute"
                " WHERE attrelid = 'acquiring.payments'::regclass AND attname = 'amount'"
            )
        ).scalar_one()
        assert "tiyn" in comment
    with company_databases["retail"].reader.connect() as conn:
        tables = conn.execute(
            text(
                "SELECT count(*) FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
                " AND table_schema IN ('public', 'hr', 'crm')"
            )
        ).scalar_one()
        assert tables == 83  # payments, shops, clients and 80 unrelated ones
        assert conn.execute(text("SELECT count(*) FROM v_successful_payments")).scalar_one() > 0
        assert conn.execute(text("SELECT obj_description('payments'::regclass)")).scalar_one().startswith("Платежи")


def test_builds_are_fast(company_databases: dict) -> None:
    assert all(b.seconds < 10 for b in company_databases.values()), {
        name: round(b.seconds, 2) for name, b in company_databases.items()
    }
