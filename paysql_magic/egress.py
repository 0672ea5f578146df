"""What may leave the machine: sample values in the prompt, and consent before a schema goes to a cloud provider.

A column is personal when its name or comment looks like a person's data (name, phone, e-mail, card or account
number, address, IIN, passport, birth date ...), unless its name says it belongs to a business or a classification
(a shop's or a category's name), or when the semantic model lists it as personal: it never carries sample values.
Other low-cardinality text columns carry them under ``Ask.sample_values``: ``all`` (default), ``none``, or
``table.column`` entries to allow and ``!table.column`` entries to deny. Secrets (passwords in URLs, API keys) are
cut out of shown text by ``redact``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text

from paysql_magic.connection import connect
from paysql_magic.errors import ConfigError
from paysql_magic.settings import env_gemini_key

if TYPE_CHECKING:  # schema.py asks is_personal: no import at run time
    from paysql_magic.schema import Column, Schema
    from paysql_magic.semantic.model import SemanticModel

DEMO_DATABASE = "payments"
CLOUD_NOTICE = "-- sending schema, glossary and question to {provider} (no result rows)"
_PERSONAL = re.compile(
    r"(^|_)(name|full_?name|first_?name|last_?name|middle_?name|surname|phone|mobile|e_?mail|pan|masked_pan|"
    r"card_?(number|no|num)|account(_?(number|no|num))?|iban|address|street|iin|bin|passport|birth|birthday|dob|"
    r"ssn|tax_?id)($|_)"
    r"|\b(first and last name|phone|e-mail|email|card number|account number|address|iin|passport|birth)\b",
    re.IGNORECASE,
)
# Names that begin with a business word name a business or a classification, not a person: a shop's name, a
# category's name, a city's name.
_NOT_PERSONAL = re.compile(
    r"^(merchant|shop|store|brand|product|category|segment|city|country|region|currency|terminal|mcc)", re.IGNORECASE
)


def is_personal(column: str, comment: str | None = None) -> bool:
    """Whether a column holds a person's data, judged by its name and its comment (database introspection asks)."""
    if _NOT_PERSONAL.match(column):
        return False
    return bool(_PERSONAL.search(column) or (comment and _PERSONAL.search(comment)))


def _listed_personal(model: SemanticModel, table: str, column: str) -> bool:
    """Whether the semantic model lists ``table.column`` as personal (``table`` bare or schema-qualified)."""
    bare = _bare_table(table)
    return any(model.is_personal(r.alias, column) for r in model.relations if _bare_table(r.table) == bare)


def _bare_table(name: str) -> str:
    """A table's name without its schema and quotes, case folded (a schema-wide match denies more, never less)."""
    return name.rsplit(".", 1)[-1].strip('"').lower()


@dataclass(frozen=True)
class SamplePolicy:
    """Which columns may show their sample values: ``everything`` unless denied, or only the ``allowed`` ones."""

    everything: bool = True
    allowed: frozenset[str] = frozenset()
    denied: frozenset[str] = frozenset()

    def permits(self, table: str, column: Column, model: SemanticModel | None = None) -> bool:
        """Whether ``table.column`` may show sample values: never a personal column, by its name and comment or
        by the semantic ``model``'s list of personal columns."""
        key = f"{table}.{column.name}"
        if key in self.denied or is_personal(column.name, column.comment):
            return False
        if model is not None and _listed_personal(model, table, column.name):
            return False
        return self.everything or key in self.allowed


def sample_policy(value: str | Iterable[str] | None) -> SamplePolicy:
    """Parse ``Ask.sample_values``: ``all``, ``none``, or a list / comma string of ``table.column`` and
    ``!table.column``; a list of denials alone keeps every other column."""
    entries = [e.strip() for e in (value.split(",") if isinstance(value, str) else value or ["all"]) if e.strip()]
    if entries in (["all"], []):
        return SamplePolicy()
    if entries == ["none"]:
        return SamplePolicy(everything=False)
    denied = frozenset(e[1:].strip() for e in entries if e.startswith("!"))
    allowed = frozenset(e for e in entries if not e.startswith("!") and e != "all")
    for entry in denied | allowed:
        if not re.fullmatch(r"\w+\.\w+", entry):
            raise ConfigError(f"Ask.sample_values: {entry!r} is not table.column (use all, none, t.c or !t.c)")
    return SamplePolicy(everything="all" in entries or not allowed, allowed=allowed, denied=denied)


_policy: ContextVar[SamplePolicy | None] = ContextVar("paysql_sample_policy", default=None)


@contextmanager
def sample_values(policy: SamplePolicy) -> Iterator[None]:
    """Build prompts under ``policy`` inside the block (the magic wraps each call in it)."""
    token = _policy.set(policy)
    try:
        yield
    finally:
        _policy.reset(token)


def current_policy() -> SamplePolicy:
    """The sample policy prompts are built under now (``sample_values``), else the default."""
    return _policy.get() or SamplePolicy()


def restrict(schema: Schema, policy: SamplePolicy | None = None, model: SemanticModel | None = None) -> Schema:
    """``schema`` with the sample values ``policy`` (default: the current one) does not permit removed; a semantic
    ``model`` also removes those of the columns it lists as personal."""
    policy = policy or current_policy()
    tables = tuple(
        replace(t, columns=tuple(c if policy.permits(t.name, c, model) else replace(c, values=()) for c in t.columns))
        for t in schema.tables
    )
    return replace(schema, tables=tables)


_demo: dict[str, bool] = {}
_DEMO_SQL = text(
    "SELECT current_database() = :name AND EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n "
    "ON n.oid = c.relnamespace WHERE n.nspname = 'paysql_meta' AND c.relname = 'dataset')"
)


def is_demo(engine: Engine) -> bool:
    """Whether ``engine`` is the demo database: named ``payments`` and holding ``paysql_meta.dataset``."""
    key = engine.url.render_as_string(hide_password=False)
    if key not in _demo:
        with connect(engine) as conn:
            _demo[key] = bool(conn.execute(_DEMO_SQL, {"name": DEMO_DATABASE}).scalar())
    return _demo[key]


def cloud_consent(cloud: str | None, engine: Engine, allowed: bool) -> str | None:
    """Before the schema goes to the cloud provider ``cloud``: a ConfigError without consent (non-demo
    databases only), else the notice line to show; None when nothing goes to a cloud provider."""
    if cloud is None:
        return None
    if not allowed and not is_demo(engine):
        raise ConfigError(
            f"{cloud} is a cloud provider: the schema, comments, sample values, glossary and question would leave "
            f"this machine; allow it with %config Ask.allow_cloud = True or PAYSQL_ALLOW_CLOUD=1, or use ollama/offline"
        )
    return CLOUD_NOTICE.format(provider=cloud)


_URL_PASSWORD = re.compile(r"(?P<head>[a-z][\w+.-]*://[^:/@\s]*:)(?P<pw>[^@\s]+)(?=@)", re.IGNORECASE)


def redact(message: str, secrets: Iterable[str] = ()) -> str:
    """``message`` with URL passwords, the Gemini API key and the given ``secrets`` replaced by ``***``."""
    message = _URL_PASSWORD.sub(lambda m: m["head"] + "***", message)
    for secret in (*secrets, env_gemini_key()):
        if secret and len(secret) >= 4:
            message = message.replace(secret, "***")
    return message
