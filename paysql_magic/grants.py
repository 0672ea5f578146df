"""Least privilege: the statements that make a role read the analysed tables and use paysql's own tables, nothing
else. The demo database's reader and a production role are granted by the same function.

Analysed relations are tables, views, materialized views, partitioned tables (their partitions are read through
them) and foreign tables, in any schema: ``--tables acquiring.payments`` or a bare name (found on the search path);
without ``--tables``, every such relation of every non-system schema, paysql's own excepted.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import Connection, text

from paysql_magic import audit, cache, examples, store
from paysql_magic.errors import ConfigError

OWN_TABLES = (audit.AUDIT_TABLE, cache.CACHE_TABLE, examples.EXAMPLES_TABLE)
# paysql's own schemas: its tables (never readable by an analyst, see store.py), the API keys of older versions and
# the demo's metadata
OWN_SCHEMAS = (store.SCHEMA, store.LEGACY_KEYS_SCHEMA, "paysql_meta")
# Session limits set on the roles made here: a sort or hash spills to temp files at most TEMP_FILE_LIMIT per
# query (only a superuser may set it: PGC_SUSET), and work_mem keeps one sort's memory modest
TEMP_FILE_LIMIT = "1GB"
WORK_MEM = "16MB"
RELATION_KINDS = ("r", "v", "m", "p", "f")  # table, view, materialized view, partitioned table, foreign table
_RESERVED_ROLES = ("public", "none", "current_user", "session_user", "current_role")
_MAX_NAME_BYTES = 63  # NAMEDATALEN - 1: PostgreSQL cuts longer names


class GrantError(ConfigError):
    """Why ``grant-readonly`` grants nothing: an unknown table or schema, a role that cannot be granted."""


class Relation(NamedTuple):
    """A table or view, by schema and name (both exactly as stored in the catalog)."""

    schema: str
    name: str

    def sql(self) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(self.name)}"

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _dollar_quote(body: str) -> str:
    """``body`` between dollar quotes whose tag it does not contain."""
    tag, n = "$$", 0
    while tag in body:
        n += 1
        tag = f"$paysql{n}$"
    return f"{tag}{body}{tag}"


def _relation(table: str | Relation | tuple[str, str]) -> Relation:
    """A bare name (the demo's tables) is in schema public."""
    return Relation("public", table) if isinstance(table, str) else Relation(*table)


def _create_role(role: str) -> list[str]:
    r = quote_ident(role)
    create = f" BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {quote_literal(role)}) "
    create += f"THEN CREATE ROLE {r}; END IF; END "
    return [
        f"DO {_dollar_quote(create)}",
        f"ALTER ROLE {r} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
    ]


def limit_statements(
    role: str, temp_file_limit: str | None = TEMP_FILE_LIMIT, work_mem: str | None = WORK_MEM
) -> list[str]:
    """The session limits of ``role`` (None leaves one as it is: ``temp_file_limit`` needs a superuser)."""
    r = quote_ident(role)
    out = [f"ALTER ROLE {r} SET temp_file_limit = {quote_literal(temp_file_limit)}"] if temp_file_limit else []
    return out + ([f"ALTER ROLE {r} SET work_mem = {quote_literal(work_mem)}"] if work_mem else [])


def readonly_statements(
    role: str,
    database: str,
    tables: Sequence[str | Relation],
    *,
    temp_file_limit: str | None = TEMP_FILE_LIMIT,
    work_mem: str | None = WORK_MEM,
) -> list[str]:
    """SQL that creates ``role`` if missing and lets it SELECT ``tables`` (``Relation``, or a bare name: schema
    public) with USAGE on their schemas, and use paysql's own schema through its functions only (append audit rows
    and call starts, the cache by key, the verified examples, the monitoring figures of its own calls): no table
    of paysql's, no CREATE, no signals, temp files and sort memory bounded."""
    r, db = quote_ident(role), quote_ident(database)
    relations = list(dict.fromkeys(_relation(t) for t in tables))
    schemas = [s for s in dict.fromkeys(rel.schema for rel in relations) if s != "public"]
    analysed = ", ".join(rel.sql() for rel in relations)
    return [
        *_create_role(role),
        *limit_statements(role, temp_file_limit, work_mem),
        f"REVOKE CREATE ON SCHEMA public FROM PUBLIC, {r}",
        f"REVOKE CREATE, TEMPORARY ON DATABASE {db} FROM PUBLIC, {r}",
        f"GRANT CONNECT ON DATABASE {db} TO {r}",
        f"GRANT USAGE ON SCHEMA public TO {r}",
        *(f"GRANT USAGE ON SCHEMA {quote_ident(s)} TO {r}" for s in schemas),
        *(f"REVOKE CREATE ON SCHEMA {quote_ident(s)} FROM {r}" for s in schemas),
        *([f"REVOKE ALL ON {analysed} FROM {r}", f"GRANT SELECT ON {analysed} TO {r}"] if relations else []),
        *store.writer_grants(r),
        f"GRANT EXECUTE ON FUNCTION {store.KEY_LOOKUP} TO {r}",  # paysql serve checks API keys through it
        # any role may signal its own sessions: without this, one reader could kill every other reader's session
        "REVOKE EXECUTE ON FUNCTION pg_terminate_backend(integer, bigint), pg_cancel_backend(integer) FROM PUBLIC",
    ]


def auditor_statements(
    role: str, database: str, *, temp_file_limit: str | None = TEMP_FILE_LIMIT, work_mem: str | None = WORK_MEM
) -> list[str]:
    """SQL that creates ``role`` if missing and lets it read paysql's audit log and call starts (every caller's),
    with the monitoring functions and ``query_audit_log`` on its search path: nothing else, no CREATE."""
    r, db = quote_ident(role), quote_ident(database)
    return [
        *_create_role(role),
        *limit_statements(role, temp_file_limit, work_mem),
        f"REVOKE CREATE ON SCHEMA public FROM PUBLIC, {r}",
        f"REVOKE CREATE, TEMPORARY ON DATABASE {db} FROM PUBLIC, {r}",
        f"GRANT CONNECT ON DATABASE {db} TO {r}",
        *store.auditor_grants(r),
    ]


_ANALYSED = text(
    """
    SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind::text = ANY(CAST(:kinds AS text[])) AND NOT c.relispartition
        AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
        AND n.nspname <> ALL(CAST(:own_schemas AS text[])) AND c.relname <> ALL(CAST(:own_tables AS text[]))
        AND NOT EXISTS (SELECT FROM pg_depend d  -- the tables and views of an extension
                        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
    ORDER BY n.nspname, c.relname
    """
)


def analysed_relations(conn: Connection) -> list[Relation]:
    """Every table, view, materialized view, partitioned and foreign table (no partitions) of every non-system
    schema, paysql's own and extensions' excepted."""
    params = {"kinds": list(RELATION_KINDS), "own_schemas": list(OWN_SCHEMAS), "own_tables": list(OWN_TABLES)}
    return [Relation(*row) for row in conn.execute(_ANALYSED, params)]


def split_names(value: str) -> list[str]:
    """``--tables``: names separated by commas (a comma inside double quotes belongs to the name)."""
    names, current, quoted = [], [], False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            names.append("".join(current))
            current = []
        else:
            current.append(ch)
    names.append("".join(current))
    return [name.strip() for name in names if name.strip()]


_FOLD = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)  # what PostgreSQL does to unquoted names


