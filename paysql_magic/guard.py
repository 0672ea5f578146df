"""The SQL guard: accept exactly one read-only query, cap its rows, pretty-print it (sqlglot, postgres dialect).

``check`` parses the SQL with sqlglot and refuses, with a one-line reason, anything but a single query
(SELECT, WITH ... SELECT, UNION / INTERSECT / EXCEPT): several statements, DML, DDL, data-modifying WITH,
SELECT ... INTO, locking clauses (FOR UPDATE / SHARE ...), and every command sqlglot can only keep as text
(COPY, SET, DO, CALL, VACUUM, LOCK, PREPARE, LISTEN ...). What runs is sqlglot's pretty rendering of the
checked tree, never the text as received, and that rendering is parsed and checked once more, so the checks
see what PostgreSQL will see.

Functions are checked against ``ALLOWED_FUNCTIONS``, an allow-list of what an analyst uses on a payments
table: aggregates, window functions, date/time, math, string and conditional functions, casts and
``generate_series``. A function is known by the name the rendered SQL calls it (``now()`` is rendered
``CURRENT_TIMESTAMP``, ``variance`` ``VAR_SAMP``), so sqlglot's typed nodes and unknown names
(``exp.Anonymous``) are judged alike. Everything else is refused: sleeping (``pg_sleep``), server files
(``pg_read_file``, ``pg_ls_dir``, ``lo_*``), settings (``set_config``, ``current_setting``), other
databases (``dblink*``), locks (``pg_advisory_*``), sessions (``pg_terminate_backend``), transaction ids,
sequences (``nextval``), and SQL run from strings (``query_to_xml``). Schema-qualified calls
(``public.lower(x)``) are refused too: an unqualified name resolves to the built-in first.

``DENIED_RELATIONS`` names the system catalogs and views a generated query has no business reading:
credentials (``pg_authid``, ``pg_shadow``, ``pg_user_mappings``, ``pg_subscription``), server configuration
(``pg_settings``, ``pg_hba_file_rules``, ``pg_file_settings``), other sessions (``pg_stat_activity``,
``pg_locks``), raw column samples (``pg_statistic``), other roles' settings (``pg_db_role_setting``,
``pg_roles``: a role's defaults may hold secrets) and paysql's own records (``query_audit_log``, ``query_cache``,
``verified_examples``, in any schema); ``DENIED_SCHEMAS`` refuses every table and function of paysql's own schemas
(``paysql``, ``paysql_api``, ``paysql_meta``). Most are already closed to a non-superuser role; refusing them here
keeps a superuser connection, or a badly granted role, from leaking them. The rest of ``pg_catalog`` and
``information_schema`` stays readable: it describes the schema, which the analyst sees.

The guard never raises anything but ``SqlRefused``: a sqlglot failure is a refusal, not a crash.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError

from paysql_magic.errors import SqlRefused
from paysql_magic.settings import env_store_schema

ALLOWED_FUNCTIONS = frozenset(
    {
        # aggregates
        *("count", "sum", "avg", "min", "max", "mode", "every", "bool_and", "bool_or", "string_agg", "array_agg"),
        *("stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop"),
        *("percentile_cont", "percentile_disc"),
        # window functions
        *("row_number", "rank", "dense_rank", "ntile", "lag", "lead", "first_value", "last_value"),
        *("cume_dist", "percent_rank"),
        # date and time
        *("date_trunc", "extract", "date_part", "now", "current_date", "current_timestamp", "localtimestamp"),
        *("age", "make_date", "make_interval", "to_char", "to_date", "to_timestamp"),
        *("justify_days", "justify_hours", "justify_interval", "generate_series"),
        # math
        *("round", "trunc", "abs", "ceil", "ceiling", "floor", "greatest", "least", "power", "sqrt"),
        *("ln", "log", "exp", "mod", "sign", "div"),
        # strings
        *("lower", "upper", "initcap", "length", "substring", "substr", "position", "replace"),
        *("trim", "btrim", "ltrim", "rtrim", "concat", "concat_ws", "left", "right", "split_part"),
        *("lpad", "rpad", "starts_with", "regexp_replace", "regexp_match"),
        # conditionals, casts and row constructors
        *("coalesce", "nullif", "cast", "exists", "row"),
    }
)

DENIED_RELATIONS = {
    **dict.fromkeys(
        ("pg_authid", "pg_shadow", "pg_user_mapping", "pg_user_mappings", "pg_subscription"), "credentials"
    ),
    **dict.fromkeys(
        ("pg_settings", "pg_file_settings", "pg_hba_file_rules", "pg_ident_file_mappings", "pg_config"),
        "server configuration",
    ),
    **dict.fromkeys(("pg_stat_activity", "pg_locks", "pg_stat_ssl", "pg_stat_gssapi"), "other sessions' activity"),
    **dict.fromkeys(("pg_statistic", "pg_largeobject"), "raw data outside table privileges"),
    **dict.fromkeys(("pg_db_role_setting", "pg_roles", "pg_user", "pg_group"), "other roles' settings"),
    # paysql's own tables, in whatever schema an older version left them: every caller's questions, SQL and keys
    **dict.fromkeys(("query_audit_log", "query_cache", "verified_examples"), "paysql's own records (the audit log)"),
}

# paysql's own schemas (audit log, call starts, cache, examples, API keys; the demo's metadata): no table or
# function of theirs may be named
DENIED_SCHEMAS = frozenset({"paysql", "paysql_api", "paysql_meta", env_store_schema()})

_DIALECT = Dialect.get_or_raise("postgres")
_SET_RETURNING = frozenset(
    {"generate_series", "unnest", "generate_subscripts", "json_array_elements", "regexp_matches"}
)
_ONLY_QUERIES = "only one read-only query (SELECT, WITH ... SELECT, UNION) is accepted"
_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\(|$)")  # a rendered call: ``NAME(`` or a bare ``CURRENT_DATE``
_TOKEN_REPR = re.compile(r"<Token token_type: [^,]+, text: (.*?), line: .*?>")
_SQL_FENCE = re.compile(r"```[ \t]*(?:sql|postgres(?:ql)?|pgsql|psql)[ \t]*\n(.*?)(?:```|\Z)", re.I | re.S)
_PLAIN_FENCE = re.compile(r"```[ \t]*\n(.*?)(?:```|\Z)", re.S)
_STATEMENT = re.compile(
    r"\s*(?:select|with|insert|update|delete|merge|create|drop|alter|truncate|grant|revoke|copy|set|reset|call|do"
    r"|begin|start|commit|end|rollback|abort|savepoint|release|prepare|execute|deallocate|lock|vacuum|analyze|"
    r"explain|listen|notify|unlisten|show|values|table|comment|refresh|cluster|reindex|discard|declare|fetch|move|"
    r"close|checkpoint|load|import|security|reassign)\b",
    re.I,
)
_PARAGRAPH_END = re.compile(r"\n[ \t]*\n")
_QUERY_AT_LINE_START = re.compile(r"^[ \t]*((?:select|with)\b)", re.I | re.M)
_QUERY_IN_PROSE = re.compile(r"\b((?:SELECT|WITH)\b)")


class _QuietParser(_DIALECT.parser_class):
    def _warn_unsupported(self) -> None:
        """sqlglot logs a warning before keeping a statement as text; the guard refuses it with a reason."""


@dataclass(frozen=True)
class GuardedSql:
    """A query the guard accepted: pretty-printed, with the row cap applied."""

    sql: str
    limit_added: bool


def extract_sql(reply: str) -> str:
    """The SQL in an LLM reply: a ```sql fence, else a plain ``` fence, else a reply that is SQL from its first word,
    else a SELECT/WITH at the start of a line or in the prose.

    Outside fences the SQL runs to the end of its paragraph, or to a ``;`` followed by prose; when another statement
    follows the ``;`` everything is kept, so the guard refuses "SELECT 1; COMMIT; DELETE ..." rather than running
    "SELECT 1", and "CREATE TABLE x AS SELECT ..." reaches the guard whole, never as the SELECT inside it.
    """
    for pattern in (_SQL_FENCE, _PLAIN_FENCE):
        for match in pattern.finditer(reply):
            if sql := match.group(1).strip().rstrip(";").strip():
                return sql
    start = 0 if _STATEMENT.match(reply) else _first_query(reply)
    if start is None:
        raise SqlRefused("no SQL found in the reply")
    paragraph = _PARAGRAPH_END.split(reply[start:], maxsplit=1)[0]
    head, semicolon, rest = paragraph.partition(";")
    sql = paragraph if semicolon and _STATEMENT.match(rest) else head
    if not (sql := sql.strip().rstrip(";").strip()):
        raise SqlRefused("no SQL found in the reply")
    return sql


def _first_query(reply: str) -> int | None:
    """Where the first SELECT/WITH starts: at the start of a line, else anywhere in uppercase prose."""
    match = _QUERY_AT_LINE_START.search(reply) or _QUERY_IN_PROSE.search(reply)
    return match.start(1) if match else None


_MEMO_SIZE = 1024
_memo: OrderedDict[tuple[str, int | None], GuardedSql | str] = OrderedDict()
_memo_lock = threading.Lock()


def check(sql: str, *, max_rows: int | None = 1000) -> GuardedSql:
    """Accept ``sql`` when it is exactly one read-only query; raise ``SqlRefused`` with the reason otherwise.

    The verdict depends on the text and the cap alone, so it is kept per (SQL, cap) for the last 1,024 texts: a
    dashboard's repeated SQL is parsed once per process, not twice per call."""
    key = (sql, max_rows)
    with _memo_lock:
        verdict = _memo.get(key)
        if verdict is not None:
            _memo.move_to_end(key)
    if verdict is None:
        try:
            verdict = _check(sql, max_rows)
        except SqlRefused as exc:
            verdict = exc.reason
        with _memo_lock:
            _memo[key] = verdict
            while len(_memo) > _MEMO_SIZE:
                _memo.popitem(last=False)
    if isinstance(verdict, str):
        raise SqlRefused(verdict)
    return verdict


