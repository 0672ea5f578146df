"""Cheap statements never wait behind scans: the planner's cost routes each statement to the main pool or the
scans' own pool (``paysql_magic.routing``), pools sized from ``--db-connections`` and ``--workers``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from paysql_magic import routing
from paysql_magic.api import ServeConfig, create_app

LOOPBACK = "http://127.0.0.1"
# A nested-loop join of 2,500 x 2,500 rows: costly for the planner and a good fraction of a second to run.
SCAN = (
    "SELECT count(*) AS pairs FROM transactions a JOIN transactions b ON a.amount + b.amount > {} "
    "WHERE a.transaction_id <= 2500 AND b.transaction_id <= 2500"
)
CHEAP = "SELECT transaction_id FROM transactions WHERE transaction_id = {}"


@pytest.fixture
def routed(reader_url: str) -> Iterator[TestClient]:
    # 4 connections: 3 for cheap statements, 1 for scans; no result cache (every call runs)
    config = ServeConfig(
        database_url=reader_url, rate_limit="10000/minute", result_ttl=0, db_connections=4, scan_cost=1_000
    )
    with TestClient(create_app(config), base_url=LOOPBACK) as client:
        yield client


def test_pool_sizes_share_the_connections_between_the_workers() -> None:
    assert routing.pool_sizes(20, 1) == (15, 5)
    assert routing.pool_sizes(20, 2) == (8, 2)
    assert routing.pool_sizes(4, 8) == (2, 1)  # never fewer than 2 + 1 per worker


def test_the_planner_cost_tells_an_index_lookup_from_a_scan(reader_url: str) -> None:
    engine = routing.pool(reader_url, 2, 10.0)
    lookup = routing.cost(engine, CHEAP.format(1), timeout_s=10, allow_superuser=False)
    scan = routing.cost(engine, SCAN.format(0), timeout_s=10, allow_superuser=False)
    assert lookup < 100 < 10_000 < scan
    assert routing.cost(engine, "SELECT FROM nowhere_at_all", timeout_s=10, allow_superuser=False) == 0.0


def test_scans_run_without_parallel_workers_and_cheap_statements_with(reader_url: str) -> None:
    """A scan holds one core (so cheap statements still get CPU); the main pool keeps the server's setting."""
    settings = {}
    for role in ("scans", "main"):
        with routing.pool(reader_url, 1, 5.0, role).connect() as conn:
            settings[role] = conn.exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar()
    assert settings == {"scans": "0", "main": "2"}


def test_a_cheap_statement_is_answered_while_scans_hold_their_pool(routed: TestClient) -> None:
    scan_times: list[float] = []

    def scan(i: int) -> None:
        start = time.perf_counter()
        response = routed.post("/api/sql", json={"sql": SCAN.format(i)})
        assert response.status_code == 200, response.text
        scan_times.append(time.perf_counter() - start)

    threads = [threading.Thread(target=scan, args=(i,)) for i in range(4)]  # 4 scans, 1 scan connection
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    cheap_times = []
    for i in range(5):
        start = time.perf_counter()
        response = routed.post("/api/sql", json={"sql": CHEAP.format(i + 1)})
        assert response.status_code == 200, response.text
        cheap_times.append(time.perf_counter() - start)
    for thread in threads:
        thread.join()
    assert len(scan_times) == 4
    slowest_scan = max(scan_times)
    assert max(cheap_times) < slowest_scan / 2, (cheap_times, scan_times)
