"""One settings object for a call, and the only place environment variables are read."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

DATABASE_URL_ENV = "PAYSQL_DATABASE_URL"
AUDIT_URL_ENV = "PAYSQL_AUDIT_URL"


@dataclass(frozen=True)
class Settings:
    """How one question or query is answered. URLs may hold passwords, so they stay out of ``repr``."""

    provider: str = "auto"
    model: str | None = None
    max_rows: int | None = 1000
    timeout_s: float = 30.0
    exact_decimal: bool = False
    allow_superuser: bool = False
    audit_url: str | None = field(default=None, repr=False)
    user_name: str | None = None
    notebook: str | None = None


def env_database_url() -> str | None:
    """The database URL from ``PAYSQL_DATABASE_URL``, if set."""
    return os.environ.get(DATABASE_URL_ENV) or None


def env_audit_url() -> str | None:
    """A separate audit database URL from ``PAYSQL_AUDIT_URL``, if set."""
    return os.environ.get(AUDIT_URL_ENV) or None


def current_user() -> str | None:
    """The operating-system user running the notebook, recorded in the audit log."""
    try:
        return os.getlogin()
    except OSError:
        return os.environ.get("USER") or os.environ.get("USERNAME")
