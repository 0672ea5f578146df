"""Plan mode through the real ollama and google-genai clients against loopback servers: the request carries a plan
schema with this database's names, a plan compiles to SQL whose result equals the gold answer, a plan outside the
enumerations is refused before any SQL exists, and ``needs_sql`` falls back to SQL in auto mode."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from databases import drop_database, fresh_database

from paysql_magic import core
from paysql_magic.errors import Declined, PaysqlError
from paysql_magic.evaluation.compare import fetch, results_match
from paysql_magic.plans.schema import plan_schema
from paysql_magic.prompt import estimate_tokens
from paysql_magic.providers.gemini import GeminiProvider
from paysql_magic.providers.ollama import OllamaProvider
from paysql_magic.providers.structured import REPLY_SCHEMA
from paysql_magic.semantic.source import model_for
from paysql_magic.semantic.values import sampled

if TYPE_CHECKING:
    from loopback import Loopback

pytest_plugins = ["loopback"]
pytestmark = pytest.mark.usefixtures("forget_what_this_module_cached")

PLAN = core.Generation(mode="plan", fresh=True)
AUTO = core.Generation(mode="auto", fresh=True)
VOLUME_BY_CITY_YESTERDAY = {
    "needs_sql": None,
    "measures": [{"measure": "volume"}],
    "by": ["city"],
    "filters": [],
    "period": {"kind": "yesterday"},
}
GOLD = (
    "SELECT m.city, SUM(t.amount_kzt) AS total_volume FROM transactions t JOIN merchants m USING (merchant_id) "
    "WHERE t.transaction_ts >= current_date - 1 AND t.transaction_ts < current_date GROUP BY m.city"
)


def _audited_mode(engine, call_id: str) -> str | None:
    from sqlalchemy import text

    from paysql_magic.audit import AUDIT_QUALIFIED

    with engine.connect() as conn:
        return conn.execute(text(f"SELECT mode FROM {AUDIT_QUALIFIED} WHERE call_id = :c"), {"c": call_id}).scalar()


def _enum(schema: dict, dimension: str) -> list[str]:
    filters = schema["properties"]["filters"]["items"]["anyOf"]
    spec = next(f for f in filters if f["properties"]["dimension"]["enum"] == [dimension])
    return spec["properties"]["values"]["items"].get("enum", [])


def test_ollama_fills_a_plan_that_compiles_to_the_gold_answer(
    ollama_server: Loopback, reader_engine, admin_engine
) -> None:
    ollama_server.reply("chat", ollama_server.ollama_chat(json.dumps(VOLUME_BY_CITY_YESTERDAY)))
    result = core.ask("Оборот по городам за вчера", reader_engine, provider=OllamaProvider(host=ollama_server.url),
                      generation=PLAN)  # fmt: skip
    [request] = ollama_server.requests
    schema = request.body["format"]
    assert schema != REPLY_SCHEMA and "Almaty" in _enum(schema, "city") and "declined" in _enum(schema, "status")
    assert "volume" in schema["properties"]["measures"]["items"]["properties"]["measure"]["enum"]
    assert "Question: Оборот по городам за вчера" in request.body["messages"][-1]["content"]
    assert (result.mode, result.plan) == ("plan", "total_volume | by city | yesterday")
    assert _audited_mode(admin_engine, result.call_id) == "plan"
    assert results_match(fetch(reader_engine, GOLD), fetch(reader_engine, result.sql), False, GOLD)


def test_gemini_gets_the_plan_schema_as_response_json_schema(gemini_server: Loopback, reader_engine) -> None:
    plan = {**VOLUME_BY_CITY_YESTERDAY, "filters": [{"dimension": "status", "values": ["declined"], "negated": False}]}
    gemini_server.reply("gemini", gemini_server.gemini_text(json.dumps(plan)))
    gemini = GeminiProvider(api_key="test-key-not-real", base_url=gemini_server.url, attempts=1)
    result = core.ask("Declined volume by city yesterday", reader_engine, provider=gemini, generation=PLAN)
    config = gemini_server.requests[0].body["generationConfig"]
    assert "Almaty" in _enum(config["responseJsonSchema"], "city")
    assert (
        "status IN ('declined')" in result.sql.replace("= 'declined'", "IN ('declined')") or "'declined'" in result.sql
    )
    assert result.plan == "total_volume | by city | status=declined | yesterday"


def test_a_value_outside_the_enumerations_is_refused_before_any_sql(ollama_server: Loopback, reader_engine) -> None:
    plan = {**VOLUME_BY_CITY_YESTERDAY, "filters": [{"dimension": "city", "values": ["Gotham"], "negated": False}]}
    ollama_server.always("chat", ollama_server.ollama_chat(json.dumps(plan)))
    with pytest.raises(PaysqlError) as error:
        core.ask("Оборот в Готэме", reader_engine, provider=OllamaProvider(host=ollama_server.url), generation=PLAN)
    assert "Gotham" in str(error.value) and "\n" not in str(error.value)
    assert len(ollama_server.requests) == 3  # the plan, then two repairs naming the nearest cities
    assert "refused" in ollama_server.requests[1].body["messages"][-1]["content"]
    assert "Almaty" in ollama_server.requests[1].body["messages"][-1]["content"] or "nearest" in str(error.value)


def test_an_unknown_measure_is_refused_too(ollama_server: Loopback, reader_engine) -> None:
    plan = {**VOLUME_BY_CITY_YESTERDAY, "measures": [{"measure": "profit"}]}
    ollama_server.always("chat", ollama_server.ollama_chat(json.dumps(plan)))
    with pytest.raises(PaysqlError, match="does not fit this database"):
        core.ask("Profit by city", reader_engine, provider=OllamaProvider(host=ollama_server.url), generation=PLAN)


def test_needs_sql_falls_back_to_sql_in_auto_mode(ollama_server: Loopback, reader_engine, admin_engine) -> None:
    needs = {"needs_sql": "a running total", "measures": [], "by": [], "filters": [], "period": None}
    sql = "SELECT count(*) AS n FROM transactions"
    reply = {"sql": sql, "tables": ["transactions"], "assumptions": [], "needs_clarification": None}
    ollama_server.reply(
        "chat", ollama_server.ollama_chat(json.dumps(needs)), ollama_server.ollama_chat(json.dumps(reply))
    )
    result = core.ask("Running total of payments", reader_engine, provider=OllamaProvider(host=ollama_server.url),
                      generation=AUTO)  # fmt: skip
    assert [r.body["format"] == REPLY_SCHEMA for r in ollama_server.requests] == [False, True]
    assert (result.mode, result.sql_reason) == ("sql", "the model says this needs SQL: a running total")
    assert _audited_mode(admin_engine, result.call_id) == "sql"
    with pytest.raises(Declined, match="needs SQL"):
        ollama_server.reply("chat", ollama_server.ollama_chat(json.dumps(needs)))
        core.ask("Running total", reader_engine, provider=OllamaProvider(host=ollama_server.url), generation=PLAN)


def test_the_plan_schema_names_a_company_database(company_databases, ollama_server: Loopback) -> None:
    company = company_databases["acquiring"]
    schema = core.introspect(company.reader)
    model, _ = model_for(company.reader, schema)
    plan = plan_schema(model, sampled(model, schema))
    assert "Almaty" in _enum(plan, "city") and "FAIL" in _enum(plan, "status") and "declined" in _enum(plan, "status")
    ollama_server.reply("chat", ollama_server.ollama_chat(json.dumps(
        {"needs_sql": None, "measures": [{"measure": "volume"}], "by": [], "period": {"kind": "yesterday"},
         "filters": [{"dimension": "status", "values": ["approved"], "negated": False}]}
    )))  # fmt: skip
    result = core.ask("Approved volume yesterday", company.reader, provider=OllamaProvider(host=ollama_server.url),
                      generation=PLAN, source="eval")  # fmt: skip
    assert "'SUCCESS'" in result.sql and "/ 100.0" in result.sql and "acquiring.payments" in result.sql


def test_plan_prompt_and_schema_fit_the_budget_on_300_tables(company_databases) -> None:
    company = company_databases["retail"]  # 84 tables, 80 of them unrelated
    schema = core.introspect(company.reader)
    model, _ = model_for(company.reader, schema)
    assert estimate_tokens(json.dumps(plan_schema(model), ensure_ascii=False)) < core.DEFAULT_GENERATION.budget_tokens


def test_verified_examples_reach_the_model_as_plans(ollama_server: Loopback, reader_engine) -> None:
    from paysql_magic import examples
    from paysql_magic.demo import demo_model
    from paysql_magic.providers.base import Prompt
    from paysql_magic.providers.offline import OfflineProvider

    question = "Топ 5 мерчантов по обороту за неделю"
    sql = OfflineProvider().generate(Prompt(question, core.introspect(reader_engine), "", model=demo_model()))
    examples.add(core.store_engine(reader_engine, core.DEFAULT_SETTINGS), question, sql, "verify")
    ollama_server.reply("chat", ollama_server.ollama_chat(json.dumps(VOLUME_BY_CITY_YESTERDAY)))
    core.ask("Топ 3 мерчанта по обороту за вчера", reader_engine, provider=OllamaProvider(host=ollama_server.url),
             generation=PLAN)  # fmt: skip
    sent = ollama_server.requests[0].body["messages"][-1]["content"]
    assert f"Question: {question}\nPlan: " in sent and '"by": ["merchant"]' in sent and '"limit": 5' in sent


@pytest.mark.parametrize(
    "question",
    ["Оборот по городам за вчера", "Доля отклоненных транзакций по каналам за неделю", "Сравни оборот сегодня и вчера",
     "Week-over-week change in volume for the last 4 weeks", "Какие мерчанты не провели транзакций сегодня",
     "Средний чек в Алматы кроме ATM за последние 30 дней"],
)  # fmt: skip
def test_an_offline_intent_round_trips_through_its_plan(question: str, reader_engine) -> None:
    from paysql_magic.demo import demo_model
    from paysql_magic.plans.compile import from_intent, to_intent
    from paysql_magic.providers.offline.compose import to_sql
    from paysql_magic.providers.offline.provider import parser_for

    schema = core.introspect(reader_engine)
    model = demo_model()
    intent = parser_for(model, schema).parse(question)
    plan = from_intent(intent)
    again = to_intent(plan, model, plan_schema(model, sampled(model, schema)), lambda dimension, value: None)
    assert to_sql(model, again) == to_sql(model, intent)


def test_explain_reads_from_the_plan() -> None:
    from paysql_magic.explain import explain
    from paysql_magic.providers.offline import OfflineProvider

    text = explain(
        "Оборот по городам за вчера", "SELECT 1", OfflineProvider(), plan="total_volume | by city | yesterday"
    )
    assert text.startswith("Plan: total_volume | by city | yesterday.\n")


def test_plan_prompt_and_schema_fit_the_budget_on_a_300_table_database(admin_url) -> None:
    from sqlalchemy import create_engine, text

    from paysql_magic.providers.base import Prompt
    from paysql_magic.providers.planned import _plan_text

    engine = create_engine(fresh_database(admin_url, "plan_300"))
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE merchants (merchant_id int PRIMARY KEY, name text, city text)"))
            payments = (
                "CREATE TABLE payments (payment_id bigint PRIMARY KEY, created_at timestamptz NOT NULL, "
                "amount numeric(14,2) NOT NULL, status text, merchant_id int REFERENCES merchants)"
            )
            conn.execute(text(payments))
            for i in range(298):
                conn.execute(text(f"CREATE TABLE unrelated_{i} (id int PRIMARY KEY, status text, amount numeric, "
                                  f"created_at timestamptz, note text)"))  # fmt: skip
        schema = core.introspect(engine, refresh=True)
        assert len(schema.tables) == 300
        model, _ = model_for(engine, schema)
        plan = plan_schema(model, sampled(model, schema))
        text_ = _plan_text(Prompt("Оборот по городам за вчера", schema, "", model=model))
        assert estimate_tokens(json.dumps(plan, ensure_ascii=False) + text_) < core.DEFAULT_GENERATION.budget_tokens
    finally:
        engine.dispose()
        drop_database(admin_url, "plan_300")
