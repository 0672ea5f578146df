"""Company databases for the test suite: payments databases shaped unlike the demo and unlike each other.

Each company is a module here (``processing``, ``acquiring``, ``retail``, ``wallet``, ``bazar``) with ``SCHEMAS``
(the schemas holding its data), ``FACT_TABLE`` and ``load(conn)``, which fills an empty database; ``<name>.jsonl``
holds its questions with gold SQL and ``<name>.md`` the conventions that gold SQL follows. Data are fixed-seed and
relative to the day of the build (today always holds operations): build a company the day you query it.

``build(name, admin_url)`` (re)creates the company's database on the server behind a superuser URL and returns the
URL of its read-only role ``<name>_reader``: CONNECT on that database, USAGE on the data schemas, SELECT on their
tables and views, and no CREATE or TEMPORARY anywhere.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import secrets
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

__all__ = ["COMPANIES", "admin_database_url", "build", "questions"]

COMPANIES: tuple[str, ...] = ("processing", "acquiring", "retail", "wallet", "bazar")
TIMEZONE = "Asia/Almaty"
_HERE = Path(__file__).parent
_DATABASES = {
    "processing": "procdb",
    "acquiring": "acqdb",
    "retail": "retaildb",
    "wallet": "walletdb",
    "bazar": "bazardb",
}


def _database(name: str) -> str:
    if name not in _DATABASES:
        raise ValueError(f"unknown company {name!r}; one of {', '.join(COMPANIES)}")
    return _DATABASES[name]


def _url(admin_url: str, **parts: Any) -> str:
    url = make_url(admin_url)
    if url.drivername == "postgres":  # as Heroku and many tools print it
        url = url.set(drivername="postgresql")
    return url.set(**parts).render_as_string(hide_password=False)


def admin_database_url(name: str, admin_url: str) -> str:
    """The company's database as the superuser of ``admin_url`` (same driver as ``admin_url``)."""
    return _url(admin_url, database=_database(name))


def build(name: str, admin_url: str) -> str:
    """Drop and create the company's database and its reader role; returns the reader's SQLAlchemy URL."""
    database, role = _database(name), f"{name}_reader"
    password = secrets.token_urlsafe(12)
    company = importlib.import_module(f".{name}", __name__)
    with psycopg.connect(_url(admin_url, drivername="postgresql", database="postgres"), autocommit=True) as server:
        server.execute("SELECT pg_advisory_lock(hashtext('paysql-magic company databases'))")
        server.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
        server.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        server.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
        server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        server.execute(
            sql.SQL("ALTER DATABASE {} SET timezone = {}").format(sql.Identifier(database), sql.Literal(TIMEZONE))
        )
        server.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database)))
        server.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), sql.Identifier(role))
        )
        with psycopg.connect(_url(admin_url, drivername="postgresql", database=database)) as conn:
            company.load(conn)
            conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
            for schema in company.SCHEMAS:
                conn.execute(
                    sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), sql.Identifier(role))
                )
                conn.execute(
                    sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(
                        sql.Identifier(schema), sql.Identifier(role)
                    )
                )
            conn.commit()
            conn.autocommit = True
            conn.execute("ANALYZE")
    return _url(admin_url, drivername="postgresql+psycopg", database=database, username=role, password=password)


def questions(name: str) -> list[dict[str, Any]]:
    """The company's questions: ``id``, ``lang``, ``question``, ``gold_sql``, ``ordered``."""
    _database(name)
    lines = (_HERE / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


# Helpers of the builders: operation times spread over the last calendar days, today included up to now.

_HOUR_WEIGHTS = np.array([2, 1, 1, 1, 1, 2, 4, 7, 10, 12, 13, 14, 15, 14, 13, 13, 14, 15, 16, 15, 12, 9, 6, 4], float)
_HOUR_WEIGHTS /= _HOUR_WEIGHTS.sum()
LOCAL_EPOCH = dt.datetime(1970, 1, 1)
UTC_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def day_bounds(conn: psycopg.Connection, first: int, last: int, *, local: bool) -> tuple[np.ndarray, np.ndarray]:
    """Seconds since the epoch of the starts of the days ``first``..``last`` days before today (first >= last) and of
    their ends (the next midnight; now for today). ``local``: wall-clock seconds of ``timestamp without time zone``
    in the database time zone; otherwise true epoch seconds of ``timestamptz``."""
    kind, now = ("timestamp", "localtimestamp") if local else ("timestamptz", "now()")
    rows = conn.execute(
        f"SELECT extract(epoch FROM (current_date - g)::{kind}),"
        f" extract(epoch FROM CASE WHEN g = 0 THEN {now} ELSE (current_date - g + 1)::{kind} END)"
        " FROM generate_series(%s::int, %s::int, -1) g",
        (first, last),
    ).fetchall()
    return np.array([float(r[0]) for r in rows]), np.array([float(r[1]) for r in rows])


def stamps(rng: np.random.Generator, starts: np.ndarray, ends: np.ndarray, n: int) -> np.ndarray:
    """n sorted times (whole seconds): uniform over the days, daytime-heavy within a day."""
    day = rng.integers(0, len(starts), n)
    frac = (rng.choice(24, n, p=_HOUR_WEIGHTS) + rng.random(n)) / 24
    return np.sort(np.floor(starts[day] + frac * (ends[day] - starts[day])))


def same_day(conn: psycopg.Connection, today: dt.date) -> None:
    """Fail when the calendar day changed during the build (the data would straddle two days)."""
    if conn.execute("SELECT clock_timestamp()::date = %s", (today,)).fetchone()[0] is not True:
        raise RuntimeError("the calendar day changed during the build: build again")
