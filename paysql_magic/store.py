"""paysql's own schema, ``paysql`` (or ``PAYSQL_STORE_SCHEMA``): the audit log, the call starts, the query cache,
the verified examples and the API keys, private to the admin who created them; other roles reach them only through
its functions.

Layout (``ensure`` creates it, as an admin: ``paysql grant-readonly --apply``, ``paysql demo``, ``paysql keys``):

- ``paysql.query_audit_log``: one row per call. A ``BEFORE INSERT`` trigger (``paysql.audit_chain``, SECURITY
  DEFINER) sets ``id``, ``created_at``, ``db_user`` and the hash chain whatever the inserter supplies. The chain is
  serialised by a row lock on ``paysql.audit_head`` (``SELECT ... FOR UPDATE``): no reader may lock or update that
  row (it has no privilege on it), unlike an advisory lock, which any role can hold. The head also records the
  number of chained rows and the last id and hash, so ``audit.verify_chain`` sees deleted newest rows.
- ``paysql.call_starts``: a row when a call starts (append-only), so a call that never finished is visible.
- ``paysql.query_cache``, ``paysql.verified_examples``, ``paysql.api_keys``.

A reader (``grant-readonly --role``) gets USAGE on the schema and EXECUTE on the functions below, no privilege on
any table: it appends audit rows and call starts (``audit_write``, ``audit_start``), reads the cache by key
(``cache_get``/``cache_put``), the examples (``examples_list``/``examples_add``), and the monitoring figures of its
own calls (``audit_calls``, ``audit_unfinished``) and of everyone in aggregate (``audit_activity``). An auditor
(``grant-readonly --auditor``) may SELECT the audit tables, so the same functions show it every call.

Older databases keep their tables in ``public`` (and the keys in ``paysql_api``). ``ensure`` migrates them: the
tables move with ``ALTER TABLE ... SET SCHEMA`` (ids, rows and hashes kept), every privilege on them is revoked,
and the roles that could use them get the functions instead. Until an admin runs it, ``locate`` finds the old
tables and paysql keeps using them as before (``Store.legacy``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from paysql_magic.connection import autocommit, connect, psycopg_engine
from paysql_magic.settings import env_store_schema

SCHEMA = env_store_schema()  # ``paysql`` unless PAYSQL_STORE_SCHEMA names another
LEGACY_SCHEMA = "public"  # where versions before the paysql schema kept the audit log, cache and examples
LEGACY_KEYS_SCHEMA = "paysql_api"  # ... and the API keys
VERSION = 1
_MARK = f"paysql-magic store v{VERSION}:"

AUDIT = "query_audit_log"
STARTS = "call_starts"
HEAD = "audit_head"
CACHE = "query_cache"
EXAMPLES = "verified_examples"
KEYS = "api_keys"

SOURCES = "('ask', 'edited', 'api', 'eval', 'check')"  # the notebook, reviewed SQL, HTTP API, evaluation, alerts
STATUSES = "('ok', 'refused', 'declined', 'error', 'cancelled')"

# The audit write's own transaction: whatever the role's defaults say (default_transaction_read_only, a short
# statement_timeout, another client_encoding or isolation level), it can write, waits at most LOCK_TIMEOUT_MS for
# the chain's lock and commits durably.
LOCK_TIMEOUT_MS = 2_000
STATEMENT_TIMEOUT_MS = 5_000
WRITE_BEGIN = (
    "BEGIN ISOLATION LEVEL READ COMMITTED, READ WRITE; "
    f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}; SET LOCAL lock_timeout = {LOCK_TIMEOUT_MS}; "
    "SET LOCAL synchronous_commit = on; SET LOCAL client_encoding = 'UTF8'"
)

_SAFE = "SET search_path = pg_catalog, pg_temp"  # every function: no object of the caller's search path is used

AUDIT_DDL = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA}.{AUDIT} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id uuid NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    db_user text NOT NULL DEFAULT session_user,
    user_name text,
    source text NOT NULL CONSTRAINT query_audit_log_source_check CHECK (source IN {SOURCES}),
    question text,
    generated_sql text,
    executed_sql text,
    provider text,
    model text,
    status text NOT NULL CHECK (status IN {STATUSES}),
    success boolean NOT NULL,
    error text,
    attempts integer NOT NULL DEFAULT 1,
    cached boolean NOT NULL DEFAULT false,
    row_count integer,
    llm_time_ms double precision,
    execution_time_ms double precision,
    notebook text,
    schema_hash text,
    prev_hash text,
    row_hash text,
    parent_call_id uuid,
    escaped text[],
    mode text,
    result_cached boolean
)
"""