def _check(sql: str, max_rows: int | None) -> GuardedSql:
    try:
        tree = _single_query(sql)
        _check_tree(tree)
        limit_added = max_rows is not None and tree.args.get("limit") is None and not one_row(tree)
        if limit_added:
            tree = tree.limit(max_rows, copy=False)
        rendered = tree.sql(dialect=_DIALECT, pretty=True)
        _check_tree(_single_query(rendered))  # what runs is checked too, in case sqlglot rewrote a call
        return GuardedSql(rendered, limit_added)
    except SqlRefused:
        raise
    except Exception as exc:  # a guard refuses what it cannot check; it never crashes
        raise SqlRefused(f"the SQL could not be checked ({type(exc).__name__})") from None


def one_row(tree: exp.Query) -> bool:
    """Whether the query returns one row by construction (so a row cap is noise): a SELECT that aggregates with no
    GROUP BY, every column inside an aggregate (not a window), and nothing in its select list returning a set."""
    if not isinstance(tree, exp.Select) or tree.args.get("group") or not tree.expressions:
        return False

    def own(node: exp.Expr) -> bool:  # not inside a subquery of the select list
        return node.find_ancestor(exp.Select) is tree

    nodes = [node for projection in tree.expressions for node in projection.walk() if own(node)]
    if not any(isinstance(node, exp.AggFunc) and not isinstance(node.parent, exp.Window) for node in nodes):
        return False
    for projection in tree.expressions:
        for node in projection.walk():
            if not own(node):
                continue
            if isinstance(node, (exp.Unnest, exp.Explode, exp.GenerateSeries)) or (
                isinstance(node, exp.Anonymous) and node.name.lower() in _SET_RETURNING
            ):
                return False
            if isinstance(node, exp.Column) and not any(
                (isinstance(a, exp.AggFunc) and not isinstance(a.parent, exp.Window)) or isinstance(a, exp.Filter)
                for a in _ancestors(node, projection)
            ):
                return False
    return True


