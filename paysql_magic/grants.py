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

from paysql_magic import audit, cache, examples
from paysql_magic.errors import ConfigError

OWN_TABLES = (audit.AUDIT_TABLE, cache.CACHE_TABLE, examples.EXAMPLES_TABLE)
# paysql's own schemas: the API keys (never readable by an analyst, see api/keys.py) and the demo's metadata
OWN_SCHEMAS = ("paysql_api", "paysql_meta")
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


def readonly_statements(role: str, database: str, tables: Sequence[str | Relation]) -> list[str]:
    """SQL that creates ``role`` if missing and lets it SELECT ``tables`` (``Relation``, or a bare name: schema
    public) with USAGE on their schemas, append to the audit log and keep the query cache and verified examples:
    no UPDATE/DELETE on the audit log, no CREATE, no signals."""
    r, db = quote_ident(role), quote_ident(database)
    relations = list(dict.fromkeys(_relation(t) for t in tables))
    schemas = [s for s in dict.fromkeys(rel.schema for rel in relations) if s != "public"]
    analysed = ", ".join(rel.sql() for rel in relations)
    own = f"{cache.CACHE_TABLE}, {examples.EXAMPLES_TABLE}"
    create = f" BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {quote_literal(role)}) "
    create += f"THEN CREATE ROLE {r}; END IF; END "
    return [
        f"DO {_dollar_quote(create)}",
        f"ALTER ROLE {r} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
        f"REVOKE CREATE ON SCHEMA public FROM PUBLIC, {r}",
        f"REVOKE CREATE, TEMPORARY ON DATABASE {db} FROM PUBLIC, {r}",
        f"GRANT CONNECT ON DATABASE {db} TO {r}",
        f"GRANT USAGE ON SCHEMA public TO {r}",
        *(f"GRANT USAGE ON SCHEMA {quote_ident(s)} TO {r}" for s in schemas),
        *(f"REVOKE CREATE ON SCHEMA {quote_ident(s)} FROM {r}" for s in schemas),
        *([f"REVOKE ALL ON {analysed} FROM {r}", f"GRANT SELECT ON {analysed} TO {r}"] if relations else []),
        f"REVOKE ALL ON {audit.AUDIT_TABLE} FROM {r}",
        f"GRANT INSERT, SELECT ON {audit.AUDIT_TABLE} TO {r}",
        f"REVOKE ALL ON {own} FROM {r}",
        f"GRANT SELECT, INSERT, UPDATE ON {own} TO {r}",
        # any role may signal its own sessions: without this, one reader could kill every other reader's session
        "REVOKE EXECUTE ON FUNCTION pg_terminate_backend(integer, bigint), pg_cancel_backend(integer) FROM PUBLIC",
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
    creates = [
        s
        for s in schemas
        if conn.execute(text("SELECT has_schema_privilege(:r, :s, 'CREATE')"), {"r": role, "s": s}).scalar_one()
    ]
    no_usage = [
        s
        for s in schemas
        if not conn.execute(text("SELECT has_schema_privilege(:r, :s, 'USAGE')"), {"r": role, "s": s}).scalar_one()
    ]
    create_db = conn.execute(
        text("SELECT has_database_privilege(:r, :d, 'CREATE') OR has_database_privilege(:r, :d, 'TEMPORARY')"),
        {"r": role, "d": database},
    ).scalar_one()
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
    done = f"-- applied to {database}: role {role} may SELECT {describe(granted)} (USAGE on their schemas)"
    if problems:
        return f"{done}; WARNING: {'; '.join(problems)} (granted to PUBLIC or to a role it is a member of)"
    return f"{done}, append to {audit.AUDIT_TABLE} and keep {cache.CACHE_TABLE}, {examples.EXAMPLES_TABLE}: read-only"


def ensure_own_tables(conn: Connection) -> None:
    """Create (or upgrade) the audit log, the query cache and the verified examples, so they can be granted."""
    audit.ensure_table(conn)
    cache.ensure_table(conn)
    examples.ensure_table(conn)


def apply(conn: Connection, statements: Sequence[str]) -> None:
    """Run ``statements`` as an admin (the caller commits)."""
    for statement in statements:
        conn.exec_driver_sql(statement)