# Additive upgrades of an older table (each version only adds): the chain (prev_hash, row_hash), follow-ups
# (parent_call_id), sources, the names of the fields stored escaped (see ``pgtext``), and how an LLM answered
# (mode: plan or sql), and rows served from the API's result cache (result_cached).
AUDIT_UPGRADE = (
    f"ALTER TABLE {SCHEMA}.{AUDIT} ADD COLUMN IF NOT EXISTS prev_hash text, ADD COLUMN IF NOT EXISTS row_hash text, "
    "ADD COLUMN IF NOT EXISTS parent_call_id uuid, ADD COLUMN IF NOT EXISTS escaped text[], "
    "ADD COLUMN IF NOT EXISTS mode text, ADD COLUMN IF NOT EXISTS result_cached boolean, "
    "DROP CONSTRAINT IF EXISTS query_audit_log_source_check, "
    f"ADD CONSTRAINT query_audit_log_source_check CHECK (source IN {SOURCES})"
)

HEAD_DDL = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA}.{HEAD} (
    id integer PRIMARY KEY CHECK (id = 1),
    rows bigint NOT NULL,
    last_id bigint,
    last_hash text,
    updated_at timestamptz NOT NULL DEFAULT now()
)
"""

# The head of an existing chain (a migrated table): its chained rows, the last one's id and hash. Once the head
# exists the one-time filter skips the scan.
HEAD_INIT = f"""
INSERT INTO {SCHEMA}.{HEAD} (id, rows, last_id, last_hash)
SELECT 1, count(*), max(id), (SELECT row_hash FROM {SCHEMA}.{AUDIT} WHERE row_hash IS NOT NULL ORDER BY id DESC LIMIT 1)
FROM {SCHEMA}.{AUDIT} WHERE row_hash IS NOT NULL AND NOT EXISTS (SELECT FROM {SCHEMA}.{HEAD})
ON CONFLICT (id) DO NOTHING
"""

STARTS_DDL = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA}.{STARTS} (
    call_id uuid PRIMARY KEY,
    started_at timestamptz NOT NULL DEFAULT now(),
    db_user text NOT NULL DEFAULT session_user,
    user_name text,
    source text,
    question text,
    generated_sql text,
    notebook text,
    escaped text[]
)
"""

CACHE_DDL = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA}.{CACHE} (
    question_key text NOT NULL,
    schema_hash text NOT NULL,
    provider text NOT NULL,
    model text NOT NULL,
    sql text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (question_key, schema_hash, provider, model)
)
"""

EXAMPLES_DDL = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA}.{EXAMPLES} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    question text NOT NULL,
    sql text NOT NULL,
    source text NOT NULL CHECK (source IN ('verify', 'edited')),
    created_at timestamptz NOT NULL DEFAULT now(),
    db_user text NOT NULL DEFAULT session_user,
    UNIQUE (question, sql)
)
"""

