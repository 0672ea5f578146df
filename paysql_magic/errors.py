"""Errors raised along the data path; every shell maps them to one clear line.

    PaysqlError                 root: anything paysql-magic raises on purpose
    ├── ConfigError             no connection configured, unknown provider, bad option
    │   └── ModelError          the semantic model file is invalid, or does not match the database
    ├── EmptyInput              the cell holds no question (or no SQL)
    ├── Cancelled               the analyst interrupted the call (Ctrl-C, the notebook's stop button)
    ├── DatabaseUnavailable     the database cannot be reached or refuses the login
    ├── SchemaError             introspection failed
    ├── ProviderError           the provider failed (down, no key, bad reply)
    │   └── Declined            the provider understood too little to write SQL; says what it needs
    ├── SqlRefused              the guard rejected the SQL (``reason`` says why)
    ├── ExecutionError          the database raised while running the query
    │   └── QueryTimeout        the statement timeout cancelled the query
    └── ResultTooLarge          the result holds more bytes than the cap

Messages never contain secrets: URLs are rendered with their password masked.
"""

from __future__ import annotations


class PaysqlError(Exception):
    """Root of every error paysql-magic raises on purpose."""

    status = "error"  # the audit status this error maps to


class ConfigError(PaysqlError):
    """Raised when the configuration is missing or invalid (no connection, unknown provider)."""


class ModelError(ConfigError):
    """Raised when the semantic model (``paysql.yaml``) cannot be read, is invalid, or no longer matches the
    database; the message is one line with the file, the line and the fix."""


class EmptyInput(PaysqlError):
    """Raised when there is no question (or no SQL) to work on."""

    status = "declined"


class Cancelled(PaysqlError):
    """Raised by the shells in place of KeyboardInterrupt, once the call is audited as cancelled."""

    status = "cancelled"


class DatabaseUnavailable(PaysqlError):
    """Raised when the database cannot be reached or refuses the connection."""


class SchemaError(PaysqlError):
    """Raised when the schema cannot be introspected."""


class ProviderError(PaysqlError):
    """Raised when a provider fails: server down, no API key, unusable reply."""


class Declined(ProviderError):
    """Raised when the provider cannot turn the question into SQL; the message says what it needs, and
    ``rephrase`` is a wording that would work, when there is one."""

    status = "declined"

    def __init__(self, message: str, *, rephrase: str | None = None) -> None:
        super().__init__(message)
        self.rephrase = rephrase


class SqlRefused(PaysqlError):
    """Raised by the guard (or the executor's own checks) when SQL is not a single read-only query."""

    status = "refused"

    def __init__(self, reason: str) -> None:
        super().__init__(f"SQL refused: {reason}")
        self.reason = reason


class ExecutionError(PaysqlError):
    """Raised when PostgreSQL reports an error while running the query."""


class QueryTimeout(ExecutionError):
    """Raised when the statement timeout cancels the query."""


class ResultTooLarge(PaysqlError):
    """Raised when a result holds more bytes than the cap (``Ask.max_bytes``, ``paysql serve --max-bytes``); the
    fetch stops there. Not an ``ExecutionError``: no repair round can make the data smaller."""
