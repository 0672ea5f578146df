"""The result cache of ``paysql serve``: the rows of a statement already run, shared by every worker and instance
through Redis (``PAYSQL_REDIS_URL``), else in this process.

An entry is keyed by what decides the rows a caller may see: the database's identity (server address, port,
database and its OID), the SQL as run (after the guard), the role the statement runs as, the database's
``TimeZone``, the day (in that zone) for SQL relative to ``CURRENT_DATE`` / ``now()``, and the row and byte caps.
A caller never gets a result it could not have fetched itself: same role, same SQL, same database. Entries live
``ttl`` seconds (``--result-ttl``, default 60). An entry is Parquet (no code runs when it is read, unlike pickle)
behind a JSON header; a result larger than ``max_entry_bytes`` is not cached. Redis failing is never an error:
the call runs live, and ``status()`` says so (``/api/health``).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine, text

from paysql_magic.connection import autocommit, first_line

log = logging.getLogger("paysql.results")

DEFAULT_TTL_S = 60.0
DEFAULT_MAX_ENTRY_BYTES = 1024 * 1024  # a larger result is not cached
IDENTITY_TTL_S = 10.0  # how long the database's identity (role, TimeZone, OID) is reused before it is asked again
REDIS_RETRY_S = 5.0  # after a Redis failure, calls run live without trying Redis for this long
_PREFIX = "paysql:result:"
_RELATIVE = re.compile(
    r"\b(current_date|current_timestamp|current_time|localtime|localtimestamp|now|transaction_timestamp|"
    r"statement_timestamp|clock_timestamp|timeofday)\b|'(today|yesterday|tomorrow|now)'",
    re.IGNORECASE,
)


def relative(sql: str) -> bool:
    """Whether the rows of ``sql`` depend on the day it runs (``CURRENT_DATE``, ``now()``, ``'today'`` ...)."""
    return _RELATIVE.search(sql) is not None


@dataclass(frozen=True)
class Entry:
    frame: pd.DataFrame
    row_count: int
    truncated: bool
    execution_time_ms: float
    stored_at: float  # time.time() when it was stored

    def age_s(self) -> float:
        return max(0.0, time.time() - self.stored_at)


def encode(entry: Entry) -> bytes | None:
    """The stored form (JSON header, newline, Parquet); None when the frame cannot be written as Parquet."""
    buffer = io.BytesIO()
    try:
        entry.frame.to_parquet(buffer, index=False)
    except Exception as exc:  # a column pyarrow cannot type (mixed objects): not cached
        log.debug("result not cacheable: %s", first_line(exc))
        return None
    header = {
        "row_count": entry.row_count,
        "truncated": entry.truncated,
        "execution_time_ms": entry.execution_time_ms,
        "stored_at": entry.stored_at,
        "columns": [str(c) for c in entry.frame.columns],
    }
    return json.dumps(header).encode() + b"\n" + buffer.getvalue()


def decode(blob: bytes) -> Entry:
    header_bytes, _, body = blob.partition(b"\n")
    header = json.loads(header_bytes)
    frame = pd.read_parquet(io.BytesIO(body))
    frame.columns = header["columns"]  # duplicate or non-string names come back as they were
    return Entry(frame, header["row_count"], header["truncated"], header["execution_time_ms"], header["stored_at"])


class ResultCache:
    """Rows by key for ``ttl`` seconds; ``get`` and ``put`` never raise (a failing store is a miss)."""

    def __init__(self, ttl_s: float = DEFAULT_TTL_S, max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES) -> None:
        self.ttl_s = ttl_s
        self.max_entry_bytes = max_entry_bytes
        self._identities: dict[int, tuple[float, tuple]] = {}
        self._lock = threading.Lock()

    # -- the key -----------------------------------------------------------------------------------------------
    def key(self, engine: Engine, sql: str, *, max_rows: int | None, max_bytes: int | None, flags: tuple = ()) -> str:
        """The entry's key for ``sql`` run on ``engine`` with these caps (one query every ``IDENTITY_TTL_S``)."""
        server, role, timezone = self._identity(engine)
        day = _today(engine, timezone) if relative(sql) else None
        parts = [server, role, timezone, day, sql, max_rows, max_bytes, list(flags)]
        return _PREFIX + hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()

    def _identity(self, engine: Engine) -> tuple:
        now = time.monotonic()
        with self._lock:
            known = self._identities.get(id(engine))
        if known and now - known[0] < IDENTITY_TTL_S:
            return known[1]
        with autocommit(engine) as conn:
            row = conn.execute(
                text(
                    "SELECT coalesce(host(inet_server_addr()), 'local') || ':' || coalesce(inet_server_port(), 0) "
                    "|| '/' || current_database() || '#' || (SELECT oid FROM pg_database "
                    "WHERE datname = current_database()), current_user, current_setting('TimeZone'), "
                    "current_setting('search_path')"
                )
            ).one()
        identity = (row[0] + " search_path=" + row[3], row[1], row[2])
        with self._lock:
            self._identities[id(engine)] = (now, identity)
        return identity

    # -- entries -----------------------------------------------------------------------------------------------
    def get(self, key: str) -> Entry | None:
        if not self._available():
            return None
        try:
            blob = self._get(key)
        except Exception as exc:
            self._failed(exc)
            return None
        if blob is None:
            return None
        try:
            return decode(blob)
        except Exception as exc:  # an entry this version cannot read: a miss (the live rows replace it)
            log.warning("result cache: unreadable entry: %s", first_line(exc))
            return None

    def put(self, key: str, entry: Entry) -> bool:
        """Store ``entry`` (False when it is too large, not storable, or the store failed)."""
        if self.ttl_s <= 0:
            return False
        blob = encode(entry)
        if blob is None or len(blob) > self.max_entry_bytes or not self._available():
            return False
        try:
            self._put(key, blob)
        except Exception as exc:
            self._failed(exc)
            return False
        return True

    def status(self) -> tuple[bool, str]:
        """(usable, one line) for ``/api/health``."""
        raise NotImplementedError

    def _available(self) -> bool:
        return True

    def _get(self, key: str) -> bytes | None:
        raise NotImplementedError

    def _put(self, key: str, blob: bytes) -> None:
        raise NotImplementedError

    def _failed(self, exc: Exception) -> None:
        log.warning("result cache: %s", first_line(exc))


