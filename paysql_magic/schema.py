"""Schema introspection: the tables, views, keys, comments and sample values the connecting role can read, rendered
as compact DDL.

A handful of catalog queries (through SQLAlchemy ``text()``) in one read-only transaction, whatever the number of
tables: the usable schemas, the readable relations, their columns (types as ``format_type`` writes them, made
compact: ``timestamptz``, ``varchar(40)``), their keys, and ``pg_stats`` for the values of low-cardinality columns.
Partitioned tables appear once (their partitions never); small tables never ANALYZEd are sampled with
``SELECT DISTINCT``. Results are cached per database URL and requested schemas.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from paysql_magic.audit import AUDIT_TABLE
from paysql_magic.cache import CACHE_TABLE
from paysql_magic.connection import connect, first_line
from paysql_magic.egress import is_personal
from paysql_magic.errors import SchemaError
from paysql_magic.examples import EXAMPLES_TABLE
from paysql_magic.settings import env_schemas, env_store_schema

MAX_SAMPLE_VALUES = 20
MAX_SAMPLED_ROWS = 100_000  # a table never ANALYZEd is read with SELECT DISTINCT only below this many rows ...
MAX_SAMPLED_BYTES = 8 * 1024 * 1024  # ... and this size (reltuples may be -1, or a stale 0)
MAX_VALUE_CHARS = 100  # longer values are prose, not categories
_EXCLUDED_TABLES = (AUDIT_TABLE, CACHE_TABLE, EXAMPLES_TABLE)  # paysql-magic's own tables, in whatever schema
_EXCLUDED_SCHEMAS = ("paysql", "paysql_api", "paysql_meta", env_store_schema())  # paysql-magic's own: never shown
_KINDS = {"r": "table", "p": "partitioned table", "v": "view", "m": "materialized view", "f": "foreign table"}
_DDL_KEYWORDS = {"view": "VIEW", "materialized view": "MATERIALIZED VIEW", "foreign table": "FOREIGN TABLE"}
_INTEGER_TYPES = ("smallint", "integer", "bigint")


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # compact PostgreSQL type: timestamptz, numeric(18,0), varchar(40), bigint ...
    nullable: bool
    comment: str | None = None
    values: tuple[str, ...] = ()  # every distinct value, for low-cardinality categorical columns


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    ref_table: str  # the bare name of the referenced table
    ref_columns: tuple[str, ...]
    ref_schema: str = "public"
    ref_on_search_path: bool = True  # whether the bare ``ref_table`` reaches that table through the search path

    @property
    def ref_qualified(self) -> str:
        return f"{self.ref_schema}.{self.ref_table}"

    @property
    def ref_sql_name(self) -> str:
        """How SQL writes the referenced table (see ``Table.sql_name``)."""
        return _sql_name(self.ref_schema, self.ref_table, self.ref_on_search_path)


@dataclass(frozen=True)
class Table:
    name: str  # the bare relation name, as in the catalog
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    comment: str | None = None
    schema: str = "public"
    kind: str = "table"  # table | view | materialized view | partitioned table | foreign table
    on_search_path: bool = True  # the bare name reaches this table: its schema is on the role's search path and no
    # earlier schema of the path has a relation of that name

    @property
    def qualified(self) -> str:
        """``schema.name``, unquoted: the key of this table whatever the search path."""
        return f"{self.schema}.{self.name}"

    @property
    def sql_name(self) -> str:
        """How SQL should write this table: the bare name when the search path reaches it, else ``schema.name``
        (identifiers double-quoted where PostgreSQL needs it)."""
        return _sql_name(self.schema, self.name, self.on_search_path)


@dataclass(frozen=True)
class Schema:
    """The readable tables of one database, with the database time zone, the schemas read and the search path."""

    tables: tuple[Table, ...]
    timezone: str
    schemas: tuple[str, ...] = ()  # the schemas that were read
    search_path: tuple[str, ...] = ()  # the role's effective search path (current_schemas(false))

    def to_ddl(self) -> str:
        """Compact DDL with comments and sample values, as sent to a language model."""
        return "\n\n".join(_table_ddl(table) for table in self.tables)

    @property
    def hash(self) -> str:
        """A short fingerprint of the DDL; changes whenever the schema or its values change."""
        return hashlib.sha256(f"{self.timezone}\n{self.to_ddl()}".encode()).hexdigest()[:16]

    def find(self, name: str) -> Table | None:
        """The table ``name`` designates, or None: a qualified ``schema.table`` or a table's ``sql_name``; a bare
        name as the search path resolves it, else the only table of that name in any schema read."""
        for table in self.tables:
            if name in (table.qualified, table.sql_name):
                return table
        same_name = [t for t in self.tables if t.name == name]
        reachable = [t for t in same_name if t.schema in self.search_path]
        if reachable:
            return min(reachable, key=lambda t: self.search_path.index(t.schema))
        return same_name[0] if len(same_name) == 1 else None

    def table(self, name: str) -> Table:
        """Like ``find``, but raises KeyError when ``name`` designates no table (or several)."""
        table = self.find(name)
        if table is None:
            raise KeyError(name)
        return table


# --- rendering ------------------------------------------------------------------------------------------------

_PLAIN_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_$]*")
# PostgreSQL's reserved key words (and those that cannot name a table): written double-quoted
_RESERVED_WORDS = """
    all analyse analyze and any array as asc asymmetric authorization binary both case cast check collate collation
    column concurrently constraint create cross current_catalog current_date current_role current_schema
    current_time current_timestamp current_user default deferrable desc distinct do else end except false fetch for
    foreign freeze from full grant group having ilike in initially inner intersect into is isnull join lateral
    leading left like limit localtime localtimestamp natural not notnull null offset on only or order outer overlaps
    placing primary references returning right select session_user similar some symmetric system_user table
    tablesample then to trailing true union unique user using variadic verbose when where window with
