"""The result cache of ``paysql serve``: in process by default, in a real Redis (``redis-server``, started by the
``redis_url`` fixture) with ``PAYSQL_REDIS_URL``; keyed by database, SQL as run, role, TimeZone and day; every
call audited (``result_cached``); ``"fresh": true`` bypasses; Redis down means live answers, never a 500."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text

from paysql_magic import results
from paysql_magic.api import ServeConfig, create_app

LOOPBACK = "http://127.0.0.1"
COUNT_SQL = "SELECT count(*) AS n FROM transactions WHERE amount > {}"


def _client(url: str, **config) -> TestClient:
    return TestClient(create_app(ServeConfig(database_url=url, rate_limit="1000/minute", **config)), base_url=LOOPBACK)


@pytest.fixture
def memory(reader_url: str) -> Iterator[TestClient]:
    with _client(reader_url, provider="offline") as c:
        yield c


@pytest.fixture
def shared(reader_url: str, redis_url: str) -> Iterator[tuple[TestClient, TestClient]]:
    """Two apps (two workers or instances) on the same Redis."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    with _client(reader_url, redis_url=redis_url) as a, _client(reader_url, redis_url=redis_url) as b:
        yield a, b


def audit(admin_engine: Engine, call_id: str) -> dict:
    with admin_engine.connect() as conn:
        query = text("SELECT * FROM paysql.query_audit_log WHERE call_id = :c")
        return dict(conn.execute(query, {"c": call_id}).mappings().one())


def _sql(client: TestClient, sql: str, **body) -> tuple[dict, dict]:
    response = client.post("/api/sql", json={"sql": sql, **body})
    assert response.status_code == 200, response.text
    return response.json(), dict(response.headers)


def test_a_repeated_call_is_served_from_the_cache_with_its_age_and_still_audited(
    memory: TestClient, admin_engine: Engine
) -> None:
    sql = COUNT_SQL.format(12345)
    first, first_headers = _sql(memory, sql)
    time.sleep(1.1)
    second, headers = _sql(memory, sql)

    assert first["result_cached"] is False and second["result_cached"] is True
    assert second["data"] == first["data"] and second["row_count"] == first["row_count"]
    assert first_headers["cache-control"] == "private, max-age=60" and first_headers["age"] == "0"
    assert int(headers["age"]) >= 1 and headers["cache-control"] == f"private, max-age={60 - int(headers['age'])}"
    assert second["call_id"] != first["call_id"]
    live, hit = audit(admin_engine, first["call_id"]), audit(admin_engine, second["call_id"])
    assert live["result_cached"] is None and hit["result_cached"] is True
    assert (hit["status"], hit["row_count"], hit["executed_sql"]) == ("ok", live["row_count"], live["executed_sql"])


def test_fresh_runs_live_and_refreshes_the_entry(memory: TestClient, admin_engine: Engine) -> None:
    sql = COUNT_SQL.format(23456)
    _sql(memory, sql)
    fresh, headers = _sql(memory, sql, fresh=True)
    assert fresh["result_cached"] is False and headers["age"] == "0"
    assert audit(admin_engine, fresh["call_id"])["result_cached"] is None
    assert _sql(memory, sql)[0]["result_cached"] is True


def test_a_question_is_cached_on_its_sql_as_run(memory: TestClient) -> None:
    question = "Топ 10 мерчантов по объему транзакций"
    first = memory.post("/api/query", json={"question": question}).json()
    second = memory.post("/api/query", json={"question": question}).json()
    assert (first["result_cached"], second["result_cached"]) == (False, True)
    assert second["cached"] is True and second["data"] == first["data"]
    fresh = memory.post("/api/query", json={"question": question, "fresh": True}).json()
    assert fresh["result_cached"] is False


def test_different_row_caps_do_not_share_an_entry(memory: TestClient) -> None:
    sql = "SELECT transaction_id FROM transactions ORDER BY transaction_id LIMIT 50"
    _sql(memory, sql, max_rows=5)
    other, _ = _sql(memory, sql, max_rows=7)
    assert other["result_cached"] is False and other["row_count"] == 7


def test_a_result_over_the_entry_limit_is_not_cached(reader_url: str) -> None:
    with _client(reader_url, result_max_bytes=2_000) as client:
        sql = "SELECT transaction_id, amount FROM transactions ORDER BY transaction_id LIMIT 500"
        _sql(client, sql)
        again, headers = _sql(client, sql)
        assert again["result_cached"] is False and headers["cache-control"] == "no-store"
        small = "SELECT 1 AS one"
        _sql(client, small)
        assert _sql(client, small)[0]["result_cached"] is True


def test_result_ttl_zero_turns_the_cache_off(reader_url: str) -> None:
    with _client(reader_url, result_ttl=0) as client:
        _sql(client, "SELECT 2 AS two")
        again, headers = _sql(client, "SELECT 2 AS two")
        assert again["result_cached"] is False and headers["cache-control"] == "no-store"
        assert client.get("/api/health").json()["cache"]["detail"].startswith("off")


