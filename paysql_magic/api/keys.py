"""API keys in ``paysql.api_keys``, beside the audit log: only a sha256 of each key is stored.

A key is ``psk_`` + 32 random bytes (URL-safe base64); it is printed once by ``paysql keys create NAME`` and
cannot be recovered from the table. A name has at most one active key; a revoked key stays in the table (so the
API keeps requiring keys once any was created, even after every key is revoked).

The table lives in paysql's own schema (``store``), so it is never part of the analysed schema (the prompt, the
schema hash, ``grant-readonly``'s tables). The role ``paysql serve`` connects as gets no SELECT on it: it checks
a key through ``paysql.key_lookup(hash)``, a SECURITY DEFINER function (``grant-readonly --role`` and
``--grant-to ROLE`` grant it), so neither a generated query nor ``POST /api/sql`` can list key names or hashes (the
guard refuses the schema and the function too). A database not migrated yet keeps ``paysql_api.api_keys``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from paysql_magic import store
from paysql_magic.connection import autocommit, connect, first_line, sqlstate
from paysql_magic.errors import ConfigError, DatabaseUnavailable

KEYS_SCHEMA = store.SCHEMA
KEYS_TABLE = f"{KEYS_SCHEMA}.{store.KEYS}"
LOOKUP_FUNCTION = store.KEY_LOOKUP
LEGACY_LOOKUP = f"{store.LEGACY_KEYS_SCHEMA}.key_lookup(text)"
KEY_PREFIX = "psk_"
_SHOWN = 8  # characters of a key kept in clear to tell keys apart in `paysql keys list`
_MOVED = ("42883", "3F000")  # undefined function, undefined schema: an admin migrated the keys
_functions: dict[str, str] = {}  # the lookup function found in each database (by URL), once found


@dataclass(frozen=True)
class ApiKey:
    """One key as listed: its name, its first characters, and when it was created and revoked."""

    name: str
    key_start: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class Lookup:
    """What the table says about a presented key: how many keys exist at all, and whose key it is."""

    keys: int
    name: str | None = None
    revoked: bool = False


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def ensure_table(conn: Connection, grant_to: str | None = None) -> None:
    """Create (or migrate) paysql's schema with the keys and the lookup function; ``grant_to`` (the role
    ``paysql serve`` connects as) may call the lookup, nothing more."""
    store.ensure(conn)
    if grant_to:
        role = conn.dialect.identifier_preparer.quote(grant_to)
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {KEYS_SCHEMA} TO {role}")
        conn.exec_driver_sql(f"GRANT EXECUTE ON FUNCTION {LOOKUP_FUNCTION} TO {role}")


def create(engine: Engine, name: str, grant_to: str | None = None) -> str:
    """A new key for ``name`` (stored as its hash); the key itself is returned once and kept nowhere."""
    name = name.strip()
    if not name:
        raise ConfigError("a key needs a name, e.g. `paysql keys create telegram-bot`")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    try:
        with connect(engine) as conn, conn.begin():
            ensure_table(conn, grant_to)
            conn.execute(
                text(f"INSERT INTO {KEYS_TABLE} (name, key_hash, key_start) VALUES (:name, :hash, :start)"),
                {"name": name, "hash": hash_key(key), "start": key[: len(KEY_PREFIX) + _SHOWN]},
            )
    except IntegrityError:
        raise ConfigError(f"an active key named {name!r} exists: revoke it first (paysql keys revoke {name})") from None
    return key


def list_keys(engine: Engine) -> list[ApiKey]:
    """Every key, active and revoked, oldest first."""
    store.locate(engine)  # an admin: a database not migrated yet is migrated first
    with connect(engine) as conn:
        if not _exists(conn):
            return []
        rows = conn.execute(text(f"SELECT name, key_start, created_at, revoked_at FROM {KEYS_TABLE} ORDER BY id"))
        return [ApiKey(*row) for row in rows]


def revoke(engine: Engine, name: str) -> bool:
    """Revoke the active key of ``name``; False when there is none."""
    store.locate(engine)
    with connect(engine) as conn, conn.begin():
        if not _exists(conn):
            return False
        revoked = conn.execute(
            text(f"UPDATE {KEYS_TABLE} SET revoked_at = now() WHERE name = :name AND revoked_at IS NULL"),
            {"name": name},
        )
        return revoked.rowcount > 0


def lookup(engine: Engine, key: str | None) -> Lookup:
    """How many keys exist (revoked ones included) and, when ``key`` is given, whose it is: one function call, one
    round trip (no transaction; which function to call is found once per process, and again when it moved)."""
    url = engine.url.render_as_string(hide_password=False)
    try:
        with autocommit(engine) as conn:
            function = _functions.get(url)
            if function is not None:
                try:
                    return _call(conn, function, key)
                except SQLAlchemyError as exc:
                    if sqlstate(exc) not in _MOVED:
                        raise
                    _functions.pop(url, None)  # an admin migrated the keys while this process ran: find it again
            function = _function(conn)
            if function is None:  # not memoised: a key created later must close an open API at once
                return Lookup(keys=0)
            found = _call(conn, function, key)
            _functions[url] = function
            return found
    except SQLAlchemyError as exc:  # e.g. no EXECUTE on the lookup: fail closed, and say how to grant it
        raise DatabaseUnavailable(
            f"cannot check API keys: {first_line(exc)} (grant it: paysql keys create NAME --grant-to ROLE, or "
            f"GRANT USAGE ON SCHEMA {KEYS_SCHEMA} and EXECUTE ON FUNCTION {LOOKUP_FUNCTION} to the role)"
        ) from None


def _call(conn: Connection, function: str, key: str | None) -> Lookup:
    row = conn.execute(
        text(f"SELECT keys, name, revoked FROM {function.split('(')[0]}(:hash)"),
        {"hash": hash_key(key) if key else None},
    ).one()
    return Lookup(keys=row.keys, name=row.name, revoked=bool(row.revoked))


def _function(conn: Connection) -> str | None:
    """The lookup function of this database (paysql's, or the one of a database not migrated yet); None when keys
    were never set up here."""
    current, legacy = conn.execute(
        text("SELECT to_regprocedure(:f) IS NOT NULL, to_regprocedure(:legacy) IS NOT NULL"),
        {"f": LOOKUP_FUNCTION, "legacy": LEGACY_LOOKUP},
    ).one()
    return LOOKUP_FUNCTION if current else LEGACY_LOOKUP if legacy else None


def _exists(conn: Connection) -> bool:
    """Whether paysql's key table is here (admin commands: list, revoke)."""
    return conn.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": KEYS_TABLE}).scalar_one()