KEYS_DDL = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA}.{KEYS} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL CHECK (name <> ''),
    key_hash text NOT NULL UNIQUE,
    key_start text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
)
"""

COMMENTS = (
    f"COMMENT ON TABLE {SCHEMA}.{AUDIT} IS "
    "'One row per paysql-magic call: question, SQL, provider, outcome and timings. Append-only, hash-chained.'",
    f"COMMENT ON TABLE {SCHEMA}.{HEAD} IS 'The head of the audit hash chain: chained rows, last id and hash.'",
    f"COMMENT ON TABLE {SCHEMA}.{STARTS} IS 'One row when a paysql-magic call starts (append-only).'",
    f"COMMENT ON TABLE {SCHEMA}.{KEYS} IS 'paysql serve API keys: sha256 of each key, never the key itself'",
)

# The hash of one row: its content and the previous row's hash. Fixed settings, whatever the session's: a role
# default such as ``extra_float_digits = -15`` would change how the float columns print, and so the hash.
HASH_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {SCHEMA}.audit_hash(r {SCHEMA}.{AUDIT}) RETURNS text
LANGUAGE sql STABLE {_SAFE} SET extra_float_digits = 1 AS $$
    SELECT encode(sha256(convert_to(coalesce(r.prev_hash, '') || (jsonb_build_array(
        r.id, r.call_id, to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), r.db_user,
        r.user_name, r.source, r.question, r.generated_sql, r.executed_sql, r.provider, r.model, r.status,
        r.success, r.error, r.attempts, r.cached, r.row_count, r.llm_time_ms, r.execution_time_ms, r.notebook,
        r.schema_hash) || CASE WHEN r.parent_call_id IS NULL THEN '[]'::jsonb  -- rows without one hash as before
                               ELSE jsonb_build_array(r.parent_call_id) END
                       || CASE WHEN r.escaped IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(r.escaped) END
                       || CASE WHEN r.mode IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(r.mode) END
                       || CASE WHEN r.result_cached IS NULL THEN '[]'::jsonb
                               ELSE jsonb_build_array(r.result_cached) END
        )::text, 'UTF8')), 'hex')
$$
"""

# Under the head row's lock: a call_id already logged is skipped (so the head never counts a row that was not
# inserted), then id, created_at, db_user and the chain are set by the server, and the head moves on.
CHAIN_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {SCHEMA}.audit_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER {_SAFE} AS $$
DECLARE
    head {SCHEMA}.{HEAD};
BEGIN
    SELECT * INTO head FROM {SCHEMA}.{HEAD} WHERE id = 1 FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO {SCHEMA}.{HEAD} (id, rows) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
        SELECT * INTO head FROM {SCHEMA}.{HEAD} WHERE id = 1 FOR UPDATE;
    END IF;
    IF EXISTS (SELECT FROM {SCHEMA}.{AUDIT} WHERE call_id = NEW.call_id) THEN
        RETURN NULL;
    END IF;
    NEW.id := nextval(pg_get_serial_sequence('{SCHEMA}.{AUDIT}', 'id'));
    NEW.created_at := now();
    NEW.db_user := session_user;
    NEW.prev_hash := head.last_hash;
    NEW.row_hash := {SCHEMA}.audit_hash(NEW);
    UPDATE {SCHEMA}.{HEAD} SET rows = head.rows + 1, last_id = NEW.id, last_hash = NEW.row_hash, updated_at = now()
    WHERE id = 1;
    RETURN NEW;
