"""The demo database on a real PostgreSQL: schema, values, shape, time, determinism, reuse and the reader role."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.pool import NullPool

from paysql_magic.demo import prepare_database, start_demo
from paysql_magic.demo.mcc import CITIES, MCC_CODES
from paysql_magic.errors import ConfigError

SCRATCH_ROWS = 3_000
DATA_TABLES = ("customers", "mcc_codes", "merchants", "transactions")
PAYSQL_TABLES = ("api_keys", "audit_head", "call_starts", "query_audit_log", "query_cache", "verified_examples")
COLUMNS = {
    "mcc_codes": [("mcc_code", "integer"), ("mcc_category", "text"), ("description", "text")],
    "merchants": [
        ("merchant_id", "integer"),
        ("merchant_name", "text"),
        ("mcc_code", "integer"),
        ("city", "text"),
        ("registered_at", "date"),
    ],
    "customers": [
        ("customer_id", "integer"),
        ("full_name", "text"),
        ("city", "text"),
        ("segment", "text"),
        ("created_at", "date"),
    ],
    "transactions": [
        ("transaction_id", "bigint"),
        ("transaction_ts", "timestamp with time zone"),
        ("customer_id", "integer"),
        ("merchant_id", "integer"),
        ("amount", "numeric(14,2)"),
        ("currency", "character(3)"),
        ("amount_kzt", "numeric(14,2)"),
        ("card_type", "text"),
        ("channel", "text"),
        ("status", "text"),
    ],
}
CITY_NAMES = {name for name, _ in CITIES}


def _all(engine: Engine, query: str, **params) -> list:
    with engine.connect() as conn:
        return conn.execute(text(query), params).all()


def _one(engine: Engine, query: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(query), params).scalar_one()


def _values(engine: Engine, table: str, column: str) -> set:
    return {row[0] for row in _all(engine, f"SELECT DISTINCT {column} FROM {table}")}


def _fingerprint(engine: Engine, table: str, where: str = "true", **params) -> tuple[int, str]:
    """Row count and an order-independent digest of the rows (a multiset)."""
    query = f"SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t WHERE {where}"
    with engine.connect() as conn:
        return tuple(conn.execute(text(query), params).one())


# --- schema -------------------------------------------------------------------------------------------------


def test_public_holds_the_four_tables_and_paysql_its_own(admin_engine):
    tables = _all(admin_engine, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert {t for (t,) in tables} == set(DATA_TABLES)
    own = _all(admin_engine, "SELECT tablename FROM pg_tables WHERE schemaname = 'paysql'")
    assert {t for (t,) in own} == set(PAYSQL_TABLES)
    assert _one(admin_engine, "SELECT count(*) FROM pg_views WHERE schemaname = 'public'") == 0


@pytest.mark.parametrize("table", list(COLUMNS))
def test_columns_have_the_contracted_names_and_types(admin_engine, table):
    columns = _all(
        admin_engine,
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = CAST(:t AS regclass) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        t=f"public.{table}",
    )
    assert [tuple(c) for c in columns] == COLUMNS[table]


def test_keys_and_indexes(admin_engine):
    constraints = {
        (table, kind, definition)
        for table, kind, definition in _all(
            admin_engine,
            "SELECT conrelid::regclass::text, contype::text, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> ALL(:own) "
            "AND contype IN ('p', 'u', 'f')",
            own=list(PAYSQL_TABLES),
        )
    }
    assert constraints == {
        ("mcc_codes", "p", "PRIMARY KEY (mcc_code)"),
        ("merchants", "p", "PRIMARY KEY (merchant_id)"),
        ("merchants", "u", "UNIQUE (merchant_name)"),
        ("merchants", "f", "FOREIGN KEY (mcc_code) REFERENCES mcc_codes(mcc_code)"),
        ("customers", "p", "PRIMARY KEY (customer_id)"),
        ("transactions", "p", "PRIMARY KEY (transaction_id)"),
        ("transactions", "f", "FOREIGN KEY (customer_id) REFERENCES customers(customer_id)"),
        ("transactions", "f", "FOREIGN KEY (merchant_id) REFERENCES merchants(merchant_id)"),
    }
    indexed = {
        (table, definition.split("USING btree ")[1])
        for table, definition in _all(
            admin_engine, "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public'"
        )
    }
    assert {
        ("transactions", "(transaction_ts)"),
        ("transactions", "(merchant_id)"),
        ("transactions", "(customer_id)"),
        ("merchants", "(city)"),
        ("merchants", "(mcc_code)"),
    } <= indexed
    analyzed = _all(admin_engine, "SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = 'public'")
    assert set(DATA_TABLES) <= {t for (t,) in analyzed}


def test_every_table_and_column_has_a_comment(admin_engine):
    missing = _all(
        admin_engine,
        "SELECT c.relname, a.attname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
        "WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY(:tables) AND a.attnum > 0 "
        "AND NOT a.attisdropped AND coalesce(col_description(c.oid, a.attnum), '') = ''",
        tables=list(DATA_TABLES),
    )
    assert missing == []
    for table in DATA_TABLES:
        assert len(_one(admin_engine, "SELECT obj_description(CAST(:t AS regclass), 'pg_class')", t=table)) > 20
    amount_kzt = _one(admin_engine, "SELECT col_description('transactions'::regclass, 7)")
    assert "tenge" in amount_kzt and "sums" in amount_kzt


def test_metadata_is_kept_outside_public(admin_engine, demo):
    meta = _all(
        admin_engine, "SELECT anchor_date, rows, seed, row_count, generated_at, cutoff FROM paysql_meta.dataset"
    )
    assert len(meta) == 1
    anchor_date, rows, seed, row_count, generated_at, cutoff = meta[0]
    assert (anchor_date, rows) == (demo.anchor_date, demo.rows)
    assert seed and row_count == _one(admin_engine, "SELECT count(*) FROM transactions")
    assert cutoff <= generated_at


# --- values and shape ---------------------------------------------------------------------------------------


def test_reference_data(admin_engine):
    mcc = _all(admin_engine, "SELECT mcc_code, mcc_category, description FROM mcc_codes ORDER BY mcc_code")
    assert [tuple(m) for m in mcc] == sorted(m[:3] for m in MCC_CODES)
    categories = _values(admin_engine, "mcc_codes", "mcc_category")
    assert {"Groceries", "Restaurants", "Fuel", "Transport", "Pharmacies", "Electronics"} <= categories
    assert {"Clothing", "Travel", "Telecom", "Cash withdrawal", "Entertainment", "Utilities"} <= categories
    assert _one(admin_engine, "SELECT mcc_category FROM mcc_codes WHERE mcc_code = 5411") == "Groceries"
    assert _one(admin_engine, "SELECT count(*) FROM merchants") == 300
    assert _one(admin_engine, "SELECT count(*) FROM customers") == 5_000
    assert _values(admin_engine, "merchants", "city") == CITY_NAMES
    assert _values(admin_engine, "customers", "city") == CITY_NAMES
    assert _values(admin_engine, "customers", "segment") == {"retail", "premium", "business"}
    by_city = _all(admin_engine, "SELECT city FROM merchants GROUP BY city ORDER BY count(*) DESC LIMIT 2")
    assert {c for (c,) in by_city} == {"Almaty", "Astana"}
    names = _values(admin_engine, "merchants", "merchant_name")
    assert {"Kaspi Magazin", "Chocofood", "Small Almaty 1", "Magnum Almaty 1"} <= names
    unused = _one(
        admin_engine,
        "SELECT count(*) FROM mcc_codes c WHERE NOT EXISTS (SELECT FROM merchants m WHERE m.mcc_code = c.mcc_code)",
    )
    assert unused == 0


def test_transaction_value_sets(admin_engine):
    assert _values(admin_engine, "transactions", "currency") == {"KZT", "USD", "EUR", "RUB"}
    assert _values(admin_engine, "transactions", "status") == {"approved", "declined", "reversed"}
    assert _values(admin_engine, "transactions", "channel") == {"POS", "ECOM", "ATM"}
    assert _values(admin_engine, "transactions", "card_type") == {"VISA", "MASTERCARD", "UNIONPAY"}
    atm_outside_cash = _one(
        admin_engine,
        "SELECT count(*) FROM transactions t JOIN merchants m USING (merchant_id) "
        "WHERE (t.channel = 'ATM') <> (m.mcc_code = 6011)",
    )
    assert atm_outside_cash == 0


def test_realistic_shape(admin_engine):
    share = _all(
        admin_engine,
        "SELECT avg((currency = 'KZT')::int), avg((status = 'approved')::int), avg((status = 'declined')::int) "
        "FROM transactions",
    )[0]
    kzt, approved, declined = map(float, share)
    assert 0.8 < kzt < 0.9
    assert 0.85 < approved < 0.95
    assert 0.04 < declined < 0.10
    weekday, weekend = _all(
        admin_engine,
        "SELECT avg(n) FILTER (WHERE dow BETWEEN 1 AND 5), avg(n) FILTER (WHERE dow IN (0, 6)) FROM ("
        "SELECT extract(dow FROM transaction_ts) AS dow, count(*) AS n FROM transactions "
        "WHERE transaction_ts < current_date GROUP BY transaction_ts::date, 1) AS days",
    )[0]
    assert float(weekday) > 1.1 * float(weekend)
    evening, night = _all(
        admin_engine,
        "SELECT count(*) FILTER (WHERE extract(hour FROM transaction_ts) BETWEEN 18 AND 21), "
        "count(*) FILTER (WHERE extract(hour FROM transaction_ts) BETWEEN 2 AND 5) FROM transactions",
    )[0]
    assert evening > 10 * night
    top, total = _all(
        admin_engine,
        "SELECT max(n), sum(n) FROM (SELECT count(*) AS n FROM transactions GROUP BY merchant_id) AS m",
    )[0]
    assert top > total / 20  # a few large merchants


def test_amounts_in_tenge(admin_engine):
    assert _one(admin_engine, "SELECT count(*) FROM transactions WHERE currency = 'KZT' AND amount <> amount_kzt") == 0
    assert _one(admin_engine, "SELECT count(*) FROM transactions WHERE amount <= 0 OR amount_kzt <= 0") == 0
    rates = dict(
        _all(
            admin_engine,
            "SELECT currency, avg(amount_kzt / amount) FROM transactions WHERE currency <> 'KZT' GROUP BY 1",
        )
    )
    assert 400 < rates["USD"] < 650 and 450 < rates["EUR"] < 750 and 4 < rates["RUB"] < 9
    cash = _one(admin_engine, "SELECT count(*) FROM transactions WHERE channel = 'ATM' AND amount % 1000 <> 0")
    assert cash == 0


def test_nobody_pays_before_they_exist(admin_engine):
    early = _one(
        admin_engine,
        "SELECT count(*) FROM transactions t JOIN customers c USING (customer_id) JOIN merchants m USING (merchant_id) "
        "WHERE t.transaction_ts::date < c.created_at OR t.transaction_ts::date < m.registered_at",
    )
    assert early == 0


# --- time ---------------------------------------------------------------------------------------------------


def test_database_time_zone_is_almaty_and_anchor_is_its_today(reader_engine, demo):
    assert _one(reader_engine, "SHOW timezone") == "Asia/Almaty"
    assert _one(reader_engine, "SELECT current_date") == demo.anchor_date


def test_today_and_yesterday_have_data_and_nothing_is_in_the_future(reader_engine, demo):
    today = "transaction_ts >= current_date AND transaction_ts < current_date + 1"
    yesterday = "transaction_ts >= current_date - 1 AND transaction_ts < current_date"
    assert _one(reader_engine, f"SELECT count(*) FROM transactions WHERE {today}") > 0
    assert _one(reader_engine, f"SELECT count(*) FROM transactions WHERE {yesterday}") > 50
    first, last, days, count = _all(
        reader_engine,
        "SELECT min(transaction_ts), max(transaction_ts), count(DISTINCT transaction_ts::date), count(*) "
        "FROM transactions",
    )[0]
    assert last <= _one(reader_engine, "SELECT now()")
    assert first.date() == demo.anchor_date - timedelta(days=179)
    assert days == 180
    assert demo.rows * 0.99 < count <= demo.rows  # only the rest of today is missing


# --- reuse, regeneration, determinism -----------------------------------------------------------------------


def test_reuse_does_not_regenerate(demo, admin_engine):
    generated_at = _one(admin_engine, "SELECT generated_at FROM paysql_meta.dataset")
    started = time.perf_counter()
    if demo.data_dir is None:
        again = prepare_database(demo.admin_url, rows=demo.rows)
    else:
        again = start_demo(demo.data_dir, rows=demo.rows)
        assert again.data_dir == demo.data_dir
    assert time.perf_counter() - started < 5
    assert not again.created
    assert (again.admin_url, again.reader_url.split("@")[1], again.anchor_date) == (
        demo.admin_url,
        demo.reader_url.split("@")[1],
        demo.anchor_date,
    )
    assert _one(admin_engine, "SELECT generated_at FROM paysql_meta.dataset") == generated_at


def _with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


@pytest.fixture(scope="module")
def scratch(admin_engine, demo) -> Iterator[tuple[str, Engine]]:
    """A second database on the same server, for regenerating without disturbing the shared one."""
    name = f"paysql_scratch_{os.getpid()}"
    with admin_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = _with_database(demo.admin_url, name)
    engine = create_engine(url, poolclass=NullPool)
    yield url, engine
    engine.dispose()
    with admin_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def test_stale_anchor_regenerates_the_same_data_up_to_the_cutoff(scratch, admin_engine):
    url, engine = scratch
    first = prepare_database(url, rows=SCRATCH_ROWS, reset=True)
    assert first.created
    cutoff = _one(engine, "SELECT cutoff FROM paysql_meta.dataset")
    before = {t: _fingerprint(engine, t) for t in ("mcc_codes", "merchants", "customers")}
    transactions = _fingerprint(engine, "transactions")

    assert not prepare_database(url, rows=SCRATCH_ROWS).created
    with engine.begin() as conn:  # as if the dataset had been made yesterday
        conn.execute(text("UPDATE paysql_meta.dataset SET anchor_date = anchor_date - 1"))
    again = prepare_database(url, rows=SCRATCH_ROWS)
    assert again.created and again.anchor_date == first.anchor_date
    assert {t: _fingerprint(engine, t) for t in before} == before
    assert _fingerprint(engine, "transactions", "transaction_ts <= :c", c=cutoff) == transactions
    # merchants and customers do not depend on the number of transactions
    assert _fingerprint(admin_engine, "merchants") == before["merchants"]
    assert _fingerprint(admin_engine, "customers") == before["customers"]


def test_rows_or_reset_regenerate(scratch):
    url, engine = scratch
    prepare_database(url, rows=SCRATCH_ROWS)
    assert prepare_database(url, rows=SCRATCH_ROWS, reset=True).created
    smaller = prepare_database(url, rows=SCRATCH_ROWS // 2)
    assert smaller.created and smaller.rows == SCRATCH_ROWS // 2
    assert _one(engine, "SELECT count(*) FROM transactions") <= SCRATCH_ROWS // 2


@pytest.mark.parametrize("days_ago", [30, None])  # None: 2024-03-15, whose window has the 25-hour 29 February
def test_past_anchor_covers_whole_days_and_the_future_is_refused(scratch, days_ago):
    url, engine = scratch
    today = _one(engine, "SELECT current_date")
    anchor = date(2024, 3, 15) if days_ago is None else today - timedelta(days=days_ago)
    past = prepare_database(url, rows=SCRATCH_ROWS, anchor_date=anchor)
    assert past.created and past.anchor_date == anchor
    first, last, days, count = _all(
        engine,
        "SELECT min(transaction_ts::date), max(transaction_ts::date), count(DISTINCT transaction_ts::date), "
        "count(*) FROM transactions",
    )[0]
    assert (first, last, days, count) == (past.anchor_date - timedelta(days=179), past.anchor_date, 180, SCRATCH_ROWS)
    assert _one(engine, "SELECT max(registered_at) FROM merchants") <= past.anchor_date
    with pytest.raises(ConfigError, match="after the database's current date"):
        prepare_database(url, rows=SCRATCH_ROWS, anchor_date=today + timedelta(days=1))


# --- the reader role ----------------------------------------------------------------------------------------


def test_reader_is_a_plain_login_role(admin_engine):
    flags = _all(
        admin_engine,
        "SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls "
        "FROM pg_roles WHERE rolname = 'paysql_reader'",
    )
    assert [tuple(f) for f in flags] == [(True, False, False, False, False, False)]


def test_reader_can_read_the_data(reader_engine):
    assert _one(reader_engine, "SELECT current_user") == "paysql_reader"
    for table in DATA_TABLES:
        assert _one(reader_engine, f"SELECT count(*) > 0 FROM {table}")


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO mcc_codes VALUES (1234, 'x', 'x')",
        "UPDATE merchants SET city = 'Almaty'",
        "DELETE FROM customers",
        "DELETE FROM transactions",
        "UPDATE transactions SET amount_kzt = 0",
        "TRUNCATE transactions",
        "CREATE TABLE public.evil (id int)",
        "CREATE TEMP TABLE evil (id int)",
        "SELECT * FROM paysql_meta.dataset",
        "UPDATE paysql.query_audit_log SET status = 'ok'",
        "DELETE FROM paysql.query_audit_log",
        "SELECT * FROM paysql.query_audit_log",
        "SELECT * FROM paysql.query_cache",
        "SELECT * FROM paysql.verified_examples",
        "SELECT * FROM paysql.call_starts",
        "SELECT * FROM paysql.api_keys",
        "INSERT INTO paysql.query_audit_log (call_id, source, status, success) "
        "VALUES (gen_random_uuid(), 'api', 'ok', true)",
        "UPDATE paysql.audit_head SET rows = 0",
        "SELECT * FROM paysql.audit_head FOR UPDATE",
        "CREATE TABLE paysql.evil (id int)",
    ],
)
def test_reader_cannot_change_anything(reader_engine, statement):
    with reader_engine.connect() as conn, pytest.raises(ProgrammingError, match="permission denied"):
        conn.execute(text(statement))


def test_reader_appends_to_the_audit_log_through_its_function_only(reader_engine, admin_engine):
    """The reader writes a row (the server sets its user and time, whatever it sends) and cannot read it back."""
    call_id = str(uuid.uuid4())
    forged = {"call_id": call_id, "source": "api", "status": "ok", "success": True, "db_user": "postgres",
              "created_at": "2000-01-01T00:00:00Z", "row_hash": "0" * 64}  # fmt: skip
    with reader_engine.begin() as conn:
        assert conn.execute(text("SELECT paysql.audit_write(CAST(:r AS jsonb))"), {"r": json.dumps(forged)}).scalar()
    with admin_engine.connect() as conn:
        fresh = "created_at > now() - interval '1 hour' AS fresh"
        sql = f"SELECT db_user, {fresh}, row_hash FROM paysql.query_audit_log WHERE call_id = :c"
        row = conn.execute(text(sql), {"c": call_id}).one()
    assert (row.db_user, row.fresh) == ("paysql_reader", True) and row.row_hash != "0" * 64
