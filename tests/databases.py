"""Scratch databases on the test server: made empty for one test or module, dropped afterwards with the roles
their privileges named."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from paysql_magic.grants import quote_ident


def fresh_database(admin_url: str, name: str) -> str:
    """A superuser URL of a new, empty database ``name`` (dropped first if an earlier run left it)."""
    maintenance = create_engine(make_url(admin_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with maintenance.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    maintenance.dispose()
    return make_url(admin_url).set(database=name).render_as_string(False)


def drop_database(admin_url: str, name: str, roles: tuple[str, ...] = ()) -> None:
    """Drop the database, then the roles (their privileges lived in it; CONNECT is part of it)."""
    maintenance = create_engine(make_url(admin_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with maintenance.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        for role in roles:
            conn.execute(text(f"DROP ROLE IF EXISTS {quote_ident(role)}"))
    maintenance.dispose()
