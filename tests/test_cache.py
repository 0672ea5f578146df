"""The query cache and the verified examples, on the real test database."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from paysql_magic import cache, core, examples
from paysql_magic.demo import demo_model
from paysql_magic.providers.scripted import ScriptedProvider

COUNT = "SELECT count(*) AS n FROM merchants"


def _rows(engine, question: str) -> list:
    with engine.connect() as conn:
        sql = "SELECT * FROM paysql.query_audit_log WHERE question = :q ORDER BY id"
        return conn.execute(text(sql), {"q": question}).mappings().all()


def _question(words: str) -> str:
    return f"{words} {uuid.uuid4().hex[:8]}?"


def test_cache_hit_makes_no_provider_call_and_is_audited_as_cached(reader_engine, admin_engine):
    question = _question("How many merchants")
    provider = ScriptedProvider(COUNT, model="m-cache")
    first = core.ask(question, reader_engine, provider=provider)
    again = core.ask(f"  {question.upper()}  ", reader_engine, provider=provider)  # normalised: same key
    assert len(provider.prompts) == 1
    assert again.sql == first.sql and again.cached and not first.cached
    assert int(again.frame["n"].iloc[0]) == 300
    rows = _rows(admin_engine, question) + _rows(admin_engine, question.upper())
    assert [(r["cached"], r["attempts"], r["status"]) for r in rows] == [(False, 1, "ok"), (True, 0, "ok")]
    assert rows[1]["llm_time_ms"] is None


def test_cache_key_holds_provider_and_model(reader_engine):
    question = _question("How many merchants")
    core.ask(question, reader_engine, provider=ScriptedProvider(COUNT, model="a"))
    other = ScriptedProvider(COUNT, model="b")
    assert not core.ask(question, reader_engine, provider=other).cached
    assert len(other.prompts) == 1


def test_fresh_regenerates_and_replaces_the_entry(reader_engine):
    question = _question("How many merchants")
    provider = ScriptedProvider([COUNT, "SELECT count(*) AS n FROM mcc_codes"], model="m-fresh")
    core.ask(question, reader_engine, provider=provider)
    fresh = core.ask(question, reader_engine, provider=provider, generation=core.Generation(fresh=True))
    assert len(provider.prompts) == 2 and not fresh.cached and "mcc_codes" in fresh.sql
    key = core.fingerprint(core.introspect(reader_engine), demo_model())
    assert "mcc_codes" in cache.lookup(reader_engine, question, key, "scripted", "m-fresh")
    rerun = core.ask(question, reader_engine, provider=provider)
    assert rerun.cached and rerun.sql == fresh.sql and len(provider.prompts) == 2


def test_evaluation_runs_bypass_the_cache(reader_engine):
    question = _question("How many merchants")
    provider = ScriptedProvider(COUNT, model="m-eval")
    core.ask(question, reader_engine, provider=provider)
    assert not core.ask(question, reader_engine, provider=provider, source="eval").cached
    assert len(provider.prompts) == 2


def _verified(engine, question: str) -> list[examples.Example]:
    return [e for e in examples.load(engine) if e.question == question]


def test_only_vouched_sql_becomes_an_example(reader_engine):
    generated = _question("Number of merchants")
    result = core.ask(generated, reader_engine, provider=ScriptedProvider(COUNT, model="m-ex"))
    assert _verified(reader_engine, generated) == []  # unreviewed generated SQL never becomes an example

    core.verify(result, reader_engine)
    assert _verified(reader_engine, generated) == [examples.Example(generated, result.sql)]

    edited = _question("Number of MCC codes")
    core.run_sql("SELECT count(*) AS n FROM mcc_codes", reader_engine, question=edited)
    assert _verified(reader_engine, edited)[0].sql == "SELECT count(*) AS n FROM mcc_codes"
    core.run_sql("SELECT 1 AS one", reader_engine, question=_question("api call"), source="api")
    assert not [e for e in examples.load(reader_engine) if e.question.startswith("api call")]

    provider = ScriptedProvider(COUNT, model="m-ex2")
    core.ask(f"{generated} please", reader_engine, provider=provider)
    assert f"Question: {generated}\n```sql\n{result.sql}\n```" in provider.prompts[0].text


@pytest.mark.parametrize("statement", ["DELETE FROM {}", "SELECT * FROM {}", "UPDATE {} SET sql = 'x'"])
def test_reader_keeps_cache_and_examples_but_cannot_list_or_delete(reader_engine, statement):
    """Through paysql's functions only: the cache by key, the examples; never every caller's questions."""
    for table in (cache.CACHE_QUALIFIED, examples.EXAMPLES_QUALIFIED):
        with reader_engine.connect() as conn, pytest.raises(ProgrammingError, match="permission denied"):
            conn.execute(text(statement.format(table)))
