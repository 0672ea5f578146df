"""Cheap statements never wait behind scans (``paysql serve``): the planner's total cost of each statement (plain
``EXPLAIN``, nothing runs; kept per SQL text for a minute) sends it to one of two connection pools. Statements
costing less than ``scan_cost`` run on the main pool; costlier ones on a small pool of their own, so scans queue
there while an index lookup still finds a free connection, and run without parallel workers, so they leave it CPU.
A statement ``EXPLAIN`` cannot plan counts as cheap (its real run reports the error)."""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from functools import cache

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from paysql_magic import execute as executor
from paysql_magic.connection import normalize_url, watch
from paysql_magic.errors import PaysqlError

DEFAULT_SCAN_COST = 10_000.0  # a sequential scan of ~400k narrow rows; an index lookup costs under 100
COST_TTL_S = 60.0
_MEMO_SIZE = 1024
_memo: OrderedDict[tuple[int, str], tuple[float, float]] = OrderedDict()
_lock = threading.Lock()


def pool_sizes(total: int, workers: int) -> tuple[int, int]:
    """(main, scans) connections per worker out of ``total`` for the whole server (at least 2 and 1)."""
    per_worker = max(3, total // max(1, workers))
    scans = max(1, per_worker // 4)
    return per_worker - scans, scans


@cache
def pool(url: str, size: int, timeout_s: float, role: str = "main") -> Engine:
    """An engine of exactly ``size`` connections on psycopg 3 (what the executor runs on); one per process for
    the same arguments, like ``connection.engine_for``."""
    psycopg_url = make_url(normalize_url(url)).set(drivername="postgresql+psycopg")
    engine = watch(create_engine(psycopg_url, pool_size=size, max_overflow=0, pool_timeout=timeout_s))
    if role == "scans":
        event.listen(engine, "connect", _one_core)
    return engine


def _one_core(dbapi_connection, _record) -> None:
    """A scan runs without parallel workers: it holds one core, not three, so on a small machine the cheap
    statements still find CPU to run on (measured on 2 cores, 1M rows: the cheap p50 171 -> 50 ms while 8 clients
    scan; benchmarks/api_load.py --workload dashboard). Set once per connection, in its own transaction."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET max_parallel_workers_per_gather = 0")
    dbapi_connection.commit()


def cost(engine: Engine, sql: str, *, timeout_s: float, allow_superuser: bool) -> float:
    """The planner's total cost of ``sql`` (from the memo when it was planned in the last minute)."""
    key = (id(engine), sql)
    now = time.monotonic()
    with _lock:
        known = _memo.get(key)
    if known is not None and now < known[0]:
        return known[1]
    try:
        outcome = executor.run_query(
            engine,
            f"EXPLAIN (FORMAT JSON) {sql}",
            timeout_s=min(timeout_s, 5.0),
            max_rows=None,
            allow_superuser=allow_superuser,
        )
        plan = outcome.frame.iloc[0, 0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        total = float(plan[0]["Plan"]["Total Cost"])
    except (PaysqlError, KeyError, IndexError, TypeError, ValueError):
        total = 0.0
    with _lock:
        _memo[key] = (now + COST_TTL_S, total)
        while len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)
    return total
