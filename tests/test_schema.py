"""Schema introspection on the real test database, and on a scratch database of its own: several schemas, views,
materialized views, partitioned tables, a table and a schema the reader may not read, analysed and unanalysed tables."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from paysql_magic.errors import SchemaError
from paysql_magic.schema import Schema, introspect, quote_identifier
from paysql_magic.validate import ValidationError, check_names, closest_names


def test_schema_lists_the_analysed_tables_with_keys_comments_and_values(reader_engine):
    schema = introspect(reader_engine, refresh=True)
    assert [t.name for t in schema.tables] == ["customers", "mcc_codes", "merchants", "transactions"]
    assert schema.timezone == "Asia/Almaty"
    transactions = schema.table("transactions")
    assert transactions.primary_key == ("transaction_id",)
    assert {fk.ref_table for fk in transactions.foreign_keys} == {"customers", "merchants"}
    assert transactions.comment
    columns = {c.name: c for c in transactions.columns}
    assert set(columns["currency"].values) == {"KZT", "USD", "EUR", "RUB"}
    assert set(columns["status"].values) == {"approved", "declined", "reversed"}
    assert columns["amount_kzt"].comment
    assert columns["amount_kzt"].values == ()  # numbers are not sampled
    ddl = schema.to_ddl()
    assert "CREATE TABLE transactions (" in ddl
    assert "merchant_id integer REFERENCES merchants(merchant_id)" in ddl
    assert "'UNIONPAY'" in ddl
    assert "query_audit_log" not in ddl


def test_schema_is_cached_per_connection_until_refreshed(reader_engine):
    first = introspect(reader_engine, refresh=True)
    assert introspect(reader_engine) is first
    again = introspect(reader_engine, refresh=True)
    assert again is not first
    assert again.hash == first.hash


# --- a scratch database: several schemas, views, partitions, privileges -------------------------------------------

SCRATCH_DDL = """
CREATE SCHEMA acquiring;
CREATE SCHEMA reporting;
CREATE SCHEMA secret;
CREATE SCHEMA empty;

CREATE TABLE acquiring.merchants (merchant_id bigint PRIMARY KEY, title text NOT NULL);
CREATE TABLE acquiring.payments (
    payment_id bigint PRIMARY KEY,
    merchant_id bigint NOT NULL REFERENCES acquiring.merchants (merchant_id),
    created_at timestamptz NOT NULL,
    booked_at timestamp,
    amount bigint NOT NULL,
    fee numeric(18,0),
    currency char(3) NOT NULL,
    status text NOT NULL,
    response_code integer NOT NULL,
    card_holder_name varchar(40)
);
COMMENT ON TABLE acquiring.payments IS 'Платежи эквайринга';
COMMENT ON COLUMN acquiring.payments.amount IS 'Сумма в тиынах';
INSERT INTO acquiring.merchants SELECT i, 'merchant ' || i FROM generate_series(1, 30) i;
INSERT INTO acquiring.payments
SELECT i, 1 + mod(i, 30), '2025-01-01'::timestamptz + i * interval '1 hour', NULL, 100 * i, mod(i, 7),
       (ARRAY['KZT', 'USD'])[1 + mod(i, 2)], (ARRAY['approved', 'declined', 'reversed'])[1 + mod(i, 3)],
       (ARRAY[0, 5, 51, 400])[1 + mod(i, 4)], (ARRAY['IVAN PETROV', 'ANNA LI'])[1 + mod(i, 2)]
FROM generate_series(1, 2000) i;

CREATE TABLE acquiring.refunds (refund_id bigint, reason text NOT NULL, region text NOT NULL)
    PARTITION BY LIST (region);
CREATE TABLE acquiring.refunds_north PARTITION OF acquiring.refunds FOR VALUES IN ('north');
CREATE TABLE acquiring.refunds_south PARTITION OF acquiring.refunds FOR VALUES IN ('south');
INSERT INTO acquiring.refunds
SELECT i, (ARRAY['fraud', 'duplicate', 'customer request'])[1 + mod(i, 3)], (ARRAY['north', 'south'])[1 + mod(i, 2)]
FROM generate_series(1, 1000) i;

