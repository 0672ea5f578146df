"""One settings object for a call, and the only place environment variables are read."""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

DATABASE_URL_ENV = "PAYSQL_DATABASE_URL"
AUDIT_URL_ENV = "PAYSQL_AUDIT_URL"
REDIS_URL_ENV = "PAYSQL_REDIS_URL"  # the result cache, rate limits and jobs shared through Redis
AUDIT_FALLBACK_ENV = "PAYSQL_AUDIT_FALLBACK"
GEMINI_KEY_ENVS = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
GEMINI_BASE_URL_ENV = "GEMINI_BASE_URL"
GEMINI_MODEL_ENV = "PAYSQL_GEMINI_MODEL"
OLLAMA_HOST_ENV = "OLLAMA_HOST"
OLLAMA_MODEL_ENV = "PAYSQL_OLLAMA_MODEL"
ALLOW_CLOUD_ENV = "PAYSQL_ALLOW_CLOUD"
SEMANTIC_MODEL_ENV = "PAYSQL_SEMANTIC_MODEL"
MODE_ENV = "PAYSQL_MODE"
MODES = ("auto", "plan", "sql")
SCHEMAS_ENV = "PAYSQL_SCHEMAS"
STORE_SCHEMA_ENV = "PAYSQL_STORE_SCHEMA"
DEFAULT_STORE_SCHEMA = "paysql"
USER_ENV = "PAYSQL_USER"
DEMO_DIR_ENV = "PAYSQL_DEMO_DIR"
DEMO_ROWS_ENV = "PAYSQL_DEMO_ROWS"
DEMO_ANCHOR_ENV = "PAYSQL_DEMO_ANCHOR"
DEFAULT_OLLAMA_HOST = "http://127.0.0.1:11434"


DEFAULT_MAX_ROWS = 100_000  # the row cap of a DataFrame (and the LIMIT added to a query without one)
DEFAULT_MAX_BYTES = 100 * 1024**2  # the most bytes a result may hold in the notebook (``Ask.max_bytes``)
DEFAULT_API_MAX_BYTES = 25 * 1024**2  # ... and in one HTTP API answer (``paysql serve --max-bytes``)
_UNITS = {"": 1, "b": 1, "kb": 1024, "k": 1024, "mb": 1024**2, "m": 1024**2, "gb": 1024**3, "g": 1024**3}


@dataclass(frozen=True)
class Settings:
    """How one question or query is answered. URLs may hold passwords, so they stay out of ``repr``."""

    provider: str = "auto"
    model: str | None = None
    max_rows: int | None = DEFAULT_MAX_ROWS
    max_bytes: int | None = DEFAULT_MAX_BYTES  # None: no byte cap
    timeout_s: float = 30.0
    exact_decimal: bool = False
    allow_superuser: bool = False
    audit_url: str | None = field(default=None, repr=False)
    user_name: str | None = None
    notebook: str | None = None
    semantic_model: str | None = None  # the paysql.yaml to use; None: PAYSQL_SEMANTIC_MODEL, ./paysql.yaml, a draft
    schemas: tuple[str, ...] | None = None  # the schemas to read; None: PAYSQL_SCHEMAS, else every usable one
    results: object | None = field(default=None, repr=False, compare=False)  # a results.ResultCache (the API)
    fresh_results: bool = False  # run live even when the result cache holds the rows (and replace them)
    scan_engine: object | None = field(default=None, repr=False, compare=False)  # the API: costly statements' pool
    scan_cost: float = 10_000.0  # the planner cost from which a statement runs on ``scan_engine``


def parse_size(value: str | int) -> int:
    """``25MB``, ``512kb``, ``1GB`` or a number of bytes (units of 1024)."""
    if isinstance(value, int):
        return value
    text = value.strip().lower().replace(" ", "").replace("_", "")
    number = text.rstrip("kmgb")
    unit = text[len(number) :]
    try:
        size = float(number) * _UNITS[unit]
    except (KeyError, ValueError):
        raise ValueError(f"not a size: {value!r} (write it as e.g. 25MB, 512KB or 1GB)") from None
    if size < 1:
        raise ValueError(f"a size must be at least 1 byte: {value!r}")
    return int(size)


