"""Connections: turn the URLs users paste into SQLAlchemy engines, one engine per URL.

A pooled connection is checked for life on checkout without a round trip (``watch``): a connection the server
closed (a restart, ``pg_terminate_backend``, an idle timeout) has something to read on its socket (the server's
FATAL message, then end of file), while an idle live one has nothing. Such a connection is replaced before use, as
SQLAlchemy's ``pool_pre_ping`` would, which instead sends an empty query on every checkout (one round trip).
"""

from __future__ import annotations

import select
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError, SQLAlchemyError

from paysql_magic.errors import ConfigError, DatabaseUnavailable

_SCHEME_ALIASES = {"postgres": "postgresql"}


def normalize_url(url: str) -> str:
    """Accept ``postgres://`` (as Heroku and many tools print it) as well as SQLAlchemy URLs.

    A bare ``postgresql://`` is left to SQLAlchemy, which picks its default driver for the installed
    version (psycopg2 on 2.0, psycopg 3 on 2.1); both drivers are installed.
    """
    url = url.strip()
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError("a database URL looks like postgresql://user:password@host:5432/dbname")
    scheme = _SCHEME_ALIASES.get(scheme, scheme)
    if not scheme.startswith("postgresql"):
        raise ConfigError(f"paysql-magic works with PostgreSQL; got a {scheme}:// URL")
    return f"{scheme}://{rest}"


def mask(url: str) -> str:
    """The URL with its password hidden, safe for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


@cache
def _engine_for(url: str) -> Engine:
    return watch(create_engine(url, pool_size=2, max_overflow=2))


def watch(engine: Engine) -> Engine:
    """``engine``, whose pool replaces a connection the server has closed when it is checked out (see the module
    doc); it sends nothing."""
    event.listen(engine, "checkout", _alive)
    return engine


def _alive(dbapi_connection, connection_record, connection_proxy) -> None:
    """Raise ``DisconnectionError`` (the pool then connects anew) when the server closed this idle connection: its
    socket is readable (rarely, a message nobody asked for, such as a setting reported after a configuration reload:
    the connection is replaced all the same), or the driver knows it is closed."""
    if dbapi_connection.closed:
        raise DisconnectionError("the connection is closed")
    try:
        readable = _readable(dbapi_connection.fileno())
    except (OSError, ValueError) as exc:  # no socket any more
        raise DisconnectionError(str(exc)) from None
    if readable:
        raise DisconnectionError("the server closed the connection")


def _readable(fd: int) -> bool:
    """Whether ``fd`` has something to read (or is at its end) now, without waiting; ``poll`` where there is one,
    since ``select`` cannot take a descriptor past 1023."""
    if not hasattr(select, "poll"):  # Windows
        return bool(select.select([fd], [], [], 0)[0])
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


def engine_for(url: str) -> Engine:
    """The shared engine for a database URL (created on first use)."""
    normalized = normalize_url(url)
    try:
        return _engine_for(normalized)
    except (ArgumentError, ImportError) as exc:
        raise ConfigError(f"cannot use database URL {mask(normalized)}: {exc}") from None


def psycopg_engine(engine: Engine) -> Engine:
    """``engine`` when it runs on psycopg 3, else the shared psycopg 3 engine for the same URL (psycopg2 sends
    everything through the simple query protocol, and its encoding cannot follow a ``SET client_encoding``)."""
    if engine.dialect.driver == "psycopg":
        return engine
    return engine_for(engine.url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))


def first_line(exc: BaseException) -> str:
    """The driver's own one-line message for a database error (no SQL, no parameters, no URL)."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error (SQLAlchemy's or the driver's own; psycopg 3 or psycopg2), if it has one."""
    orig = getattr(exc, "orig", None) or exc
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def connect(engine: Engine) -> Connection:
    """Open a connection, turning any failure into ``DatabaseUnavailable`` with the password masked."""
    try:
        return engine.connect()
    except (SQLAlchemyError, OSError) as exc:
        target = engine.url.render_as_string(hide_password=True)
        raise DatabaseUnavailable(f"cannot connect to {target}: {first_line(exc)}") from None


@contextmanager
def autocommit(engine: Engine) -> Iterator[Connection]:
    """A connection on which each statement runs on its own: no BEGIN before it and no COMMIT or ROLLBACK after it
    (one round trip a statement), for a read that needs no transaction, or SQL that brings its own BEGIN ... COMMIT.
    Whatever happens, the connection goes back to the pool idle and out of autocommit, or is thrown away."""
    with connect(engine) as conn:
        raw = conn.connection.driver_connection
        raw.autocommit = True
        try:
            yield conn
        finally:
            try:
                raw.rollback()  # sends ROLLBACK only when a failure left a transaction open
                raw.autocommit = False
            except Exception:
                conn.invalidate()


def create_if_missing(conn: Connection, table: str, create: Callable[[Connection], None]) -> None:
    """Run ``create`` only when ``table`` does not exist yet (a role without CREATE may still use it)."""
    if conn.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar() is None:
        create(conn)