def _parts(name: str) -> list[tuple[str, bool]] | None:
    """``schema.table`` or ``table`` split into (part, quoted); None when it is no such name."""
    parts: list[tuple[str, bool]] = []
    i, end = 0, len(name)
    while True:
        while i < end and name[i].isspace():
            i += 1
        if i < end and name[i] == '"':
            chunks, j = [], i + 1
            while True:
                k = name.find('"', j)
                if k < 0:
                    return None
                chunks.append(name[j:k])
                if name.startswith('"', k + 1):
                    chunks.append('"')
                    j = k + 2
                    continue
                i = k + 1
                break
            part = ("".join(chunks), True)
        else:
            k = name.find(".", i)
            k = end if k < 0 else k
            part, i = (name[i:k].strip(), False), k
            if '"' in part[0]:
                return None
        if not part[0]:
            return None
        parts.append(part)
        while i < end and name[i].isspace():
            i += 1
        if i == end:
            return parts if len(parts) <= 2 else None
        if name[i] != ".":
            return None
        i += 1


_FIND = text(
    """
    SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relname = :name AND n.nspname = ANY(CAST(:schemas AS text[]))
    ORDER BY array_position(CAST(:schemas AS text[]), n.nspname::text) LIMIT 1
    """
)


def resolve(conn: Connection, name: str) -> Relation:
    """The relation ``name`` (``schema.table``, or a bare name on the search path) means; ``GrantError`` when there
    is none. A name is tried as typed first, then folded to lower case as PostgreSQL folds an unquoted name."""
    parts = _parts(name)
    if parts is None:
        raise GrantError(f"not a table name: {name}")
    typed = tuple(part for part, _ in parts)
    folded = tuple(part if quoted else part.translate(_FOLD) for part, quoted in parts)
    candidates = list(dict.fromkeys((typed, folded)))
    if len(typed) == 2:
        existing = [c for c in candidates if _schema_exists(conn, c[0])]
        if not existing:
            raise GrantError(f"no schema {name.rpartition('.')[0].strip()}")
        lookups = [([c[0]], c[1]) for c in existing]
    else:
        path = list(conn.execute(text("SELECT current_schemas(false)")).scalar_one())
        lookups = [(path, c[0]) for c in candidates]
    for schemas, relname in lookups:
        row = conn.execute(_FIND, {"name": relname, "schemas": schemas}).first()
        if row is None:
            continue
        if row.relkind not in RELATION_KINDS:
            raise GrantError(f"{row.nspname}.{row.relname} is not a table or view")
        return Relation(row.nspname, row.relname)
    raise GrantError(f"no table {name}")