def format_size(size: int) -> str:
    """``26214400`` -> ``25 MB``."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("kB", 1024)):
        if size >= factor:
            return f"{size / factor:.3g} {unit}"
    return f"{size} bytes"


def env_database_url() -> str | None:
    """The database URL from ``PAYSQL_DATABASE_URL``, if set."""
    return os.environ.get(DATABASE_URL_ENV) or None


def env_redis_url() -> str | None:
    """The Redis URL from ``PAYSQL_REDIS_URL``, if set."""
    return os.environ.get(REDIS_URL_ENV) or None


def env_audit_url() -> str | None:
    """A separate audit database URL from ``PAYSQL_AUDIT_URL``, if set."""
    return os.environ.get(AUDIT_URL_ENV) or None


def env_audit_fallback() -> Path:
    """Where audit rows go while the audit database is unreachable: ``PAYSQL_AUDIT_FALLBACK``, else a JSONL file
    in the user data dir."""
    if path := os.environ.get(AUDIT_FALLBACK_ENV):
        return Path(path).expanduser()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns at import when XDG_RUNTIME_DIR is unset
        import platformdirs
    return Path(platformdirs.user_data_dir("paysql-magic")) / "audit-fallback.jsonl"


def env_gemini_key() -> str | None:
    """The Gemini API key from ``GEMINI_API_KEY``, else ``GOOGLE_API_KEY``; blank values count as unset."""
    for name in GEMINI_KEY_ENVS:
        if key := os.environ.get(name, "").strip():
            return key
    return None


def env_gemini_base_url() -> str | None:
    """A Gemini endpoint other than Google's (a proxy, a test server) from ``GEMINI_BASE_URL``, if set."""
    return os.environ.get(GEMINI_BASE_URL_ENV) or None


def env_gemini_model() -> str | None:
    """The Gemini model from ``PAYSQL_GEMINI_MODEL``, if set."""
    return os.environ.get(GEMINI_MODEL_ENV) or None


def env_ollama_host() -> str:
    """The Ollama server from ``OLLAMA_HOST`` (the variable Ollama itself reads), else the local default."""
    return os.environ.get(OLLAMA_HOST_ENV) or DEFAULT_OLLAMA_HOST


def env_ollama_model() -> str | None:
    """The Ollama model from ``PAYSQL_OLLAMA_MODEL``, if set."""
    return os.environ.get(OLLAMA_MODEL_ENV) or None


def env_allow_cloud() -> bool:
    """Consent to send a non-demo database's schema to a cloud provider, from ``PAYSQL_ALLOW_CLOUD=1``."""
    return os.environ.get(ALLOW_CLOUD_ENV, "").strip().lower() in ("1", "true", "yes")


def env_schemas() -> tuple[str, ...] | None:
    """The schemas to introspect from ``PAYSQL_SCHEMAS`` (comma-separated, blanks dropped); None when unset or blank,
    which means every schema the role may use."""
    names = tuple(name.strip() for name in os.environ.get(SCHEMAS_ENV, "").split(","))
    return tuple(name for name in names if name) or None


def env_store_schema() -> str:
    """paysql's own schema (audit log, cache, examples, API keys): ``PAYSQL_STORE_SCHEMA``, else ``paysql``. Read
    once, when ``paysql_magic.store`` is imported; a name that is not a plain lower-case identifier is ignored."""
    name = os.environ.get(STORE_SCHEMA_ENV, "").strip()
    if not name:
        return DEFAULT_STORE_SCHEMA
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name) or name.startswith("pg_") or name == "public":
        warnings.warn(
            f"paysql: {STORE_SCHEMA_ENV}={name!r} is not a plain lower-case schema name: using {DEFAULT_STORE_SCHEMA}",
            stacklevel=2,
        )
        return DEFAULT_STORE_SCHEMA
    return name


def env_mode() -> str:
    """How LLMs answer when no mode is given: ``PAYSQL_MODE`` (auto, plan or sql), else auto."""
    mode = os.environ.get(MODE_ENV, "").strip().lower()
    return mode if mode in MODES else "auto"


def env_semantic_model() -> str | None:
    """The semantic model file from ``PAYSQL_SEMANTIC_MODEL``, if set."""
    return os.environ.get(SEMANTIC_MODEL_ENV) or None


def env_demo_dir() -> Path | None:
    """The embedded demo database's data directory from ``PAYSQL_DEMO_DIR`` (the magic and every ``paysql``
    command read it), if set."""
    value = os.environ.get(DEMO_DIR_ENV, "").strip()
    return Path(value).expanduser() if value else None


def current_user() -> str | None:
    """Who is asking, for the audit log: ``PAYSQL_USER`` when set (``paysql demo`` names its quickstart run so),
    else the operating-system user running the notebook."""
    if name := os.environ.get(USER_ENV, "").strip():
        return name
    try:
        return os.getlogin()
    except OSError:
        return os.environ.get("USER") or os.environ.get("USERNAME")
