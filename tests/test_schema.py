"""Schema introspection on the real test database."""

from __future__ import annotations

from paysql_magic.schema import introspect


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
