"""What may leave the machine: sample values in the prompt, and consent before a schema goes to a cloud provider.

A column is personal when its name or comment looks like a person's data (name, phone, e-mail, card or account
number, address, IIN, passport, birth date ...): it never carries sample values. Other low-cardinality text
columns carry them under ``Ask.sample_values``: ``all`` (default), ``none``, or ``table.column`` entries to allow
and ``!table.column`` entries to deny. Secrets (passwords in URLs, API keys) are cut out of shown text by ``redact``.
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

DEMO_DATABASE = "payments"
CLOUD_NOTICE = "-- sending schema, glossary and question to {provider} (no result rows)"
_PERSONAL = re.compile(
    r"(^|_)(name|full_?name|first_?name|last_?name|middle_?name|surname|phone|mobile|e_?mail|pan|masked_pan|"
    r"card_?(number|no|num)|account(_?(number|no|num))?|iban|address|street|iin|bin|passport|birth|birthday|dob|"
    r"ssn|tax_?id)($|_)"
    r"|\b(first and last name|phone|e-mail|email|card number|account number|address|iin|passport|birth)\b",
    re.IGNORECASE,
)
_NOT_PERSONAL = re.compile(r"^(merchant|mcc|brand|product|category|segment|city|country|currency)", re.IGNORECASE)


def is_personal(column: str, comment: str | None = None) -> bool:
    """Whether a column holds a person's data, judged by its name and its comment."""
    if _PERSONAL.search(column):
        return not _NOT_PERSONAL.match(column)  # merchant_name is a business, not a person
    return bool(comment and _PERSONAL.search(comment) and not _NOT_PERSONAL.match(column))


@dataclass(frozen=True)
class SamplePolicy:
    """Which columns may show their sample values: ``everything`` unless denied, or only the ``allowed`` ones."""

    everything: bool = True
    allowed: frozenset[str] = frozenset()
    denied: frozenset[str] = frozenset()

    def permits(self, table: str, column: Column) -> bool:
        key = f"{table}.{column.name}"
        if key in self.denied or is_personal(column.name, column.comment):
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


def restrict(schema: Schema, policy: SamplePolicy | None = None) -> Schema:
    """``schema`` with the sample values ``policy`` (default: the current one) does not permit removed."""
    policy = policy or current_policy()
    tables = tuple(
        replace(t, columns=tuple(c if policy.permits(t.name, c) else replace(c, values=()) for c in t.columns))
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
