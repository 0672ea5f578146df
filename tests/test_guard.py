"""The guard: exactly one read-only query, functions on the allow-list, the row cap, and never a crash."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pandas as pd
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from paysql_magic.errors import SqlRefused
from paysql_magic.execute import run_query
from paysql_magic.guard import ALLOWED_FUNCTIONS, GuardedSql, check, extract_sql

DATA = Path(__file__).parent / "data"
HOSTILE = (DATA / "hostile_sql.txt").read_text(encoding="utf-8").splitlines()
ACCEPTED = (DATA / "guard_accepted.sql").read_text(encoding="utf-8").splitlines()
GOLD = [json.loads(line)["gold_sql"] for line in (DATA / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
DENIED_FUNCTIONS = ["pg_sleep", "pg_read_file", "set_config", "current_setting", "dblink", "lo_import", "nextval"]
_REASON_WORDS = {"select", "is", "not", "only", "one", "query", "a", "the", "from", "as", "on", "to", "in", "all"}


def _reason(sql: str) -> str:
    with pytest.raises(SqlRefused) as refused:
        check(sql)
    return refused.value.reason


def _names_a_word_of(reason: str, line: str) -> bool:
    words = {w.lower() for w in re.findall(r"\w+", line)} - _REASON_WORDS
    return any(re.search(rf"\b{re.escape(word)}\b", reason, re.IGNORECASE) for word in words)


@pytest.mark.parametrize("line", HOSTILE)
def test_every_hostile_line_is_refused_with_a_reason_naming_the_problem(line):
    reason = _reason(line)
    assert not reason.startswith(("unparseable", "the SQL could not be checked")), reason
    assert _names_a_word_of(reason, line), reason
    assert "\n" not in reason


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("", "the SQL is empty"),
        ("  -- only a comment\n ; ", "the SQL is empty"),
        ("SELEC count(*) FROM transactions", "unparseable SQL: Invalid expression / Unexpected token (line 1, col 12)"),
        ("SELECT 'unterminated", "unparseable SQL"),
        ("NOTIFY paysql, 'hello'", "unparseable SQL"),
        ("SELECT 1; SELECT 2", "more than one statement (SELECT; SELECT)"),
        ("INSERT INTO merchants SELECT * FROM merchants", "INSERT is not allowed"),
        ("UPDATE merchants SET city = 'x'", "UPDATE is not allowed"),
        ("DELETE FROM merchants", "DELETE is not allowed"),
        ("MERGE INTO merchants m USING merchants s ON false WHEN MATCHED THEN DELETE", "MERGE is not allowed"),
        ("WITH d AS (SELECT 1) DELETE FROM merchants", "DELETE is not allowed"),
        ("CREATE VIEW v AS SELECT 1", "CREATE is not allowed"),
        ("DROP VIEW v", "DROP is not allowed"),
        ("ALTER TABLE merchants RENAME TO m", "ALTER is not allowed"),
        ("TRUNCATE merchants", "TRUNCATE is not allowed"),
        ("GRANT SELECT ON merchants TO public", "GRANT is not allowed"),
        ("REVOKE SELECT ON merchants FROM public", "REVOKE is not allowed"),
        ("COMMENT ON TABLE merchants IS 'x'", "COMMENT is not allowed"),
        ("WITH d AS (DELETE FROM merchants RETURNING *) SELECT * FROM d", "DELETE inside a WITH clause"),
        ("WITH i AS (INSERT INTO mcc_codes VALUES (1) RETURNING 1) SELECT 1", "INSERT inside a WITH clause"),
        ("SELECT * INTO copy_of FROM merchants", "SELECT ... INTO creates a table"),
        ("COPY merchants TO STDOUT", "COPY is not allowed"),
        ("SET search_path = evil", "SET is not allowed"),
        ("RESET search_path", "RESET is not allowed"),
        ("CALL refresh_all()", "CALL is not allowed"),
        ("DO $$ BEGIN PERFORM 1; END $$", "DO is not allowed"),
        ("BEGIN", "BEGIN is not allowed"),
        ("COMMIT", "COMMIT is not allowed"),
        ("ROLLBACK", "ROLLBACK is not allowed"),
        ("PREPARE p AS SELECT 1", "PREPARE is not allowed"),
        ("EXECUTE p", "EXECUTE is not allowed"),
        ("LOCK merchants", "LOCK is not allowed"),
        ("VACUUM merchants", "VACUUM is not allowed"),
        ("ANALYZE merchants", "ANALYZE is not allowed"),
        ("LISTEN channel", "LISTEN is not allowed"),
        ("NOTIFY channel", "NOTIFY is not allowed"),
        ("EXPLAIN SELECT 1", "EXPLAIN is not allowed"),
        ("VALUES (1)", "VALUES is not allowed"),
        ("SELECT * FROM merchants FOR UPDATE", "locking clause FOR UPDATE"),
        ("SELECT * FROM merchants FOR SHARE", "locking clause FOR SHARE"),
        ("SELECT * FROM merchants FOR KEY SHARE SKIP LOCKED", "locking clause FOR KEY SHARE SKIP LOCKED"),
        ("SELECT * FROM (SELECT * FROM merchants FOR UPDATE) m", "locking clause FOR UPDATE"),
        ("SELECT pg_sleep(1)", "function pg_sleep is not allowed"),
        ("SELECT PG_SLEEP(1)", "function pg_sleep is not allowed"),
        ('SELECT "pg_sleep"(1)', "function pg_sleep is not allowed"),
        ("SELECT 1 FROM merchants WHERE pg_sleep(1) IS NULL", "function pg_sleep is not allowed"),
        ("SELECT * FROM pg_ls_dir('.')", "function pg_ls_dir is not allowed"),
        ("SELECT current_setting('data_directory')", "function current_setting is not allowed"),
        ("SELECT dblink('dbname=x', 'SELECT 1')", "function dblink is not allowed"),
        ("SELECT lo_get(1)", "function lo_get is not allowed"),
        ("SELECT pg_advisory_xact_lock(1)", "function pg_advisory_xact_lock is not allowed"),
        ("SELECT setval('s', 1)", "function setval is not allowed"),
        ("SELECT version()", "function version is not allowed"),
        ("SELECT current_user", "function current_user is not allowed"),
        ("SELECT count(*) FROM merchants WHERE city = ANY(SELECT pg_read_file('x'))", "function pg_read_file"),
        ("SELECT public.lower(city) FROM merchants", "schema-qualified function public.lower is not allowed"),
        ("SELECT * FROM pg_authid", "pg_authid is not allowed: it exposes credentials"),
        ("SELECT * FROM pg_catalog.pg_shadow", "pg_shadow is not allowed: it exposes credentials"),
        ("SELECT * FROM pg_user_mappings", "pg_user_mappings is not allowed: it exposes credentials"),
        ("SELECT * FROM pg_settings", "pg_settings is not allowed: it exposes server configuration"),
        ("SELECT query FROM pg_stat_activity", "pg_stat_activity is not allowed: it exposes other sessions' activity"),
    ],
)
def test_each_refused_class_has_a_clear_reason(sql, reason):
    assert _reason(sql).startswith(reason)


def test_a_refusal_says_what_it_refused_in_the_error_message():
    with pytest.raises(SqlRefused, match=r"^SQL refused: function pg_sleep is not allowed$"):
        check("SELECT pg_sleep(1)")


@pytest.mark.parametrize("sql", GOLD)
def test_every_gold_query_is_accepted(sql):
    assert isinstance(check(sql), GuardedSql)


@pytest.mark.parametrize("sql", ACCEPTED)
def test_analyst_queries_are_accepted(sql):
    assert isinstance(check(sql), GuardedSql)


@pytest.mark.parametrize(
    ("sql", "expected_tail"),
    [
        ("SELECT city FROM merchants", "LIMIT 1000"),
        ("SELECT city FROM merchants UNION SELECT city FROM customers", "LIMIT 1000"),
        ("WITH c AS (SELECT city FROM merchants LIMIT 5) SELECT * FROM c", "LIMIT 1000"),
        ("SELECT * FROM (SELECT city FROM merchants LIMIT 5) m", "LIMIT 1000"),
        ("(SELECT city FROM merchants)", "LIMIT 1000"),
        ("SELECT city FROM merchants ORDER BY city OFFSET 10", "LIMIT 1000\nOFFSET 10"),
    ],
)
def test_the_row_cap_is_added_when_the_outer_query_has_no_limit(sql, expected_tail):
    guarded = check(sql)
    assert guarded.limit_added
    assert guarded.sql.endswith(expected_tail)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT city FROM merchants LIMIT 5",
        "SELECT city FROM merchants LIMIT 5000",
        "SELECT city FROM merchants UNION SELECT city FROM customers LIMIT 7",
        "SELECT city FROM merchants FETCH FIRST 3 ROWS ONLY",
    ],
)
def test_an_existing_limit_is_kept(sql):
    guarded = check(sql)
    assert not guarded.limit_added
    assert "1000" not in guarded.sql


def test_no_cap_when_max_rows_is_none():
    guarded = check("SELECT city FROM merchants", max_rows=None)
    assert not guarded.limit_added
    assert "LIMIT" not in guarded.sql
    assert check("SELECT city FROM merchants", max_rows=50).sql.endswith("LIMIT 50")


def test_output_is_pretty_printed_and_stable():
    guarded = check(
        "select transaction_ts::date as day, count(*) filter (where status = 'declined') as n from transactions "
        "join merchants using (merchant_id) where transaction_ts >= current_date - 29 group by day"
    )
    assert guarded.sql.splitlines()[0] == "SELECT"
    assert "CAST(transaction_ts AS DATE) AS day" in guarded.sql
    assert "USING (merchant_id)" in guarded.sql
    assert check(guarded.sql).sql == guarded.sql


def test_sqlglot_fallback_warnings_are_not_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="sqlglot"):
        _reason("VACUUM FULL transactions")
    assert caplog.records == []


def test_deeply_nested_sql_is_refused_not_crashed():
    assert _reason("SELECT " + "(" * 5000 + "1" + ")" * 5000).startswith("the SQL could not be checked")


def _normalised(frame: pd.DataFrame) -> list[tuple[str, ...]]:
    return sorted(tuple(map(str, row)) for row in frame.itertuples(index=False))


@pytest.mark.parametrize("sql", GOLD + ACCEPTED)
def test_pretty_output_returns_what_the_original_returns(sql, reader_engine):
    """Round trip on the database: casts, intervals, FILTER, extract, USING and date_trunc keep their meaning."""
    original = run_query(reader_engine, sql, max_rows=None).frame
    guarded = run_query(reader_engine, check(sql, max_rows=None).sql, max_rows=None).frame
    assert list(guarded.columns) == list(original.columns)
    assert list(guarded.dtypes) == list(original.dtypes)
    assert _normalised(guarded) == _normalised(original)


@pytest.mark.parametrize(
    ("reply", "sql"),
    [
        (
            "Here you go:\n```sql\nSELECT count(*) FROM merchants;\n```\nIt counts merchants.",
            "SELECT count(*) FROM merchants",
        ),
        ("```SQL\nWITH c AS (SELECT 1) SELECT * FROM c\n```", "WITH c AS (SELECT 1) SELECT * FROM c"),
        ("```postgresql\nSELECT 1\n```", "SELECT 1"),
        ("Query:\n```\nSELECT city FROM merchants\n```", "SELECT city FROM merchants"),
        ("```text\nnot sql\n```\n```sql\nSELECT 2\n```", "SELECT 2"),
        ("```sql\nSELECT 3\n", "SELECT 3"),
        ("To select the top cities, run:\nSELECT city\nFROM merchants;\nThat is all.", "SELECT city\nFROM merchants"),
        ("SELECT 1 AS a\n\nThis returns one row.", "SELECT 1 AS a"),
        ("with c as (select 1) select * from c", "with c as (select 1) select * from c"),
        ("The answer is SELECT count(*) FROM merchants; it counts them.", "SELECT count(*) FROM merchants"),
    ],
)
def test_extract_sql_finds_the_query_in_a_reply(reply, sql):
    assert extract_sql(reply) == sql


@pytest.mark.parametrize("reply", ["", "I cannot answer that.", "```sql\n\n```", "Please select a period."])
def test_extract_sql_refuses_a_reply_without_sql(reply):
    with pytest.raises(SqlRefused, match="no SQL found in the reply"):
        extract_sql(reply)


# --- property tests: random input never crashes the guard ------------------------------------------------------

_TOKENS = ["SELECT", "FROM", "WHERE", "WITH", "AS", "UNION", "LIMIT", "FOR", "UPDATE", "INTO", "DELETE", "t", "x"]
_TOKENS += ["(", ")", ",", ";", "'", '"', "$$", "::", "--", "/*", "*/", "*", "1", "pg_sleep", "count", "\n"]
_FUNCTION_NAMES = sorted(ALLOWED_FUNCTIONS) + DENIED_FUNCTIONS + ["foo"]
_OPERATORS = [exp.Add, exp.Sub, exp.Mul, exp.Div, exp.EQ, exp.GT, exp.And, exp.Or, exp.Like]


def _call(name: str, args: list[exp.Expr]) -> exp.Expr:
    try:
        return exp.func(name, *args, dialect="postgres")
    except Exception:  # wrong arity for a typed function: keep it as an unknown call
        return exp.Anonymous(this=name, expressions=args)


_leaves = st.one_of(
    st.integers(-(10**6), 10**6).map(exp.Literal.number),
    st.text(alphabet="ab' %_\\", max_size=6).map(exp.Literal.string),
    st.sampled_from(["amount_kzt", "status", "city", "transaction_ts"]).map(exp.column),
    st.just(exp.null()),
)
_expressions = st.recursive(
    _leaves,
    lambda children: st.one_of(
        st.builds(_call, st.sampled_from(_FUNCTION_NAMES), st.lists(children, max_size=3)),
        st.builds(lambda op, a, b: op(this=a, expression=b), st.sampled_from(_OPERATORS), children, children),
        st.builds(lambda c, v: exp.Case(ifs=[exp.If(this=c, true=v)]), children, children),
        children.map(lambda c: exp.Not(this=c)),
    ),
    max_leaves=10,
)
_tables = st.sampled_from(["transactions", "merchants", "pg_authid", "pg_stat_activity"])


def _select(columns, table, where, limit, lock):
    query = exp.select(*columns).from_(table)
    query = query.where(where) if where is not None else query
    query = query.limit(limit) if limit is not None else query
    return query.lock(update=lock == "update") if lock else query


_selects = st.builds(
    _select,
    st.lists(_expressions, min_size=1, max_size=3),
    _tables,
    st.none() | _expressions,
    st.none() | st.integers(0, 10),
    st.none() | st.sampled_from(["update", "share"]),
)
_statements = st.one_of(
    _selects,
    st.builds(lambda a, b: exp.union(a, b), _selects, _selects),
    st.builds(lambda q, t: q.with_("d", as_=exp.delete(t, where="true").returning("*")), _selects, _tables),
    st.builds(lambda t, e: exp.update(t, {"city": e}), _tables, _expressions),
    st.builds(lambda t: exp.delete(t), _tables),
    st.builds(lambda q: exp.insert(q, "merchants"), _selects),
)


def _check_never_crashes(sql: str) -> GuardedSql | None:
    try:
        return check(sql)
    except SqlRefused as refused:
        assert refused.reason and "\n" not in refused.reason
        return None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_random_text_never_crashes_the_guard(text):
    _check_never_crashes(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS), max_size=30).map(" ".join))
def test_random_token_soup_never_crashes_the_guard(text):
    _check_never_crashes(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_statements)
def test_random_sqlglot_trees_never_crash_and_denied_calls_never_pass(tree):
    sql = tree.sql(dialect="postgres")
    guarded = _check_never_crashes(sql)
    if guarded is None:
        return
    assert check(guarded.sql).sql == guarded.sql  # what runs passes the guard again, unchanged
    statements = sqlglot.parse(guarded.sql, dialect="postgres")
    assert len(statements) == 1 and isinstance(statements[0], exp.Query)  # one read-only query, nothing else
    pretty = statements[0].sql(dialect="postgres", pretty=True)
    assert sqlglot.parse_one(pretty, dialect="postgres") == statements[0]  # round trip: same tree
    assert not any(re.search(rf"\b{name}\s*\(", sql, re.IGNORECASE) for name in DENIED_FUNCTIONS)
    assert not re.search(r"\b(pg_authid|pg_stat_activity|DELETE|UPDATE|INSERT|FOR SHARE)\b", guarded.sql)


@pytest.mark.parametrize(
    "reply",
    [
        "SELECT 1; COMMIT; DELETE FROM transactions",
        "CREATE TABLE stolen AS SELECT * FROM customers",
        "PREPARE q AS SELECT * FROM customers",
        "Here you go: SELECT 1; DROP TABLE transactions",
        "Sure.\nSELECT count(*) FROM merchants;\nDELETE FROM merchants;",
    ],
)
def test_extraction_never_salvages_a_select_out_of_a_hostile_reply(reply):
    """The whole hostile statement reaches the guard and is refused; it is never cut down to a SELECT that runs."""
    with pytest.raises(SqlRefused):
        check(extract_sql(reply))


def test_the_verdict_is_memoised_per_sql_text_and_cap(monkeypatch) -> None:
    from paysql_magic import guard as g

    sql = "SELECT count(*) AS memo_probe FROM transactions WHERE amount > 77"
    first = g.check(sql, max_rows=10)
    calls = []
    monkeypatch.setattr(g, "_check", lambda *a: calls.append(a))
    assert g.check(sql, max_rows=10) is first and not calls  # no second parse
    g.check(sql, max_rows=11)
    assert calls == [(sql, 11)]  # another cap is another verdict


def test_a_memoised_refusal_is_refused_again_with_the_same_reason() -> None:
    from paysql_magic import guard as g
    from paysql_magic.errors import SqlRefused

    reasons = []
    for _ in range(2):
        with pytest.raises(SqlRefused) as refused:
            g.check("DELETE FROM transactions WHERE amount > 77", max_rows=10)
        reasons.append(str(refused.value))
    assert reasons[0] == reasons[1] and reasons[0]
