"""The database round trips of one ``POST /api/query`` call, counted on the wire (``tests/wire.py``): a cached call
(SQL from the query cache, rows from the result cache) makes 4 (the key lookup, the call's start, the query cache
lookup, the audit row), a live one 10; each audit write is one round trip holding its whole READ WRITE transaction.
Also: a pooled connection the server closed is replaced on checkout without a pre-ping, and the audit record's
literal arrives intact whatever ``standard_conforming_strings`` says."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import wire
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from paysql_magic import audit, store
from paysql_magic.api import ServeConfig, create_app

QUESTION = "Топ 10 мерчантов по объему транзакций"
CACHED_CALL = 4  # was 19 (commit bad71af): each lookup and write had a pre-ping, a BEGIN and a COMMIT or ROLLBACK
LIVE_CALL = 10  # was 33
APPLICATION = "paysql-round-trips"
REPLACED = "paysql-replaced-connections"


@pytest.fixture
def counted(reader_url: str) -> Iterator[tuple[TestClient, wire.Counter]]:
    if "host=/" not in reader_url:
        pytest.skip("the counting proxy speaks to a unix socket (the embedded database)")
    with wire.counting(f"{reader_url}&application_name={APPLICATION}") as (url, counter):
        app = create_app(ServeConfig(database_url=url, rate_limit="1000/minute", provider="offline"))
        with TestClient(app, base_url="http://127.0.0.1") as client:
            yield client, counter


def _ask(client: TestClient, **body) -> dict:
    response = client.post("/api/query", json={"question": QUESTION, **body})
    assert response.status_code == 200, response.text
    return response.json()


def _counted(client: TestClient, counter: wire.Counter, **body) -> tuple[list[wire.RoundTrip], dict]:
    mark = counter.mark()
    answer = _ask(client, **body)
    return counter.since(mark), answer


def _shown(trips: list[wire.RoundTrip]) -> str:
    return "\n".join(f"{t.connection}: {' | '.join(s[:100] for s in t.statements)}" for t in trips)


def test_a_cached_call_makes_four_round_trips_and_a_live_one_ten(
    counted: tuple[TestClient, wire.Counter], admin_engine: Engine
) -> None:
    client, counter = counted
    for _ in range(3):  # the SQL into the query cache, the rows into the result cache, the memos warm
        _ask(client)
    trips, answer = _counted(client, counter)
    assert answer["cached"] and answer["result_cached"]
    assert len(trips) <= CACHED_CALL, _shown(trips)
    calls = [
        next(s for s in ("key_lookup", "audit_start", "cache_get", "audit_write") if s in t.statements[0])
        for t in trips
    ]
    assert calls == ["key_lookup", "audit_start", "cache_get", "audit_write"], _shown(trips)

    live, answer = _counted(client, counter, fresh=True)
    assert answer["cached"] and not answer["result_cached"]
    assert len(live) <= LIVE_CALL, _shown(live)
    with admin_engine.connect() as conn:  # both calls have their row, written as before
        query = text("SELECT count(*) FROM paysql.query_audit_log WHERE call_id IN (:a, :b) AND status = 'ok'")
        assert conn.execute(query, {"a": answer["call_id"], "b": _ask(client)["call_id"]}).scalar_one() == 2
    assert audit.verify_chain(admin_engine).broken is None


def test_the_audit_row_is_one_round_trip_holding_its_whole_transaction(
    counted: tuple[TestClient, wire.Counter],
) -> None:
    client, counter = counted
    _ask(client)
    trips, _ = _counted(client, counter)
    (write,) = [t for t in trips if "audit_write" in t.statements[0]]
    sent = write.statements[0]
    assert sent.startswith("BEGIN ISOLATION LEVEL READ COMMITTED, READ WRITE; ") and sent.endswith("; COMMIT")
    for setting in ("statement_timeout = 5000", "lock_timeout = 2000", "synchronous_commit = on"):
        assert f"SET LOCAL {setting}" in sent
    assert sent.isascii()  # the record is ASCII-only JSON: no client encoding can change it


def test_a_pooled_connection_the_server_closed_is_replaced_before_use(reader_url: str, admin_engine: Engine) -> None:
    """Straight to the server, not through the counting proxy (which forwards the server's goodbye a moment later):
    ``pg_terminate_backend(pid, timeout)`` returns once each backend has sent its FATAL and exited."""
    url = make_url(reader_url).update_query_dict({"application_name": REPLACED}).render_as_string(hide_password=False)
    app = create_app(ServeConfig(database_url=url, rate_limit="1000/minute", provider="offline"))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        _ask(client)
        with admin_engine.connect() as conn:
            killed = conn.execute(
                text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000)) FROM pg_stat_activity "
                    "WHERE application_name = :a"
                ),
                {"a": REPLACED},
            ).scalar_one()
        assert killed >= 1
        for fresh in (False, True):  # every connection in the pools was closed by the server: each is replaced
            _ask(client, fresh=fresh)


def test_the_record_literal_arrives_intact_without_standard_conforming_strings(
    reader_url: str, admin_engine: Engine
) -> None:
    url = f"{reader_url}&options={quote('-c standard_conforming_strings=off -c client_encoding=LATIN1')}"
    engine = create_engine(url)
    question = "it's 5% \\' \\\\ $$ ' ; COMMIT; -- «Сколько?» 😀"
    record = audit.AuditRecord(source="api", status="ok", question=question, call_id=str(uuid.uuid4()))
    try:
        assert store.write_record(engine, "audit_write", audit.stored(record))
        assert not store.write_record(engine, "audit_write", audit.stored(record))  # the same call_id: skipped
    finally:
        engine.dispose()
    with admin_engine.connect() as conn:
        stored = conn.execute(
            text("SELECT question FROM paysql.query_audit_log WHERE call_id = :c"), {"c": record.call_id}
        ).scalar_one()
    assert stored == question