END
$$
"""

CHAIN_TRIGGER = (
    f"CREATE TRIGGER paysql_audit_chain BEFORE INSERT ON {SCHEMA}.{AUDIT} "
    f"FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.audit_chain()"
)

_AUDIT_COLUMNS = (
    "call_id, user_name, source, question, generated_sql, executed_sql, provider, model, status, success, error, "
    "attempts, cached, row_count, llm_time_ms, execution_time_ms, notebook, schema_hash, parent_call_id, escaped, "
    "mode, result_cached"
)

# What a reader may call. Each takes its own lock-free path except audit_write (the chain's row lock).
FUNCTIONS = (
    f"""CREATE OR REPLACE FUNCTION {SCHEMA}.audit_write(rec jsonb) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER {_SAFE} AS $$
    DECLARE
        written integer;
    BEGIN
        INSERT INTO {SCHEMA}.{AUDIT} ({_AUDIT_COLUMNS})
        SELECT r.call_id, r.user_name, r.source, r.question, r.generated_sql, r.executed_sql, r.provider, r.model,
            r.status, r.success, r.error, coalesce(r.attempts, 1), coalesce(r.cached, false), r.row_count,
            r.llm_time_ms, r.execution_time_ms, r.notebook, r.schema_hash, r.parent_call_id, r.escaped, r.mode,
            r.result_cached
        FROM jsonb_populate_record(NULL::{SCHEMA}.{AUDIT}, rec) AS r;
        GET DIAGNOSTICS written = ROW_COUNT;
        RETURN written > 0;  -- false: this call_id is already in the log
    END
    $$""",
    f"""CREATE OR REPLACE FUNCTION {SCHEMA}.audit_start(rec jsonb) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER {_SAFE} AS $$
    BEGIN
        INSERT INTO {SCHEMA}.{STARTS} (call_id, started_at, db_user, user_name, source, question, generated_sql,
            notebook, escaped)
        SELECT r.call_id, now(), session_user, r.user_name, r.source, r.question, r.generated_sql, r.notebook,
            r.escaped
        FROM jsonb_populate_record(NULL::{SCHEMA}.{STARTS}, rec) AS r
        ON CONFLICT (call_id) DO NOTHING;
        RETURN FOUND;
    END
    $$""",
    # the caller's own calls (its database role; narrowed to one API caller by name), every call for an auditor
    f"""CREATE OR REPLACE FUNCTION {SCHEMA}.audit_calls(caller text DEFAULT NULL) RETURNS SETOF {SCHEMA}.{AUDIT}
    LANGUAGE sql STABLE SECURITY DEFINER {_SAFE} AS $$
        SELECT a.* FROM {SCHEMA}.{AUDIT} AS a
        WHERE (a.db_user = session_user OR has_table_privilege(session_user, '{SCHEMA}.{AUDIT}', 'SELECT'))
          AND (caller IS NULL OR a.user_name = caller)
    $$""",
    # aggregate figures of every call: no question, SQL, error or name in it
    f"""CREATE OR REPLACE FUNCTION {SCHEMA}.audit_activity()
    RETURNS TABLE (created_at timestamptz, status text, success boolean, execution_time_ms double precision)
    LANGUAGE sql STABLE SECURITY DEFINER {_SAFE} AS $$
        SELECT a.created_at, a.status, a.success, a.execution_time_ms FROM {SCHEMA}.{AUDIT} AS a
    $$""",
    f"""CREATE OR REPLACE FUNCTION {SCHEMA}.audit_unfinished(caller text DEFAULT NULL)
    RETURNS TABLE (call_id uuid, started_at timestamptz, db_user text, user_name text, source text, question text,
                   generated_sql text, notebook text, escaped text[])
    LANGUAGE sql STABLE SECURITY DEFINER {_SAFE} AS $$
        SELECT s.call_id, s.started_at, s.db_user, s.user_name, s.source, s.question, s.generated_sql, s.notebook,
            s.escaped
        FROM {SCHEMA}.{STARTS} AS s
        WHERE NOT EXISTS (SELECT FROM {SCHEMA}.{AUDIT} AS a WHERE a.call_id = s.call_id)
          AND (s.db_user = session_user OR has_table_privilege(session_user, '{SCHEMA}.{STARTS}', 'SELECT'))
          AND (caller IS NULL OR s.user_name = caller)
        ORDER BY s.started_at
    $$""",
    f"""CREATE OR REPLACE FUNCTION {SCHEMA}.cache_get(q text, h text, p text, m text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER {_SAFE} AS $$
        SELECT c.sql FROM {SCHEMA}.{CACHE} AS c
        WHERE c.question_key = q AND c.schema_hash = h AND c.provider = p AND c.model = m
    $$""",
    f"""CREATE OR REPLACE FUNCTION {SCHEMA}.cache_put(q text, h text, p text, m text, s text) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER {_SAFE} AS $$
        INSERT INTO {SCHEMA}.{CACHE} (question_key, schema_hash, provider, model, sql) VALUES (q, h, p, m, s)
        ON CONFLICT (question_key, schema_hash, provider, model) DO UPDATE SET sql = EXCLUDED.sql, updated_at = now()
    $$""",
    f"""CREATE OR REPLACE FUNCTION {SCHEMA}.examples_list() RETURNS TABLE (question text, sql text)
    LANGUAGE sql STABLE SECURITY DEFINER {_SAFE} AS $$
        SELECT e.question, e.sql FROM {SCHEMA}.{EXAMPLES} AS e ORDER BY e.id
    $$""",
    f"""CREATE OR REPLACE FUNCTION {SCHEMA}.examples_add(q text, s text, src text) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER {_SAFE} AS $$
        INSERT INTO {SCHEMA}.{EXAMPLES} (question, sql, source) VALUES (q, s, src)
        ON CONFLICT (question, sql) DO NOTHING
    $$""",
    f"""CREATE OR REPLACE FUNCTION {SCHEMA}.key_lookup(key_hash text)
    RETURNS TABLE (keys bigint, name text, revoked boolean)
    LANGUAGE sql STABLE SECURITY DEFINER {_SAFE} AS $$
        SELECT (SELECT count(*) FROM {SCHEMA}.{KEYS}), k.name, k.revoked_at IS NOT NULL
        FROM (SELECT 1) AS one LEFT JOIN {SCHEMA}.{KEYS} AS k ON k.key_hash = key_lookup.key_hash
    $$""",
)

WRITER_FUNCTIONS = (  # what an analyst's role (and paysql serve's) may call
    f"{SCHEMA}.audit_write(jsonb)",
    f"{SCHEMA}.audit_start(jsonb)",
    f"{SCHEMA}.cache_get(text, text, text, text)",
    f"{SCHEMA}.cache_put(text, text, text, text, text)",
    f"{SCHEMA}.examples_list()",
    f"{SCHEMA}.examples_add(text, text, text)",
)
MONITOR_FUNCTIONS = (
    f"{SCHEMA}.audit_calls(text)",
    f"{SCHEMA}.audit_activity()",
    f"{SCHEMA}.audit_unfinished(text)",
)
KEY_LOOKUP = f"{SCHEMA}.key_lookup(text)"
AUDIT_HASH = f"{SCHEMA}.audit_hash({SCHEMA}.{AUDIT})"
AUDITOR_TABLES = (f"{SCHEMA}.{AUDIT}", f"{SCHEMA}.{STARTS}", f"{SCHEMA}.{HEAD}")
ALL_FUNCTIONS = (*WRITER_FUNCTIONS, *MONITOR_FUNCTIONS, KEY_LOOKUP, AUDIT_HASH)


def writer_grants(role_sql: str) -> list[str]:
    """USAGE on the schema and EXECUTE on the reader's functions, for a quoted role name."""
    return [
        f"GRANT USAGE ON SCHEMA {SCHEMA} TO {role_sql}",
        f"REVOKE CREATE ON SCHEMA {SCHEMA} FROM {role_sql}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {SCHEMA} FROM {role_sql}",
        f"GRANT EXECUTE ON FUNCTION {', '.join((*WRITER_FUNCTIONS, *MONITOR_FUNCTIONS))} TO {role_sql}",
    ]


def auditor_grants(role_sql: str) -> list[str]:
    """SELECT on the audit tables (so the monitoring functions show every call), and the schema on the search path
    so the brief's monitoring SQL (``SELECT ... FROM query_audit_log``) runs as written."""
    return [
        f"GRANT USAGE ON SCHEMA {SCHEMA} TO {role_sql}",
        f"REVOKE CREATE ON SCHEMA {SCHEMA} FROM {role_sql}",
        f"GRANT SELECT ON {', '.join(AUDITOR_TABLES)} TO {role_sql}",
        f"GRANT EXECUTE ON FUNCTION {', '.join((*MONITOR_FUNCTIONS, AUDIT_HASH))} TO {role_sql}",
        f'ALTER ROLE {role_sql} SET search_path = "$user", public, {SCHEMA}',
    ]


# --- creating and migrating (an admin) ----------------------------------------------------------------------------

_GRANTEES = text(
    """
    SELECT DISTINCT a.grantee::regrole::text FROM pg_class c, aclexplode(c.relacl) AS a
    WHERE c.oid = to_regclass(:t) AND a.grantee <> 0 AND a.grantee <> c.relowner
      AND a.privilege_type = ANY(CAST(:privileges AS text[]))
    """
)


def _exists(conn: Connection, name: str) -> bool:
    return conn.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": name}).scalar_one()


def _grantees(conn: Connection, table: str, privileges: tuple[str, ...]) -> set[str]:
    """The roles (already quoted, as ``regrole`` prints them) holding one of ``privileges`` on ``table``, owner
    excepted."""
    return set(conn.execute(_GRANTEES, {"t": table, "privileges": list(privileges)}).scalars())


def _move_legacy(conn: Connection) -> tuple[list[str], set[str], set[str]]:
    """Move the audit log, cache and examples of ``public`` (and the keys of ``paysql_api``) into the schema;
    returns what moved, the roles that had privileges on them (they get the functions instead) and the roles that
    could look keys up."""
    run = conn.exec_driver_sql
    moved: list[str] = []
    users: set[str] = set()
    for name in (AUDIT, CACHE, EXAMPLES):
        old = f"{LEGACY_SCHEMA}.{name}"
        if not _exists(conn, old) or _exists(conn, f"{SCHEMA}.{name}"):
            continue
        # the roles that appended to the log or kept the cache: readers (a role that could only SELECT the log
        # loses it: make it an auditor with grant-readonly --auditor)
        users |= _grantees(conn, old, ("INSERT",) if name == AUDIT else ("SELECT", "INSERT", "UPDATE"))
        if name == AUDIT:  # the old chain: a trigger under an advisory lock, functions in public
            run(f"DROP TRIGGER IF EXISTS paysql_audit_chain ON {old}")
            run("DROP FUNCTION IF EXISTS public.paysql_audit_chain()")
            run(f"DROP FUNCTION IF EXISTS public.paysql_audit_hash({old})")
        run(f"ALTER TABLE {old} SET SCHEMA {SCHEMA}")
        moved.append(f"{old} -> {SCHEMA}.{name}")
    keys_old = f"{LEGACY_KEYS_SCHEMA}.{KEYS}"
    if _exists(conn, keys_old) and not _exists(conn, f"{SCHEMA}.{KEYS}"):
        holders = conn.execute(
            text(
                "SELECT DISTINCT a.grantee::regrole::text FROM pg_proc p, aclexplode(p.proacl) AS a "
                "WHERE p.oid = to_regprocedure(:f) AND a.grantee <> 0 AND a.grantee <> p.proowner"
            ),
            {"f": f"{LEGACY_KEYS_SCHEMA}.key_lookup(text)"},
        ).scalars()
        users_of_keys = set(holders)
        run(f"DROP FUNCTION IF EXISTS {LEGACY_KEYS_SCHEMA}.key_lookup(text)")
        run(f"ALTER TABLE {keys_old} SET SCHEMA {SCHEMA}")
        moved.append(f"{keys_old} -> {SCHEMA}.{KEYS}")
        if not conn.execute(
            text(
                "SELECT EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = :s)"
            ),
            {"s": LEGACY_KEYS_SCHEMA},
        ).scalar_one():
            run(f"DROP SCHEMA IF EXISTS {LEGACY_KEYS_SCHEMA}")
    else:
        users_of_keys = set()
    return moved, users, users_of_keys


def _has_column(conn: Connection, table: str, column: str) -> bool:
    query = "SELECT 1 FROM information_schema.columns WHERE table_schema = :s AND table_name = :t AND column_name = :c"
    return conn.execute(text(query), {"s": SCHEMA, "t": table, "c": column}).first() is not None


def ensure(conn: Connection) -> list[str]:
    """Create (or migrate, or upgrade) paysql's schema, tables and functions, as an admin (the caller commits);
    returns what was moved from ``public`` / ``paysql_api``, one ``old -> new`` per table."""
    run = conn.exec_driver_sql
    run("SET LOCAL lock_timeout = '10s'")  # another admin's set-up may hold the schema for a moment, not forever
    run("SELECT pg_advisory_xact_lock(hashtext('paysql-magic store'))")  # one admin's set-up at a time
    run(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    run(f"REVOKE ALL ON SCHEMA {SCHEMA} FROM PUBLIC")
    moved, users, key_users = _move_legacy(conn)
    run(AUDIT_DDL)
    if not _has_column(conn, AUDIT, "result_cached"):  # an older table: the additive upgrade (locks and scans it once)
        run(AUDIT_UPGRADE)
    for ddl in (HEAD_DDL, HEAD_INIT, STARTS_DDL, CACHE_DDL, EXAMPLES_DDL, KEYS_DDL):
        run(ddl)
    run(f"CREATE UNIQUE INDEX IF NOT EXISTS api_keys_active_name ON {SCHEMA}.{KEYS} (name) WHERE revoked_at IS NULL")
    for statement in (*COMMENTS, HASH_FUNCTION, CHAIN_FUNCTION, *FUNCTIONS):
        run(statement)
    trigger = "SELECT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = to_regclass(:t) AND tgname = 'paysql_audit_chain')"
    if not conn.execute(text(trigger), {"t": f"{SCHEMA}.{AUDIT}"}).scalar_one():  # no table lock when it is there
        run(CHAIN_TRIGGER)
    for table in (AUDIT, HEAD, STARTS, CACHE, EXAMPLES, KEYS):
        run(f"REVOKE ALL ON {SCHEMA}.{table} FROM PUBLIC{''.join(', ' + r for r in sorted(users))}")
    run(f"REVOKE ALL ON FUNCTION {', '.join(ALL_FUNCTIONS)}, {SCHEMA}.audit_chain() FROM PUBLIC")
    for role in sorted(users):
        for statement in writer_grants(role):
            run(statement)
    for role in sorted(key_users):
        run(f"GRANT USAGE ON SCHEMA {SCHEMA} TO {role}")
        run(f"GRANT EXECUTE ON FUNCTION {KEY_LOOKUP} TO {role}")
    run(
        f"COMMENT ON SCHEMA {SCHEMA} IS '{_MARK} the audit log, call starts, query cache, verified examples and API "
        "keys of paysql-magic; other roles use them only through its functions'"
    )
    return moved


# --- where a database keeps them ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Store:
    """Where one database keeps paysql's tables: the ``paysql`` schema, or ``public`` before the migration."""

    schema: str = SCHEMA

    @property
    def legacy(self) -> bool:
        return self.schema != SCHEMA

    def table(self, name: str) -> str:
        return f"{self.schema}.{name}"


_STATE = text(
    f"""
    SELECT to_regclass('{SCHEMA}.{AUDIT}') IS NOT NULL AS present,
        to_regclass('{LEGACY_SCHEMA}.{AUDIT}') IS NOT NULL AS legacy,
        coalesce(obj_description(to_regnamespace('{SCHEMA}'), 'pg_namespace'), '') LIKE '{_MARK}%' AS current,
        coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false)
            OR CASE WHEN to_regnamespace('{SCHEMA}') IS NULL
                    THEN has_database_privilege(current_database(), 'CREATE')
                    ELSE pg_has_role((SELECT nspowner FROM pg_namespace WHERE nspname = '{SCHEMA}'), 'USAGE') END
            AS may_create
    """
)

_stores: dict[str, Store] = {}
_lock = threading.Lock()


def _key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def locate(engine: Engine) -> Store:
    """Where the database behind ``engine`` keeps paysql's tables (found once per process). A role that may create
    or own the schema brings it up to date first (a migration an existing database takes on its own); any other role
    uses what is there: the schema, the old tables in ``public``, or (nothing yet) the schema it cannot create, whose
    writes fail with the one-line fix (``privileges``). Raises when the database cannot be reached."""
    key = _key(engine)
    found = _stores.get(key)
    if found is not None:
        return found
    with _lock:
        with connect(engine) as conn:
            conn.exec_driver_sql(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")  # whatever the role's
            state = conn.execute(_STATE).one()
            conn.rollback()
            present = state.present
            if not state.current and state.may_create:
                try:
                    with conn.begin():
                        ensure(conn)
                    present = True
                except SQLAlchemyError:
                    conn.rollback()  # not the owner after all: use what is there
        found = Store(LEGACY_SCHEMA) if state.legacy and not present else Store(SCHEMA)
        _stores[key] = found
    return found


def forget(engine: Engine) -> None:
    """Find the tables again on next use (an admin migrated them while this process ran)."""
    _stores.pop(_key(engine), None)


def forget_all() -> None:
    _stores.clear()


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A short READ WRITE transaction on psycopg 3 with paysql's own timeouts and encoding (``WRITE_BEGIN``: the
    BEGIN and its settings in one round trip), committed when the block ends."""
    with autocommit(psycopg_engine(engine)) as conn:
        conn.exec_driver_sql(WRITE_BEGIN)
        yield conn
        conn.commit()


def write_record(engine: Engine, function: str, record: Mapping[str, Any]) -> bool:
    """``SELECT paysql.<function>(record)`` (``audit_write``, ``audit_start``: they take one jsonb) in its own short
    READ WRITE transaction, as ``write_transaction`` would run it, in ONE round trip: ``WRITE_BEGIN``, the call and
    COMMIT go as one simple-protocol query. The record travels as a literal of ASCII-only JSON (any other character
    is a ``\\uXXXX`` escape, which jsonb reads back as the character) in an ``E''`` string, so neither the connection's
    encoding nor ``standard_conforming_strings`` can change what arrives. Returns the function's boolean; a
    database error is raised as SQLAlchemy raises it (``DBAPIError``, with the driver's error as ``orig``)."""
    call = f"SELECT {SCHEMA}.{function}({_jsonb(record)})"
    with autocommit(psycopg_engine(engine)) as conn:
        raw: psycopg.Connection = conn.connection.driver_connection
        try:
            with raw.cursor() as cur:
                cur.execute(f"{WRITE_BEGIN}; {call}; COMMIT")
                return bool(next(cur.fetchone()[0] for _ in cur.results() if cur.description))
        except psycopg.Error as exc:
            shown = f"SELECT {SCHEMA}.{function}(...)"
            raise DBAPIError.instance(shown, None, exc, psycopg.Error, connection_invalidated=raw.broken) from None


def _jsonb(value: Mapping[str, Any]) -> str:
    """``value`` as a jsonb literal that is plain ASCII, whatever it holds."""
    escaped = json.dumps(value, ensure_ascii=True).replace("\\", "\\\\").replace("'", "''")
    return f"E'{escaped}'::jsonb"
