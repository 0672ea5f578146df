"""Schema introspection: tables, columns, keys, comments and sample values, rendered as compact DDL.

One catalog query per kind of fact (SQLAlchemy's ``get_multi_*`` inspector calls), plus one read of
``pg_stats`` for the values of low-cardinality text columns. Results are cached per database URL.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from paysql_magic.audit import AUDIT_TABLE
from paysql_magic.cache import CACHE_TABLE
from paysql_magic.connection import connect, first_line
from paysql_magic.egress import is_personal
from paysql_magic.errors import SchemaError
from paysql_magic.examples import EXAMPLES_TABLE

MAX_SAMPLE_VALUES = 20
_EXCLUDED_TABLES = {AUDIT_TABLE, CACHE_TABLE, EXAMPLES_TABLE}  # paysql-magic's own tables


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool
    comment: str | None = None
    values: tuple[str, ...] = ()  # every distinct value, for low-cardinality text columns


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    comment: str | None = None


@dataclass(frozen=True)
class Schema:
    """The analysed tables of one database, with the database time zone."""

    tables: tuple[Table, ...]
    timezone: str

    def to_ddl(self) -> str:
        """Compact DDL with comments and sample values, as sent to a language model."""
        return "\n\n".join(_table_ddl(table) for table in self.tables)

    @property
    def hash(self) -> str:
        """A short fingerprint of the DDL; changes whenever the schema or its values change."""
        return hashlib.sha256(f"{self.timezone}\n{self.to_ddl()}".encode()).hexdigest()[:16]

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)


def _column_parts(column: Column, table: Table, fks: dict[str, str]) -> tuple[str, str]:
    """The definition of one column and its comment note."""
    parts = [f"{column.name} {column.type}"]
    if table.primary_key == (column.name,):
        parts.append("PRIMARY KEY")
    elif not column.nullable:
        parts.append("NOT NULL")
    if column.name in fks:
        parts.append(f"REFERENCES {fks[column.name]}")
    notes = [column.comment] if column.comment else []
    if column.values:
        notes.append("values: " + ", ".join(f"'{v}'" for v in column.values))
    return " ".join(parts), "; ".join(notes)


def _table_ddl(table: Table) -> str:
    fks = {fk.columns[0]: f"{fk.ref_table}({fk.ref_columns[0]})" for fk in table.foreign_keys if len(fk.columns) == 1}
    entries = [_column_parts(c, table, fks) for c in table.columns]
    if len(table.primary_key) > 1:
        entries.append((f"PRIMARY KEY ({', '.join(table.primary_key)})", ""))
    lines = [f"-- {table.comment}"] if table.comment else []
    lines.append(f"CREATE TABLE {table.name} (")
    for i, (definition, note) in enumerate(entries):
        comma = "," if i < len(entries) - 1 else ""
        lines.append(f"  {definition}{comma}" + (f" -- {note}" if note else ""))
    lines.append(");")
    return "\n".join(lines)


_STATS_SQL = text(
    """
    SELECT tablename, attname, most_common_vals::text::text[] AS vals
    FROM pg_stats
    WHERE schemaname = 'public' AND n_distinct > 0 AND n_distinct <= :max_values
      AND most_common_vals IS NOT NULL
    """
)


def _sample_values(conn, max_values: int) -> dict[tuple[str, str], tuple[str, ...]]:
    rows = conn.execute(_STATS_SQL, {"max_values": max_values}).all()
    return {(r.tablename, r.attname): tuple(sorted(r.vals)) for r in rows}


def _introspect(engine: Engine) -> Schema:
    with connect(engine) as conn:
        timezone = conn.execute(text("SHOW TimeZone")).scalar_one()
        insp = inspect(conn)
        columns = insp.get_multi_columns(schema=None)
        pks = insp.get_multi_pk_constraint(schema=None)
        fks = insp.get_multi_foreign_keys(schema=None)
        comments = insp.get_multi_table_comment(schema=None)
        samples = _sample_values(conn, MAX_SAMPLE_VALUES)
    tables = []
    for key in sorted(columns, key=lambda k: k[1]):
        name = key[1]
        if name in _EXCLUDED_TABLES:
            continue
        cols = tuple(
            Column(
                name=c["name"],
                type=str(c["type"]).lower(),
                nullable=bool(c["nullable"]),
                comment=c.get("comment"),
                values=_values(samples.get((name, c["name"]), ()), str(c["type"]), c["name"], c.get("comment")),
            )
            for c in columns[key]
        )
        tables.append(
            Table(
                name=name,
                columns=cols,
                primary_key=tuple(pks.get(key, {}).get("constrained_columns") or ()),
                foreign_keys=tuple(_foreign_key(fk) for fk in fks.get(key, [])),
                comment=(comments.get(key) or {}).get("text"),
            )
        )
    return Schema(tables=tuple(tables), timezone=timezone)


def _foreign_key(fk: dict) -> ForeignKey:
    return ForeignKey(tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]))


def _values(sampled: tuple[str, ...], type_name: str, column: str, comment: str | None) -> tuple[str, ...]:
    """Sample values are kept for categorical text columns only, never for personal ones (names, phones ...)."""
    categorical = type_name.upper().startswith(("TEXT", "VARCHAR", "CHAR", "CITEXT"))
    return sampled if categorical and not is_personal(column, comment) else ()


_cache: dict[str, Schema] = {}


def introspect(engine: Engine, *, refresh: bool = False) -> Schema:
    """The schema of the database behind ``engine``, cached per URL (``refresh`` forces a new read)."""
    key = engine.url.render_as_string(hide_password=False)
    if refresh or key not in _cache:
        try:
            _cache[key] = _introspect(engine)
        except SQLAlchemyError as exc:
            raise SchemaError(f"cannot read the schema: {first_line(exc)}") from None
    return _cache[key]