def _ancestors(node: exp.Expr, stop: exp.Expr):
    parent = node.parent
    while parent is not None:
        yield parent
        if parent is stop:
            return
        parent = parent.parent


def _single_query(sql: str) -> exp.Query:
    statements = [tree for tree in _parse(sql) if tree is not None and not isinstance(tree, exp.Semicolon)]
    if not statements:
        raise SqlRefused("the SQL is empty")
    if len(statements) > 1:
        kinds = "; ".join(_kind(tree) for tree in statements)
        raise SqlRefused(f"more than one statement ({kinds}): {_ONLY_QUERIES}")
    (tree,) = statements
    if not isinstance(tree, exp.Query):
        raise SqlRefused(f"{_kind(tree)} is not allowed: {_ONLY_QUERIES}")
    return tree


def _parse(sql: str) -> list[exp.Expr | None]:
    try:
        return _QuietParser(dialect=_DIALECT).parse(_DIALECT.tokenize(sql), sql)
    except TokenError as exc:
        raise SqlRefused(f"unparseable SQL: {_shorten(str(exc))}") from None
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = f" (line {first['line']}, col {first['col']})" if "line" in first else ""
        description = _TOKEN_REPR.sub(r"'\1'", first.get("description", str(exc)))
        raise SqlRefused(f"unparseable SQL: {_shorten(description)}{where}") from None


