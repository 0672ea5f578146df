"""A role that may not create or write paysql's own tables (audit log, cache, verified examples).

The answer is still returned and the audit row is kept in the fallback file; the user sees ONE line, once per
process and store database, that names the fix, instead of a warning in every cell. ``audit.write`` and the
core's cache and examples calls both go through ``warn_once``.
"""

from __future__ import annotations

import shlex
import threading
import warnings

from sqlalchemy import Engine

from paysql_magic.connection import sqlstate
from paysql_magic.settings import env_audit_fallback

INSUFFICIENT_PRIVILEGE = "42501"  # SQLSTATE of PostgreSQL's InsufficientPrivilege

_warned: set[str] = set()  # store databases (URL without password) whose fix line was shown in this process
_lock = threading.Lock()


NO_SCHEMA = "3F000"  # CREATE with no schema of the search path the role may use: "no schema has been selected"
_NO_SCHEMA = "no schema has been selected to create in"


def is_denied(exc: BaseException) -> bool:
    """Whether ``exc`` (a SQLAlchemy error, a driver error, or one caused by them) is a missing privilege."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for error in (current, getattr(current, "orig", None)):
            if error is None:
                continue
            code = sqlstate(error)
            text = str(error).lower()
            if code in (INSUFFICIENT_PRIVILEGE, NO_SCHEMA) or "permission denied" in text or _NO_SCHEMA in text:
                return True
        current = current.__cause__
    return False


def fix_line(engine: Engine) -> str:
    """The one line that says why paysql's own tables cannot be used and how to fix it."""
    role = engine.url.username or "<role>"
    database = engine.url.database or "the store database"
    return (
        f"paysql: this role ({role}) cannot create or write paysql's own tables (audit log, cache, verified "
        f"examples) in {database}; an admin runs: paysql grant-readonly --database-url ADMIN_URL "
        f"--role {shlex.quote(role)} --apply, or set Ask.audit_url / PAYSQL_AUDIT_URL to a database you may write "
        f"(audit rows are kept in {env_audit_fallback()} until then)"
    )


def warn_once(engine: Engine | None, exc: BaseException, *, stacklevel: int = 2) -> bool:
    """When ``exc`` is a missing privilege: warn ``fix_line`` unless already done for this store database in this
    process, and return True (the caller says nothing more). Any other error: return False, nothing warned."""
    if engine is None or not isinstance(engine, Engine) or not is_denied(exc):
        return False
    key = engine.url.render_as_string(hide_password=True)
    with _lock:
        first = key not in _warned
        _warned.add(key)
    if first:
        warnings.warn(fix_line(engine), stacklevel=stacklevel + 1)
    return True
