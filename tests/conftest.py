"""Session fixtures: one demo database for the whole test session.

With ``PAYSQL_TEST_DATABASE_URL`` (a superuser URL of an existing PostgreSQL) the dataset is prepared there;
otherwise one embedded PostgreSQL is started in a temporary directory and stopped at the end of the session.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from IPython.core.interactiveshell import InteractiveShell
from sqlalchemy import Engine, create_engine, text

from paysql_magic.demo import DemoDatabase, prepare_database, start_demo, stop_demo

TEST_ROWS = 20_000


@pytest.fixture(scope="session", autouse=True)
def offline_by_default(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No real Gemini key or Ollama server reaches the suite: ``auto`` means offline unless a test says otherwise.
    The audit fallback file goes to a temporary directory, never the user's data dir."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAYSQL_AUDIT_FALLBACK", str(tmp_path_factory.mktemp("audit") / "audit-fallback.jsonl"))
        for var in ("GEMINI_API_KEY", "GOOGLE_API_KEY"):
            mp.delenv(var, raising=False)
        mp.setenv("OLLAMA_HOST", "http://127.0.0.1:9")  # discard port: nothing listens
        mp.setenv("PAYSQL_MODE", "sql")  # LLM tests speak SQL unless they ask for plan mode (tests/test_plan.py)
        yield


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoDatabase]:
    url = os.environ.get("PAYSQL_TEST_DATABASE_URL")
    if url:
        yield prepare_database(url, rows=TEST_ROWS, reader_password=secrets.token_urlsafe(16))
        return
    data_dir = tmp_path_factory.mktemp("demo")
    yield start_demo(data_dir, rows=TEST_ROWS)
    stop_demo(data_dir)


@pytest.fixture(scope="session")
def admin_url(demo: DemoDatabase) -> str:
    return demo.admin_url


@pytest.fixture(scope="session")
def reader_url(demo: DemoDatabase) -> str:
    return demo.reader_url


@pytest.fixture(scope="session")
def admin_engine(admin_url: str) -> Iterator[Engine]:
    engine = create_engine(admin_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def reader_engine(reader_url: str) -> Iterator[Engine]:
    engine = create_engine(reader_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def shell() -> InteractiveShell:
    """A real IPython InteractiveShell with the extension loaded, shared by the magic tests."""
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "paysql_magic")
    return ip


@dataclass(frozen=True)
class Company:
    """A company database of ``tests/companies``: its read-only role's engine and URL, its admin, the build time."""

    reader: Engine
    reader_url: str
    admin: Engine
    seconds: float


@pytest.fixture(scope="session")
def company_databases(admin_url: str) -> Iterator[dict[str, Company]]:
    """Every company database, built once per session on the session's server."""
    import companies

    built = {}
    for name in companies.COMPANIES:
        start = time.perf_counter()
        reader_url = companies.build(name, admin_url)
        admin = create_engine(companies.admin_database_url(name, admin_url))
        built[name] = Company(create_engine(reader_url), reader_url, admin, time.perf_counter() - start)
    yield built
    for company in built.values():
        company.reader.dispose()
        company.admin.dispose()


@pytest.fixture
def transactions_today(admin_engine: Engine) -> int:
    """Today's transactions counted straight in SQL: what «Сколько транзакций было сегодня?» must answer."""
    with admin_engine.connect() as conn:
        today = "transaction_ts >= current_date AND transaction_ts < current_date + 1"
        return conn.execute(text(f"SELECT count(*) FROM transactions WHERE {today}")).scalar_one()


@pytest.fixture(scope="module")
def forget_what_this_module_cached(admin_engine: Engine) -> Iterator[None]:
    """``paysql.query_cache`` and ``paysql.verified_examples`` are shared by the session: the rows a module adds go
    at its end (a question cached there would make later tests of the magic see a rerun). Opt in with
    ``pytestmark``. The same tables of a database not migrated yet (``public``) are cleaned too."""
    with admin_engine.connect() as conn:
        start = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
    yield
    with admin_engine.begin() as conn:
        for table in (f"{s}.{t}" for s in ("paysql", "public") for t in ("query_cache", "verified_examples")):
            if conn.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar() is not None:
                conn.execute(text(f"DELETE FROM {table} WHERE created_at >= :start"), {"start": start})


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis (Debian's ``redis-server``) on loopback for the session, without persistence."""
    import shutil
    import subprocess

    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        import redis

        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        client.close()
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