def _shorten(message: str, limit: int = 120) -> str:
    line = message.strip().splitlines()[0] if message.strip() else "no details"
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _kind(tree: exp.Expr) -> str:
    """The statement's keyword as written: DELETE, CREATE, SET, DO, VACUUM ..."""
    if isinstance(tree, exp.DML):
        return tree.key.upper()  # not the leading WITH of ``WITH ... DELETE``
    words = tree.sql(dialect=_DIALECT, comments=False).split(maxsplit=1)
    return (words[0] if words else tree.key).upper()


def _check_tree(tree: exp.Query) -> None:
    for node in tree.walk():
        if isinstance(node, (exp.DML, exp.DDL, exp.Command)):
            where = "a WITH clause" if isinstance(node.parent, exp.CTE) else "the query"
            raise SqlRefused(f"{_kind(node)} inside {where} is not allowed: the query must only read")
        if isinstance(node, exp.Into):
            raise SqlRefused("SELECT ... INTO creates a table and is not allowed")
        if isinstance(node, exp.Placeholder):
            raise SqlRefused(f"the SQL has a parameter (:{node.name or '?'}) with no value")
        if isinstance(node, exp.Lock):
            raise SqlRefused(f"locking clause {node.sql(dialect=_DIALECT)} is not allowed: the query must only read")
        if isinstance(node, exp.Func):
            _check_function(node)
        if isinstance(node, exp.Table):
            _check_relation(node)


def _check_function(node: exp.Func) -> None:
    name = _called_name(node)
    if name is None:
        return  # rendered as an operator or a construct (a + b, CASE ..., ARRAY[...]), not a call
    if name not in ALLOWED_FUNCTIONS:
        raise SqlRefused(f"function {name} is not allowed")
    if isinstance(node.parent, exp.Dot) and node.arg_key == "expression":
        qualified = node.parent.sql(dialect=_DIALECT).split("(", 1)[0]
        raise SqlRefused(f"schema-qualified function {qualified} is not allowed: call {name} without a schema")


def _called_name(node: exp.Func) -> str | None:
    """The name the rendered SQL calls, or None when the node is rendered as an operator or a construct."""
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    match = _CALL.match(node.sql(dialect=_DIALECT, comments=False))
    return match.group(1).lower() if match else None


def _check_relation(node: exp.Table) -> None:
    schema = node.db.lower() if node.db else ""
    if schema in DENIED_SCHEMAS:
        raise SqlRefused(f"schema {node.db} is not allowed: it holds paysql's own records")
    holds = DENIED_RELATIONS.get(node.name.lower())
    if holds is not None:
        raise SqlRefused(f"{node.name} is not allowed: it exposes {holds}")