def test_one_instance_serves_what_the_other_cached_through_redis(
    shared: tuple[TestClient, TestClient], admin_engine: Engine
) -> None:
    a, b = shared
    sql = COUNT_SQL.format(34567)
    first, _ = _sql(a, sql)
    second, headers = _sql(b, sql)
    assert (first["result_cached"], second["result_cached"]) == (False, True)
    assert second["data"] == first["data"] and "max-age=" in headers["cache-control"]
    assert audit(admin_engine, second["call_id"])["result_cached"] is True
    health = b.get("/api/health").json()
    assert health["cache"]["ok"] is True and health["cache"]["detail"].startswith("redis")


def test_entries_expire_after_the_ttl_in_redis(reader_url: str, redis_url: str) -> None:
    with _client(reader_url, redis_url=redis_url, result_ttl=1) as client:
        sql = COUNT_SQL.format(45678)
        _sql(client, sql)
        assert _sql(client, sql)[0]["result_cached"] is True
        time.sleep(1.2)
        assert _sql(client, sql)[0]["result_cached"] is False


def test_redis_down_answers_live_and_health_says_so(reader_url: str) -> None:
    from conftest import _free_port

    dead = f"redis://127.0.0.1:{_free_port()}/0"  # nothing listens there
    with _client(reader_url, redis_url=dead, provider="offline") as client:
        for _ in range(3):
            body, headers = _sql(client, "SELECT 3 AS three")
            assert body["result_cached"] is False and body["data"] == [{"three": 3}]
            assert headers["cache-control"] == "no-store"
        health = client.get("/api/health")
        assert health.status_code == 200  # the cache is not needed to answer
        cache = health.json()["cache"]
        assert cache["ok"] is False and "redis unreachable" in cache["detail"] and "answering live" in cache["detail"]


def test_the_key_holds_role_timezone_database_and_the_day_for_relative_sql(reader_url: str, admin_url: str) -> None:
    cache = results.MemoryResults()
    reader = create_engine(reader_url)
    moscow = create_engine(reader_url, connect_args={"options": "-c TimeZone=Europe/Moscow"})
    admin = create_engine(admin_url)
    try:
        sql = "SELECT 1"
        keys = {cache.key(e, sql, max_rows=10, max_bytes=None) for e in (reader, moscow, admin)}
        assert len(keys) == 3  # role (reader vs admin) and TimeZone each make a new key
        assert cache.key(reader, sql, max_rows=10, max_bytes=None) == cache.key(
            reader, sql, max_rows=10, max_bytes=None
        )
        assert cache.key(reader, "SELECT 2", max_rows=10, max_bytes=None) not in keys
    finally:
        for engine in (reader, moscow, admin):
            engine.dispose()
    assert results.relative("SELECT count(*) FROM t WHERE d >= CURRENT_DATE")
    assert results.relative("SELECT now() - interval '1 day'")
    assert results.relative("SELECT * FROM t WHERE d = 'today'::date")
    assert not results.relative("SELECT count(*) FROM transactions WHERE status = 'approved'")


def test_relative_sql_is_keyed_by_the_day(reader_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = results.MemoryResults()
    engine = create_engine(reader_url)
    try:
        sql = "SELECT count(*) FROM transactions WHERE created_at >= CURRENT_DATE"
        today = cache.key(engine, sql, max_rows=10, max_bytes=None)
        plain = cache.key(engine, "SELECT 1", max_rows=10, max_bytes=None)
        monkeypatch.setattr(results, "_today", lambda engine, tz: "2999-01-01")
        assert cache.key(engine, sql, max_rows=10, max_bytes=None) != today
        assert cache.key(engine, "SELECT 1", max_rows=10, max_bytes=None) == plain
    finally:
        engine.dispose()


def test_an_entry_round_trips_types_through_parquet() -> None:
    import datetime
    import decimal

    import pandas as pd

    frame = pd.DataFrame(
        {
            "d": [datetime.date(2026, 1, 2)],
            "amount": [decimal.Decimal("12.34")],
            "name": ["Пятёрочка"],
            "n": [None],
        }
    )
    entry = results.Entry(frame, 1, False, 1.5, 100.0)
    back = results.decode(results.encode(entry))
    assert back.frame.astype(object).to_dict("records") == frame.astype(object).to_dict("records")
    assert (back.row_count, back.truncated, back.stored_at) == (1, False, 100.0)


def test_an_unreadable_entry_is_a_miss_not_an_error(reader_url: str, redis_url: str) -> None:
    import redis

    cache = results.RedisResults(redis_url)
    redis.Redis.from_url(redis_url).set("paysql:result:broken", b"not an entry")
    assert cache.get("paysql:result:broken") is None
    assert cache.status()[0] is True  # Redis itself is fine