class MemoryResults(ResultCache):
    """In this process (one worker): at most ``max_entries`` entries, the oldest dropped first."""

    def __init__(self, ttl_s: float = DEFAULT_TTL_S, max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES, max_entries=256):
        super().__init__(ttl_s, max_entry_bytes)
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    def _get(self, key: str) -> bytes | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            if time.monotonic() >= found[0]:
                del self._entries[key]
                return None
            return found[1]

    def _put(self, key: str, blob: bytes) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic() + self.ttl_s, blob)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def status(self) -> tuple[bool, str]:
        return True, f"in process (per worker), {self.ttl_s:g} s"


class RedisResults(ResultCache):
    """In Redis, shared by every worker and instance; entries expire there (``SET ... EX``)."""

    def __init__(self, url: str, ttl_s: float = DEFAULT_TTL_S, max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES):
        super().__init__(ttl_s, max_entry_bytes)
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._down_until = 0.0
        self._error: str | None = None

    def _available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _get(self, key: str) -> bytes | None:
        return self.client.get(key)

    def _put(self, key: str, blob: bytes) -> None:
        self.client.set(key, blob, px=max(1, int(self.ttl_s * 1000)))

    def _failed(self, exc: Exception) -> None:
        self._down_until = time.monotonic() + REDIS_RETRY_S
        self._error = first_line(exc)
        super()._failed(exc)

    def status(self) -> tuple[bool, str]:
        try:
            self.client.ping()
        except Exception as exc:
            self._failed(exc)
            return False, f"redis unreachable ({self._error}): answering live, rate limit per worker"
        self._down_until = 0.0
        return True, f"redis, shared, {self.ttl_s:g} s"


def from_url(redis_url: str | None, ttl_s: float, max_entry_bytes: int) -> ResultCache:
    if redis_url:
        return RedisResults(redis_url, ttl_s, max_entry_bytes)
    return MemoryResults(ttl_s, max_entry_bytes)


def _today(engine: Engine, timezone: str) -> str:
    """Today's date where the database's ``TimeZone`` is (asked of the database for a zone Python cannot read)."""
    try:
        return datetime.now(ZoneInfo(timezone)).date().isoformat()
    except Exception:
        with autocommit(engine) as conn:
            return str(conn.execute(text("SELECT current_date")).scalar())
