"""The database round trips of one ``POST /api/query`` call, cached and live, counted on the wire.

    .venv/bin/python benchmarks/round_trips.py [--data-dir DIR] [--rows 20000]

The API (as ``tests/test_api_result_cache.py`` builds it: offline provider, in-process result cache) talks to the
demo database through a proxy that counts every ``ReadyForQuery`` the server sends (``tests/wire.py``): BEGIN,
COMMIT, SET, a pool's pre-ping, a prepare and a describe each count as one. A question is asked until its SQL is in
the query cache and its rows in the result cache; then one call is counted (the cached call), and one with
``"fresh": true`` (the live call: SQL from the query cache, rows run live). Each round trip is put down to what sent
it, by its statements (transaction control goes with the statement it wraps). Prints one line.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

import wire
from fastapi.testclient import TestClient

from paysql_magic.api import ServeConfig, create_app
from paysql_magic.demo import start_demo, stop_demo

QUESTION = "Топ 10 мерчантов по объему транзакций"
BEFORE = {"cached": 19, "live": 33}  # commit bad71af, before issue 16's round-trip cut
PARTS = ("auth", "query cache", "result cache", "audit", "execute")
_KINDS = (
    ("auth", re.compile(r"key_lookup|to_regprocedure")),
    ("query cache", re.compile(r"cache_get|cache_put")),
    ("result cache", re.compile(r"inet_server_addr|current_date\b")),
    ("audit", re.compile(r"audit_write|audit_start|query_audit_log")),
)
_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SET TRANSACTION|SET LOCAL|SAVEPOINT|RELEASE)\b", re.IGNORECASE)
_END = re.compile(r"^\s*(COMMIT|ROLLBACK)\s*$", re.IGNORECASE)


def kind(statements: tuple[str, ...]) -> str | None:
    """What sent a round trip; None for transaction control alone (it goes with the statement it wraps)."""
    text = " ".join(statements)
    for name, pattern in _KINDS:
        if pattern.search(text):
            return name
    parts = [part for statement in statements for part in statement.split(";") if part.strip()]
    return None if all(_CONTROL.match(part) for part in parts) else "execute"  # a pre-ping ";" has no part


def attribute(trips: list[wire.RoundTrip]) -> Counter[str]:
    """Round trips per part: a COMMIT or ROLLBACK counts for the statement before it on its connection, other
    transaction control (a pre-ping, BEGIN, SET TRANSACTION) for the statement after it."""
    counts: Counter[str] = Counter()
    pending: dict[int, int] = {}
    last: dict[int, str] = {}
    for trip in trips:
        name = kind(trip.statements)
        if name is None and trip.connection in last and all(_END.match(s) for s in trip.statements):
            counts[last[trip.connection]] += 1
            continue
        if name is None:
            pending[trip.connection] = pending.get(trip.connection, 0) + 1
            continue
        counts[name] += 1 + pending.pop(trip.connection, 0)
        last[trip.connection] = name
    for connection, n in pending.items():
        counts[last.get(connection, "execute")] += n
    return counts


def call(client: TestClient, counter: wire.Counter, body: dict) -> tuple[list[wire.RoundTrip], dict]:
    mark = counter.mark()
    response = client.post("/api/query", json={"question": QUESTION, **body})
    assert response.status_code == 200, response.text
    return counter.since(mark), response.json()


def measure(reader_url: str) -> dict[str, tuple[int, Counter[str]]]:
    with wire.counting(reader_url) as (url, counter):
        app = create_app(ServeConfig(database_url=url, rate_limit="1000/minute", provider="offline"))
        with TestClient(app, base_url="http://127.0.0.1") as client:
            for _ in range(3):  # the SQL into the query cache, the rows into the result cache, every memo warm
                call(client, counter, {})
            cached, answer = call(client, counter, {})
            assert answer["cached"] and answer["result_cached"], answer
            live, answer = call(client, counter, {"fresh": True})
            assert answer["cached"] and not answer["result_cached"], answer
    return {"cached": (len(cached), attribute(cached)), "live": (len(live), attribute(live))}


def line(figures: dict[str, tuple[int, Counter[str]]]) -> str:
    parts = []
    for name, (total, counts) in figures.items():
        shown = ", ".join(f"{part} {counts[part]}" for part in PARTS if counts[part] or part != "execute")
        parts.append(f"{name} call: {total} round trips (was {BEFORE[name]}): {shown}")
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="the demo's data dir (default: a temporary one)")
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="paysql-round-trips-") as scratch:
        data_dir = args.data_dir or Path(scratch)
        demo = start_demo(data_dir, rows=args.rows)
        try:
            print(line(measure(demo.reader_url)))
        finally:
            stop_demo(data_dir)


if __name__ == "__main__":
    main()