def _schema_exists(conn: Connection, schema: str) -> bool:
    return conn.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}).first() is not None


def relations(conn: Connection, tables: str | None) -> list[Relation]:
    """``--tables`` resolved (duplicates dropped), or every analysed relation when it is not given."""
    if not tables or not tables.strip():
        return analysed_relations(conn)
    return list(dict.fromkeys(resolve(conn, name) for name in split_names(tables)))


def check_role(conn: Connection, role: str) -> None:
    """``GrantError`` for a role this command must not (or cannot) restrict."""
    if not role.strip():
        raise GrantError("the role name is empty")
    if len(role.encode()) > _MAX_NAME_BYTES:
        raise GrantError(f"role name longer than {_MAX_NAME_BYTES} bytes: {role}")
    if role.lower() in _RESERVED_ROLES or role.startswith("pg_"):
        raise GrantError(f"role {role} is reserved by PostgreSQL")
    users = conn.execute(text("SELECT current_user::text, session_user::text")).one()
    if role in tuple(users):
        raise GrantError(f"role {role} is the one running the grants: name the analysts' role, not the admin")


def describe(relations: Sequence[Relation]) -> str:
    """E.g. ``5 relations in schemas acquiring (3), public (2)``."""
    if not relations:
        return "0 relations"
    counts = Counter(rel.schema for rel in relations)
    word = "schema" if len(counts) == 1 else "schemas"
    listed = ", ".join(f"{schema} ({n})" for schema, n in sorted(counts.items()))
    return f"{len(relations)} relation{'s' if len(relations) != 1 else ''} in {word} {listed}"


_CHECK_RELATIONS = text(
    """
    SELECT count(*) FILTER (WHERE has_table_privilege(CAST(:role AS text), c.oid, 'SELECT')) AS readable,
        count(*) FILTER (WHERE has_table_privilege(CAST(:role AS text), c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE'))
            AS writable
    FROM unnest(CAST(:schemas AS text[]), CAST(:names AS text[])) AS r(schema, name)
    JOIN pg_namespace n ON n.nspname = r.schema JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = r.name
    """
)