"""
_RESERVED = frozenset(_RESERVED_WORDS.split())


def quote_identifier(name: str) -> str:
    """``name`` as SQL writes it: bare when it is a plain lower-case non-reserved identifier, else double-quoted."""
    if _PLAIN_IDENTIFIER.fullmatch(name) and name not in _RESERVED:
        return name
    return _quoted(name)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_name(schema: str, name: str, on_search_path: bool) -> str:
    bare = quote_identifier(name)
    return bare if on_search_path else f"{quote_identifier(schema)}.{bare}"


def _one_line(comment: str) -> str:
    return " ".join(comment.split())


def _value_list(column: Column) -> str:
    if column.type in _INTEGER_TYPES:
        return ", ".join(column.values)
    return ", ".join("'" + v.replace("'", "''") + "'" for v in column.values)


def _column_parts(column: Column, table: Table, fks: dict[str, str]) -> tuple[str, str]:
    """The definition of one column and its comment note."""
    parts = [f"{quote_identifier(column.name)} {column.type}"]
    if table.primary_key == (column.name,):
        parts.append("PRIMARY KEY")
    elif not column.nullable:
        parts.append("NOT NULL")
    if column.name in fks:
        parts.append(f"REFERENCES {fks[column.name]}")
    notes = [_one_line(column.comment)] if column.comment else []
    if column.values:
        notes.append("values: " + _value_list(column))
    return " ".join(parts), "; ".join(notes)


def _table_ddl(table: Table) -> str:
    fks = {
        fk.columns[0]: f"{fk.ref_sql_name}({quote_identifier(fk.ref_columns[0])})"
        for fk in table.foreign_keys
        if len(fk.columns) == 1
    }
    entries = [_column_parts(c, table, fks) for c in table.columns]
    if len(table.primary_key) > 1:
        entries.append((f"PRIMARY KEY ({', '.join(map(quote_identifier, table.primary_key))})", ""))
    for fk in table.foreign_keys:
        if len(fk.columns) > 1:
            columns, ref_columns = (", ".join(map(quote_identifier, names)) for names in (fk.columns, fk.ref_columns))
            entries.append((f"FOREIGN KEY ({columns}) REFERENCES {fk.ref_sql_name}({ref_columns})", ""))
    lines = [f"-- {_one_line(table.comment)}"] if table.comment else []
    lines.append(f"CREATE {_DDL_KEYWORDS.get(table.kind, 'TABLE')} {table.sql_name} (")
    for i, (definition, note) in enumerate(entries):
        comma = "," if i < len(entries) - 1 else ""
        lines.append(f"  {definition}{comma}" + (f" -- {note}" if note else ""))
    lines.append(");")
    return "\n".join(lines)


_COMPACT_TYPES = (
    (re.compile(r"timestamp(\(\d+\))? with time zone"), r"timestamptz\1"),
    (re.compile(r"timestamp(\(\d+\))? without time zone"), r"timestamp\1"),
    (re.compile(r"time(\(\d+\))? with time zone"), r"timetz\1"),
    (re.compile(r"time(\(\d+\))? without time zone"), r"time\1"),
    (re.compile(r"character varying(\(\d+\))?"), r"varchar\1"),
    (re.compile(r"character(\(\d+\))?"), r"char\1"),
    (re.compile(r"bit varying(\(\d+\))?"), r"varbit\1"),
)


def compact_type(formatted: str) -> str:
    """A type as ``format_type`` writes it, in its short spelling: ``timestamp with time zone`` -> ``timestamptz``,
    ``character varying(40)`` -> ``varchar(40)``, ``character(3)[]`` -> ``char(3)[]``; anything else unchanged."""
    base = formatted.removesuffix("[]" * (dims := formatted.count("[]")))
    for pattern, short in _COMPACT_TYPES:
        if pattern.fullmatch(base):
            return pattern.sub(short, base) + "[]" * dims
    return formatted


# --- catalog queries ----------------------------------------------------------------------------------------------

_SCHEMAS_SQL = text(
    """
    SELECT nspname FROM pg_namespace
    WHERE has_schema_privilege(oid, 'USAGE') AND nspname <> ALL(CAST(:own AS text[]))
      AND (CAST(:wanted AS text[]) IS NULL AND nspname !~ '^pg_' AND nspname <> 'information_schema'
           OR nspname = ANY(CAST(:wanted AS text[])))
    ORDER BY nspname
    """
)

_RELATIONS_SQL = text(
    """
    WITH path AS (SELECT name, pos FROM unnest(current_schemas(false)) WITH ORDINALITY AS p(name, pos))
    SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relkind AS kind, d.description AS comment,
           p.pos IS NOT NULL AND NOT EXISTS (
               SELECT FROM pg_class c2
               JOIN pg_namespace n2 ON n2.oid = c2.relnamespace
               JOIN path p2 ON p2.name = n2.nspname
               WHERE c2.relname = c.relname AND p2.pos < p.pos
           ) AS on_path
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN path p ON p.name = n.nspname
    LEFT JOIN pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
    WHERE n.nspname = ANY(CAST(:schemas AS text[]))
      AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
      AND (c.relkind <> 'm' OR c.relispopulated)
      AND c.relname <> ALL(CAST(:excluded AS text[]))
      AND has_any_column_privilege(c.oid, 'SELECT')
    """
)

_COLUMNS_SQL = text(
    """
    SELECT a.attrelid AS oid, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
           NOT a.attnotnull AS nullable, d.description AS comment,
           CASE WHEN b.typtype = 'e' THEN 'enum' WHEN b.typcategory = 'S' THEN 'text'
                WHEN b.oid IN ('int2'::regtype, 'int4'::regtype) THEN 'integer' END AS category,
           CASE WHEN b.typtype = 'e' THEN
               ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = b.oid ORDER BY e.enumsortorder)
           END AS labels
    FROM pg_attribute a
    JOIN pg_type t ON t.oid = a.atttypid
    JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
    LEFT JOIN pg_description d ON d.objoid = a.attrelid AND d.classoid = 'pg_class'::regclass AND d.objsubid = a.attnum
    WHERE a.attrelid = ANY(CAST(:oids AS oid[])) AND a.attnum > 0 AND NOT a.attisdropped
      AND has_column_privilege(a.attrelid, a.attnum, 'SELECT')
    ORDER BY a.attrelid, a.attnum
    """
)

_KEYS_SQL = text(
    """
    SELECT con.conrelid AS oid, con.contype AS type, con.confrelid AS ref_oid,
           ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(num, i)
                 JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.i) AS columns,
           ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY AS k(num, i)
                 JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.i) AS ref_columns
    FROM pg_constraint con
    WHERE con.conrelid = ANY(CAST(:oids AS oid[])) AND con.contype IN ('p', 'f') AND con.conparentid = 0
    ORDER BY con.conrelid, con.conname
    """
)

# the statistics of the relations read and of their partitions (a partitioned parent ANALYZEd has inherited rows;
# one never ANALYZEd, as autovacuum leaves them, borrows its partitions' statistics)
_STATS_SQL = text(
    """
    SELECT CASE WHEN c.relispartition THEN pg_partition_root(c.oid) ELSE c.oid END AS oid,
           c.relispartition AS partition, s.attname AS column, s.inherited,
           CASE WHEN s.n_distinct > 0 AND s.n_distinct <= :max_values THEN s.most_common_vals::text::text[] END AS vals
    FROM pg_stats s
    JOIN pg_namespace n ON n.nspname = s.schemaname
    JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.tablename
    WHERE c.oid = ANY(CAST(:oids AS oid[]))
       OR c.relispartition AND pg_partition_root(c.oid) = ANY(CAST(:oids AS oid[]))
    """
)

# the estimated rows and bytes of relations (a partitioned table: of all its partitions)
_SIZES_SQL = text(
    """
    SELECT r.oid, sum(greatest(c.reltuples, 0)) AS rows, sum(pg_relation_size(c.oid)) AS bytes
    FROM unnest(CAST(:oids AS oid[])) AS r(oid)
    JOIN LATERAL (SELECT r.oid AS relid UNION SELECT relid FROM pg_partition_tree(r.oid)) tree ON true
    JOIN pg_class c ON c.oid = tree.relid
    GROUP BY r.oid
    """
)


@dataclass
class _Relation:
    """One readable relation while it is being assembled."""

    oid: int
    schema: str
    name: str
    kind: str
    comment: str | None
    on_path: bool
    columns: list[dict]
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[tuple[tuple[str, ...], int, tuple[str, ...]], ...] = ()

    @property
    def keys(self) -> set[str]:
        return set(self.primary_key) | {c for fk in self.foreign_keys for c in fk[0]}


def _schemas_to_read(conn: Connection, wanted: Sequence[str] | None) -> tuple[str, ...]:
    """The schemas to read: every one the role may use but the system's, or those of ``wanted`` it may use (in the
    order given)."""
    params = {"wanted": list(wanted) if wanted is not None else None, "own": list(_EXCLUDED_SCHEMAS)}
    rows = conn.execute(_SCHEMAS_SQL, params).scalars()
    usable = set(rows)
    if wanted is not None:
        return tuple(dict.fromkeys(s for s in wanted if s in usable))
    return tuple(sorted(usable))


def _relations(conn: Connection, schemas: tuple[str, ...]) -> dict[int, _Relation]:
    rows = conn.execute(_RELATIONS_SQL, {"schemas": list(schemas), "excluded": list(_EXCLUDED_TABLES)}).all()
    relations = {r.oid: _Relation(r.oid, r.schema, r.name, _KINDS[r.kind], r.comment, r.on_path, []) for r in rows}
    for row in conn.execute(_COLUMNS_SQL, {"oids": list(relations)}).mappings():
        relations[row["oid"]].columns.append(dict(row))
    for row in conn.execute(_KEYS_SQL, {"oids": list(relations)}):
        relation = relations[row.oid]
        if row.type == "p":
            relation.primary_key = tuple(row.columns)
        elif row.ref_oid in relations:  # a key to a relation the role cannot read would only mislead
            fk = (tuple(row.columns), row.ref_oid, tuple(row.ref_columns))
            relation.foreign_keys = (*relation.foreign_keys, fk)
    return {oid: r for oid, r in relations.items() if r.columns}


def _categorical(relation: _Relation, column: dict, *, text_only: bool = False) -> bool:
    """Whether a column's values may be shown: a text or enum column, or (from statistics) an integer that is no
    key; never a personal column (names, phones ...)."""
    wanted = ("text", "enum") if text_only else ("text", "enum", "integer")
    if column["category"] not in wanted or is_personal(column["name"], column["comment"]):
        return False
    return column["category"] != "integer" or column["name"] not in relation.keys


def _stats_values(conn: Connection, relations: dict[int, _Relation]) -> tuple[dict, set[int]]:
    """Values by (oid, column) from ``pg_stats``, and the oids that have statistics at all."""
    own: dict[tuple[int, str], tuple[str, ...] | None] = {}
    inherited: dict[tuple[int, str], tuple[str, ...] | None] = {}
    partitions: dict[tuple[int, str], list[tuple[str, ...] | None]] = {}
    for row in conn.execute(_STATS_SQL, {"oids": list(relations), "max_values": MAX_SAMPLE_VALUES}):
        key = (row.oid, row.column)
        vals = tuple(row.vals) if row.vals is not None else None
        if row.partition:
            partitions.setdefault(key, []).append(vals)
        else:
            (inherited if row.inherited else own)[key] = vals
    merged: dict[tuple[int, str], tuple[str, ...] | None] = {}
    for key, parts in partitions.items():
        values = None if any(p is None for p in parts) else set().union(*parts)
        merged[key] = tuple(values) if values is not None and len(values) <= MAX_SAMPLE_VALUES else None
    found = {**merged, **own, **inherited}  # a parent's inherited statistics see its children too
    return {k: v for k, v in found.items() if v}, {oid for oid, _ in found}


def _small(size) -> bool:
    return size is not None and size.rows < MAX_SAMPLED_ROWS and size.bytes < MAX_SAMPLED_BYTES


def _distinct_values(conn: Connection, relations: list[_Relation]) -> dict[tuple[int, str], tuple[str, ...]]:
    """``SELECT DISTINCT ... LIMIT 21`` of the categorical text columns of small tables that have no statistics,
    in a savepoint with a short statement timeout: any failure only loses those values."""
    sizes = {r.oid: r for r in conn.execute(_SIZES_SQL, {"oids": [r.oid for r in relations]})} if relations else {}
    small = [r for r in relations if _small(sizes.get(r.oid))]
    columns = [(r, c["name"]) for r in small for c in r.columns if _categorical(r, c, text_only=True)]
    found: dict[tuple[int, str], tuple[str, ...]] = {}
    for start in range(0, len(columns), 50):
        chunk = columns[start : start + 50]
        branches = [
            f"(SELECT {i} AS i, c::text AS v FROM (SELECT DISTINCT {_quoted(col)} AS c FROM {_quoted(r.schema)}."
            f"{_quoted(r.name)} WHERE {_quoted(col)} IS NOT NULL LIMIT {MAX_SAMPLE_VALUES + 1}) d)"
            for i, (r, col) in enumerate(chunk)
        ]
        try:
            with conn.begin_nested():
                conn.execute(text("SET LOCAL statement_timeout = 2000"))
                rows = conn.execute(text(" UNION ALL ".join(branches))).all()
        except SQLAlchemyError:
            continue
        by_column: dict[int, list[str]] = {}
        for i, value in rows:
            by_column.setdefault(i, []).append(value)
        for i, values in by_column.items():
            if len(values) <= MAX_SAMPLE_VALUES:
                found[(chunk[i][0].oid, chunk[i][1])] = tuple(values)
    return found


def _sample_values(conn: Connection, relations: dict[int, _Relation]) -> dict[tuple[int, str], tuple[str, ...]]:
    """The values of the low-cardinality columns: ``pg_stats``, or ``SELECT DISTINCT`` for small tables never
    ANALYZEd (views are never read this way: they may hide any amount of work)."""
    values, with_stats = _stats_values(conn, relations)
    stored = ("table", "partitioned table", "materialized view")
    unanalysed = [r for r in relations.values() if r.oid not in with_stats and r.kind in stored]
    return {**_distinct_values(conn, unanalysed), **values}


def _column(relation: _Relation, column: dict, sampled: tuple[str, ...]) -> Column:
    values: tuple[str, ...] = ()
    if _categorical(relation, column):
        if column["labels"] is not None and len(column["labels"]) <= MAX_SAMPLE_VALUES:
            values = tuple(column["labels"])  # an enum's labels, in their declared order
        elif column["category"] == "integer":
            values = tuple(sorted(sampled, key=int))
        elif all(len(v) <= MAX_VALUE_CHARS for v in sampled):
            values = tuple(sorted(sampled))
    return Column(column["name"], compact_type(column["type"]), column["nullable"], column["comment"], values)


def _table(relation: _Relation, relations: dict[int, _Relation], samples: dict) -> Table:
    foreign_keys = tuple(
        ForeignKey(columns, relations[ref].name, ref_columns, relations[ref].schema, relations[ref].on_path)
        for columns, ref, ref_columns in relation.foreign_keys
        if ref in relations
    )
    return Table(
        name=relation.name,
        columns=tuple(_column(relation, c, samples.get((relation.oid, c["name"]), ())) for c in relation.columns),
        primary_key=relation.primary_key,
        foreign_keys=foreign_keys,
        comment=relation.comment,
        schema=relation.schema,
        kind=relation.kind,
        on_search_path=relation.on_path,
    )


def _no_table_message(schemas: Sequence[str]) -> str:
    where = f"schemas {', '.join(schemas)}" if schemas else "any schema"
    return f"no table this role can read in {where} (set Ask.schemas / --schemas / PAYSQL_SCHEMAS, or GRANT SELECT)"


def _introspect(engine: Engine, wanted: tuple[str, ...] | None) -> Schema:
    with connect(engine) as conn:
        conn = conn.execution_options(postgresql_readonly=True)
        timezone = conn.execute(text("SHOW TimeZone")).scalar_one()
        search_path = tuple(conn.execute(text("SELECT unnest(current_schemas(false))")).scalars())
        schemas = _schemas_to_read(conn, wanted)
        relations = _relations(conn, schemas) if schemas else {}
        samples = _sample_values(conn, relations) if relations else {}
    if not relations:
        raise SchemaError(_no_table_message(schemas or wanted or ()))
    position = {name: i for i, name in enumerate(search_path)}
    ordered = sorted(relations.values(), key=lambda r: (position.get(r.schema, len(position)), r.schema, r.name))
    tables = tuple(_table(r, relations, samples) for r in ordered)
    return Schema(tables=tables, timezone=timezone, schemas=schemas, search_path=search_path)


_cache: dict[tuple[str, tuple[str, ...] | None], Schema] = {}


def introspect(engine: Engine, *, schemas: Sequence[str] | None = None, refresh: bool = False) -> Schema:
    """The schema of the database behind ``engine``: every relation the role can SELECT in ``schemas``, by default
    those of ``PAYSQL_SCHEMAS`` when ``schemas`` is None or empty, else every schema the role has USAGE on (system
    schemas excepted). A schema the role cannot use, or a relation it cannot SELECT, is skipped.

    Cached per URL and schemas (``refresh`` forces a new read). Raises ``SchemaError`` when the catalog cannot be
    read or the role can read no table there.
    """
    wanted = tuple(schemas) if schemas else env_schemas()
    key = (engine.url.render_as_string(hide_password=False), wanted)
    if refresh or key not in _cache:
        try:
            _cache[key] = _introspect(engine, wanted)
        except SQLAlchemyError as exc:
            raise SchemaError(f"cannot read the schema: {first_line(exc)}") from None
    return _cache[key]