CREATE TABLE events (event_id bigint, happened_at timestamptz NOT NULL, kind text NOT NULL)
    PARTITION BY RANGE (happened_at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO events
SELECT i, '2024-06-01'::timestamptz + i * interval '3 hours', (ARRAY['login', 'payout'])[1 + mod(i, 2)]
FROM generate_series(1, 1000) i;

CREATE TABLE terminals (
    terminal_id integer PRIMARY KEY,
    merchant_id bigint REFERENCES acquiring.merchants (merchant_id),
    model text,
    city varchar(40),
    state_code smallint
);
INSERT INTO terminals VALUES (1, 1, 'Verifone', 'Almaty', 1), (2, 2, 'Ingenico', 'Astana', 2),
                             (3, 2, 'Verifone', 'Almaty', 1);

CREATE VIEW daily_volume AS
    SELECT date_trunc('day', created_at) AS day, sum(amount) AS volume FROM acquiring.payments GROUP BY 1;
COMMENT ON VIEW daily_volume IS 'Оборот по дням';
CREATE MATERIALIZED VIEW reporting.merchant_totals AS
    SELECT merchant_id, count(*) AS payments FROM acquiring.payments GROUP BY 1;
CREATE MATERIALIZED VIEW reporting.not_yet_filled AS SELECT 1 AS one WITH NO DATA;
CREATE VIEW reporting.events AS SELECT event_id FROM events;  -- shadowed by public.events on the search path

CREATE TABLE "Settlements" (settlement_id integer, "Status" text);  -- names SQL must double-quote
INSERT INTO "Settlements" VALUES (1, 'open'), (2, 'closed');

CREATE TABLE secret.keys (key_id integer);
CREATE TABLE api_tokens (token text);
CREATE TABLE customers (customer_id integer PRIMARY KEY, segment text, phone text);
CREATE TABLE query_cache (id integer);  -- paysql-magic's own table: never shown

ANALYZE acquiring.payments;
ANALYZE acquiring.merchants;
ANALYZE events;
ANALYZE acquiring.refunds_north;
ANALYZE acquiring.refunds_south;  -- the partitions only, as autovacuum leaves a partitioned table
"""

READER_GRANTS = """
GRANT USAGE ON SCHEMA acquiring, reporting, empty TO {r};
GRANT SELECT ON ALL TABLES IN SCHEMA acquiring, reporting TO {r};
GRANT SELECT ON events, terminals, daily_volume, query_cache, "Settlements" TO {r};
GRANT SELECT ON secret.keys TO {r};  -- no USAGE on the schema: still unreadable
GRANT SELECT (customer_id, segment) ON customers TO {r};
ALTER ROLE {r} IN DATABASE {db} SET search_path = public, reporting;
"""


@pytest.fixture(scope="module")
def scratch(admin_url: str) -> Iterator[tuple[Engine, Engine]]:
    """A scratch database on the session's server and a role of its own: (admin engine, reader engine)."""
    suffix = secrets.token_hex(4)
    database, role, password = f"schema_test_{suffix}", f"schema_test_reader_{suffix}", secrets.token_urlsafe(12)
    server = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {database}")
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    admin = create_engine(make_url(admin_url).set(database=database))
    reader = create_engine(make_url(admin_url).set(database=database, username=role, password=password))
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(SCRATCH_DDL)
            conn.exec_driver_sql(READER_GRANTS.format(r=role, db=database))
        yield admin, reader
    finally:
        admin.dispose()
        reader.dispose()
        with server.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        server.dispose()


@pytest.fixture(scope="module")
def scratch_schema(scratch: tuple[Engine, Engine]) -> Schema:
    return introspect(scratch[1], refresh=True)


def test_every_readable_relation_of_every_usable_schema_is_introspected(scratch_schema):
    names = {t.qualified: t.kind for t in scratch_schema.tables}
    assert names == {
        "acquiring.merchants": "table",
        "acquiring.payments": "table",
        "acquiring.refunds": "partitioned table",
        "public.events": "partitioned table",
        "public.terminals": "table",
        "public.daily_volume": "view",
        "public.customers": "table",
        "public.Settlements": "table",
        "reporting.merchant_totals": "materialized view",
        "reporting.events": "view",
    }  # no partitions, no secret.keys (no USAGE), api_tokens (no SELECT), query_cache, unpopulated matview
    assert scratch_schema.schemas == ("acquiring", "empty", "public", "reporting")
    assert scratch_schema.search_path == ("public", "reporting")
    assert [c.name for c in scratch_schema.table("customers").columns] == ["customer_id", "segment"]  # column grant


def test_tables_are_named_as_sql_must_write_them(scratch, scratch_schema):
    sql_names = {t.qualified: t.sql_name for t in scratch_schema.tables}
    assert sql_names["acquiring.payments"] == "acquiring.payments"  # not on the search path
    assert sql_names["public.terminals"] == "terminals"
    assert sql_names["reporting.merchant_totals"] == "merchant_totals"
    assert sql_names["reporting.events"] == "reporting.events"  # public.events comes first on the path
    assert sql_names["public.Settlements"] == '"Settlements"'
    assert scratch_schema.table("events").qualified == "public.events"
    assert scratch_schema.table("payments") is scratch_schema.table("acquiring.payments")  # the only one
    assert scratch_schema.find("keys") is None and scratch_schema.find("secret.keys") is None
    with pytest.raises(KeyError):
        scratch_schema.table("api_tokens")
    with scratch[1].connect() as conn:  # every name reads as the reader, as written
        for table in scratch_schema.tables:
            columns = ", ".join(quote_identifier(c.name) for c in table.columns)
            conn.execute(text(f"SELECT {columns} FROM {table.sql_name} LIMIT 0"))


def test_types_comments_and_keys_are_the_real_ones(scratch_schema):
    payments = scratch_schema.table("acquiring.payments")
    types = {c.name: c.type for c in payments.columns}
    assert types == {
        "payment_id": "bigint",
        "merchant_id": "bigint",
        "created_at": "timestamptz",
        "booked_at": "timestamp",
        "amount": "bigint",
        "fee": "numeric(18,0)",
        "currency": "char(3)",
        "status": "text",
        "response_code": "integer",
        "card_holder_name": "varchar(40)",
    }
    assert payments.comment == "Платежи эквайринга"
    assert {c.name: c.comment for c in payments.columns}["amount"] == "Сумма в тиынах"
    assert payments.primary_key == ("payment_id",)
    (fk,) = payments.foreign_keys
    assert (fk.ref_schema, fk.ref_table, fk.ref_columns) == ("acquiring", "merchants", ("merchant_id",))
    (terminal_fk,) = scratch_schema.table("terminals").foreign_keys  # across schemas
    assert terminal_fk.ref_qualified == "acquiring.merchants"
    assert scratch_schema.table("daily_volume").comment == "Оборот по дням"
    assert {c.name: c.type for c in scratch_schema.table("terminals").columns}["city"] == "varchar(40)"


def test_sample_values_of_low_cardinality_columns(scratch_schema):
    def values(table: str) -> dict[str, tuple[str, ...]]:
        return {c.name: c.values for c in scratch_schema.table(table).columns}

    payments = values("acquiring.payments")
    assert payments["status"] == ("approved", "declined", "reversed")
    assert payments["currency"] == ("KZT", "USD")
    assert payments["response_code"] == ("0", "5", "51", "400")  # a status code, in numeric order
    assert payments["card_holder_name"] == ()  # personal
    assert payments["merchant_id"] == payments["amount"] == payments["fee"] == ()  # a key, and many values
    assert values("events")["kind"] == ("login", "payout")  # the parent's inherited statistics
    assert values("acquiring.refunds")["reason"] == ("customer request", "duplicate", "fraud")  # its partitions'
    terminals = values("terminals")  # never ANALYZEd: read with SELECT DISTINCT
    assert terminals["model"] == ("Ingenico", "Verifone")
    assert terminals["city"] == ("Almaty", "Astana")
    assert terminals["state_code"] == terminals["terminal_id"] == ()  # numbers only from statistics
    assert values("Settlements")["Status"] == ("closed", "open")


def test_ddl_is_qualified_where_needed_and_marks_views(scratch_schema):
    ddl = scratch_schema.to_ddl()
    assert "-- Платежи эквайринга\nCREATE TABLE acquiring.payments (" in ddl
    assert "  merchant_id bigint REFERENCES acquiring.merchants(merchant_id)," in ddl
    assert "  response_code integer NOT NULL, -- values: 0, 5, 51, 400\n" in ddl
    assert "  status text NOT NULL, -- values: 'approved', 'declined', 'reversed'\n" in ddl
    assert "CREATE TABLE terminals (" in ddl
    assert "CREATE VIEW daily_volume (" in ddl
    assert "CREATE MATERIALIZED VIEW merchant_totals (" in ddl
    assert "CREATE VIEW reporting.events (" in ddl
    assert (
        "CREATE TABLE \"Settlements\" (\n  settlement_id integer,\n  \"Status\" text -- values: 'closed', 'open'\n);"
        in ddl
    )
    assert "events_2024" not in ddl and "secret" not in ddl and "api_tokens" not in ddl and "phone" not in ddl


def test_introspection_is_read_only_and_leaves_the_pool_writable(scratch):
    admin, _ = scratch
    introspect(admin, refresh=True)
    with admin.connect() as conn:
        assert conn.execute(text("SHOW transaction_read_only")).scalar_one() == "off"


def test_schemas_restrict_what_is_read(scratch, scratch_schema, monkeypatch):
    reader = scratch[1]
    only = introspect(reader, schemas=["acquiring", "secret"], refresh=True)
    assert only.schemas == ("acquiring",)  # no USAGE on secret: skipped
    assert {t.qualified for t in only.tables} == {"acquiring.merchants", "acquiring.payments", "acquiring.refunds"}
    assert introspect(reader, schemas=["acquiring"]) is not introspect(reader)  # cached per schemas
    monkeypatch.setenv("PAYSQL_SCHEMAS", " reporting, ,")
    from_env = introspect(reader, refresh=True)
    assert {t.qualified for t in from_env.tables} == {"reporting.merchant_totals", "reporting.events"}
    monkeypatch.delenv("PAYSQL_SCHEMAS")
    assert introspect(reader, refresh=True).hash == scratch_schema.hash  # the same database, the same hash


def test_no_readable_table_is_one_clear_error(scratch):
    reader = scratch[1]
    with pytest.raises(SchemaError, match=r"^no table this role can read in schemas empty \(set Ask.schemas / "):
        introspect(reader, schemas=["empty", "secret"], refresh=True)
    with pytest.raises(SchemaError, match="in schemas secret, nowhere "):
        introspect(reader, schemas=["secret", "nowhere"], refresh=True)


def test_check_names_accepts_what_introspection_saw(scratch_schema):
    accepted = [
        "SELECT sum(amount) FROM acquiring.payments WHERE status = 'approved'",
        "SELECT p.amount, m.title FROM acquiring.payments p JOIN acquiring.merchants m USING (merchant_id)",
        "SELECT t.model, m.title FROM terminals t JOIN acquiring.merchants m ON m.merchant_id = t.merchant_id",
        "SELECT model FROM public.terminals",
        "SELECT day, volume FROM daily_volume",
        "SELECT merchant_id, payments FROM merchant_totals",
        "SELECT kind FROM events",  # public.events: first on the search path
        "SELECT event_id FROM reporting.events",
        "SELECT reason, count(*) FROM acquiring.refunds GROUP BY reason",
        "SELECT count(*) FROM ACQUIRING.Payments",  # unquoted names fold to lower case
        'SELECT "Status", count(*) FROM "Settlements" GROUP BY 1',
    ]
    for sql in accepted:
        check_names(sql, scratch_schema)


def test_check_names_refuses_what_introspection_did_not_see(scratch_schema):
    refused = {
        "SELECT sum(amount) FROM payments": "unknown table 'payments'",  # acquiring is not on the search path
        "SELECT * FROM secret.keys": "unknown table 'secret.keys'",
        "SELECT * FROM api_tokens": "unknown table 'api_tokens'",
        "SELECT * FROM events_2024": "unknown table 'events_2024'",
        "SELECT sum(amountt) FROM acquiring.payments": "unknown column 'amountt'",
        "SELECT happened FROM reporting.events": "unknown column 'happened'",
        "SELECT t.model, m.nam FROM terminals t JOIN acquiring.merchants m USING (merchant_id)": "unknown column",
        "SELECT phone FROM customers": "unknown column 'phone'",
        "SELECT count(*) FROM Settlements": "unknown table 'settlements'",
    }
    for sql, message in refused.items():
        with pytest.raises(ValidationError, match=message):
            check_names(sql, scratch_schema)
    assert "acquiring.payments" in closest_names("paymnts", scratch_schema)
    assert "terminals.model" in closest_names("modl", scratch_schema)