def applied(conn: Connection, role: str, database: str, granted: Sequence[Relation]) -> str:
    """What ``role`` may do now, read back from the server (so the line printed is true)."""
    params = {"role": role, "schemas": [r.schema for r in granted], "names": [r.name for r in granted]}
    readable, writable = conn.execute(_CHECK_RELATIONS, params).one()
    schemas = sorted({"public", *(r.schema for r in granted)})
    creates = [s for s in (*schemas, store.SCHEMA) if _has(conn, "has_schema_privilege(:r, :s, 'CREATE')", role, s)]
    no_usage = [s for s in schemas if not _has(conn, "has_schema_privilege(:r, :s, 'USAGE')", role, s)]
    create_db = conn.execute(
        text("SELECT has_database_privilege(:r, :d, 'CREATE') OR has_database_privilege(:r, :d, 'TEMPORARY')"),
        {"r": role, "d": database},
    ).scalar_one()
    own = [
        t for t in OWN_QUALIFIED if _has(conn, "has_table_privilege(:r, :s, 'SELECT, INSERT, UPDATE, DELETE')", role, t)
    ]
    appends = _has(conn, "has_function_privilege(:r, :s, 'EXECUTE')", role, store.WRITER_FUNCTIONS[0])
    problems = []
    if readable != len(granted):
        problems.append(f"it may SELECT only {readable} of them")
    if no_usage:
        problems.append(f"it has no USAGE on schema {', '.join(no_usage)}")
    if writable:
        problems.append(f"it may still change {writable} of them")
    if creates:
        problems.append(f"it may still CREATE in schema {', '.join(creates)}")
    if create_db:
        problems.append(f"it may still create schemas or temporary tables in {database}")
    if own:
        problems.append(f"it may still read or write {', '.join(own)} directly")
    if not appends:
        problems.append("it may not append to the audit log")
    done = f"-- applied to {database}: role {role} may SELECT {describe(granted)} (USAGE on their schemas)"
    limits = role_limits(conn, role)
    if problems:
        return f"{done}; WARNING: {'; '.join(problems)} (granted to PUBLIC or to a role it is a member of); {limits}"
    own = "use paysql's audit log, cache and examples through its functions only"
    return f"{done}, {own}, {limits}: read-only"


def applied_auditor(conn: Connection, role: str) -> str:
    """What the auditor ``role`` may read now, read back from the server."""
    readable = [t for t in store.AUDITOR_TABLES if _has(conn, "has_table_privilege(:r, :s, 'SELECT')", role, t)]
    writes = [t for t in OWN_QUALIFIED if _has(conn, "has_table_privilege(:r, :s, 'INSERT, UPDATE, DELETE')", role, t)]
    done = f"-- applied: auditor {role} may read {', '.join(readable) or 'nothing'} (every caller's calls)"
    if writes or len(readable) != len(store.AUDITOR_TABLES):
        return f"{done}; WARNING: it may write {', '.join(writes)}" if writes else f"{done}; WARNING: not every table"
    return f"{done}, query_audit_log on its search path, {role_limits(conn, role)}"


OWN_QUALIFIED = tuple(f"{store.SCHEMA}.{t}" for t in (store.AUDIT, store.STARTS, store.HEAD, store.CACHE,
                                                       store.EXAMPLES, store.KEYS))  # fmt: skip


def _has(conn: Connection, check: str, role: str, thing: str) -> bool:
    return conn.execute(text(f"SELECT {check}"), {"r": role, "s": thing}).scalar_one()


def role_limits(conn: Connection, role: str) -> str:
    """E.g. ``temp_file_limit 1GB, work_mem 16MB`` as set on ``role``, or a warning when temp files are unbounded."""
    rows = conn.execute(
        text(
            "SELECT split_part(c, '=', 1), split_part(c, '=', 2) FROM pg_db_role_setting s "
            "JOIN pg_roles r ON r.oid = s.setrole, unnest(s.setconfig) AS c WHERE r.rolname = :r AND s.setdatabase = 0"
        ),
        {"r": role},
    ).all()
    settings = dict(rows)
    temp = settings.get("temp_file_limit")
    work = f", work_mem {settings['work_mem']}" if "work_mem" in settings else ""
    if temp is None or temp == "-1":
        return (
            f"WARNING: temp_file_limit unset: a query may fill the disk with temp files (set it as a superuser){work}"
        )
    return f"temp files at most {temp} a query{work}"


def is_superuser(conn: Connection) -> bool:
    return conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar_one()


def ensure_own_tables(conn: Connection) -> list[str]:
    """Create, migrate or upgrade paysql's own schema (audit log, call starts, cache, examples, API keys), so its
    functions can be granted; returns the tables moved from ``public``."""
    return store.ensure(conn)


def apply(conn: Connection, statements: Sequence[str]) -> None:
    """Run ``statements`` as an admin (the caller commits)."""
    for statement in statements:
        conn.exec_driver_sql(statement)
