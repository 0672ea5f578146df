"""Security and reliability figures: hostile statements refused, audit rows against calls under faults, the API's
peak memory during a result-size attack, temp bytes written during a temp-file attack.

    .venv/bin/python benchmarks/security.py [--data-dir DIR] [--rows N] [--uncapped]

On the embedded demo database (``--data-dir``, default a directory under /tmp; ``--rows``, default 20,000: the
attacks do not read the data). Four parts, each printed as one block:

1. every line of ``tests/data/hostile_sql.txt`` through the guard, then straight into the executor as the reader
   (guard bypassed), with the server state compared before and after;
2. calls through the core as the reader with hostile text (NUL, lone surrogates, a status the database refuses),
   three of them while another session holds the audit chain's lock, and the audit database unreachable for three:
   calls made against rows in ``paysql.query_audit_log``, and where the others are (fallback file, queue);
3. ``paysql serve`` (one worker, default ``--max-bytes``) answering ``POST /api/sql`` with the issue's
   ``SELECT lpad('x', 50000000, 'y') FROM generate_series(1, 10)``: the worker's resident memory before, its peak
   (``VmHWM``) after, and the answer; ``--uncapped`` repeats it with ``--max-bytes 4GB`` (what the issue measured);
4. the issue's sort over ``generate_series(1, 2000000000)`` as the reader (``temp_file_limit`` 1GB, set by
   grant-readonly): temp bytes written (``pg_stat_database.temp_bytes``), seconds, and the error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ROOT / "tests" / "data" / "hostile_sql.txt"
SIZE_ATTACK = "SELECT lpad('x', 50000000, 'y') FROM generate_series(1, 10)"
TEMP_ATTACK = "SELECT g FROM generate_series(1, 2000000000) AS g ORDER BY g DESC"
STATE = """
SELECT (SELECT sum(hashtext(t::text)::numeric) FROM transactions t)::text,
       (SELECT sum(hashtext(m::text)::numeric) FROM merchants m)::text,
       (SELECT count(*) FROM paysql.query_audit_log), (SELECT count(*) FROM pg_class),
       (SELECT array_agg(setconfig::text ORDER BY 1) FROM pg_db_role_setting)::text,
       (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory')
"""


def hostile(reader, admin) -> None:
    from paysql_magic import guard
    from paysql_magic.errors import PaysqlError, SqlRefused
    from paysql_magic.execute import run_query

    lines = [line for line in HOSTILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    refused = unchanged = raised = 0
    for line in lines:
        try:
            guard.check(line)
        except SqlRefused:
            refused += 1
        with admin.connect() as conn:
            before = conn.execute(text(STATE)).one()
        try:
            run_query(reader, line, timeout_s=1)
        except PaysqlError:
            raised += 1
        with admin.connect() as conn:
            unchanged += conn.execute(text(STATE)).one() == before
    print(f"hostile statements ({HOSTILE.relative_to(ROOT)}): {len(lines)}")
    print(f"  guard: {refused}/{len(lines)} refused")
    print(f"  executor alone, as the reader: {unchanged}/{len(lines)} changed nothing ({raised} raised an error, "
          f"{len(lines) - raised} returned rows that change nothing)")  # fmt: skip


def faults(reader, reader_url: str, admin) -> None:
    import warnings

    from paysql_magic import audit, core
    from paysql_magic.errors import PaysqlError
    from paysql_magic.settings import Settings

    fallback = Path(tempfile.mkdtemp()) / "audit-fallback.jsonl"
    os.environ["PAYSQL_AUDIT_FALLBACK"] = str(fallback)
    user = f"faults-{uuid.uuid4().hex[:8]}"
    texts = ["Сколько транзакций было сегодня?", "nul \x00 in it", "a lone \ud800 surrogate", "\udfff\x00\\u0000"]
    calls = 0
    warnings.simplefilter("ignore")

    def call(question: str, settings: Settings) -> None:
        nonlocal calls
        calls += 1
        with contextlib.suppress(PaysqlError):
            core.run_sql("SELECT count(*) AS n FROM merchants", reader, settings, question=question, remember=False)

    settings = Settings(user_name=user, notebook="benchmarks/security.py")
    for i in range(40):
        call(texts[i % len(texts)], settings)
    holder = create_engine(reader_url)  # another session of the reader holds the chain's row lock
    with holder.connect() as conn:
        held = audit.stored(audit.AuditRecord(source="api", status="ok", user_name=f"{user}-holder"))
        conn.execute(text("SELECT paysql.audit_write(CAST(:r AS jsonb))"), {"r": json.dumps(held)})
        start = time.perf_counter()
        for i in range(3):
            call(texts[i], settings)
        held_s = (time.perf_counter() - start) / 3
        conn.rollback()
    holder.dispose()
    down = Settings(user_name=user, audit_url="postgresql://nobody:pw@127.0.0.1:1/down")
    for i in range(3):
        call(texts[i], down)
    refused = audit.AuditRecord(source="api", status="no such status", user_name=user)  # refused for good
    calls += 1
    audit.write(reader, refused)
    for i in range(4):
        call(texts[i], settings)  # the queue drains into the log
    with admin.connect() as conn:
        logged = conn.execute(text("SELECT count(*) FROM paysql.query_audit_log WHERE user_name = :u"), {"u": user})
        logged = logged.scalar_one()
    in_file = {json.loads(line)["call_id"] for line in fallback.read_text(encoding="utf-8").splitlines()}
    imported = audit.import_fallback(reader, fallback)
    total = logged + imported.written
    print(f"audit under faults: {calls} calls, {logged} rows in the log before the import (3 of them from the queue)")
    print(f"  {len(in_file)} rows went to the fallback file: 3 while another session held the chain lock "
          f"({held_s:.2f} s a call, then written from the queue by the next call), 3 while the audit database was "
          "down, 1 with a status the database refuses")  # fmt: skip
    print(
        f"  paysql audit import: {imported.written} written, {imported.present} already in the log, "
        f"{len(imported.failed)} refused; {total} of {calls} calls in the log, the refused one in the file, 0 lost"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def size_attack(reader_url: str, *max_bytes: str) -> None:
    for cap in max_bytes:
        port = _free_port()
        command = [sys.executable, "-m", "paysql_magic.cli", "serve", "--database-url", reader_url]
        command += ["--port", str(port), "--max-bytes", cap, "--timeout", "120"]
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/api/health", timeout=2):
                    break
                time.sleep(0.1)
            before = _rss(server.pid, "VmRSS")
            body = json.dumps({"sql": SIZE_ATTACK}).encode()
            request = urllib.request.Request(f"{url}/api/sql", data=body, headers={"Content-Type": "application/json"})
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=300) as response:
                    status, size = response.status, len(response.read())
            except urllib.error.HTTPError as exc:
                status, size = exc.code, len(exc.read())
            seconds = time.perf_counter() - start
            peak = _rss(server.pid, "VmHWM")
        finally:
            server.terminate()
            server.wait(timeout=30)
        answer = f"HTTP {status}, {size:,} bytes of answer in {seconds:.1f} s"
        memory = f"worker memory {before / 2**20:,.0f} MB before, peak {peak / 2**20:,.0f} MB"
        print(f"size attack, paysql serve --max-bytes {cap}: {answer}; {memory}")


def temp_attack(reader, admin) -> None:
    from paysql_magic.errors import PaysqlError
    from paysql_magic.execute import run_query

    def temp_bytes() -> int:
        with admin.connect() as conn:
            conn.exec_driver_sql("SELECT pg_stat_force_next_flush()")
            return conn.execute(
                text("SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()")
            ).scalar()

    with reader.connect() as conn:
        limit = conn.exec_driver_sql("SHOW temp_file_limit").scalar_one()
    before, start = temp_bytes(), time.perf_counter()
    try:
        run_query(reader, TEMP_ATTACK, timeout_s=30)
        outcome = "finished"
    except PaysqlError as exc:
        outcome = str(exc)
    seconds = time.perf_counter() - start
    time.sleep(0.5)
    print(f"temp attack as the reader (temp_file_limit {limit}): {(temp_bytes() - before) / 2**20:,.0f} MB of temp "
          f"files in {seconds:.1f} s: {outcome}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(Path(tempfile.gettempdir()) / "paysql-security-bench"))
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--uncapped", action="store_true", help="Also run the size attack with --max-bytes 4GB.")
    args = parser.parse_args()
    from paysql_magic.demo import start_demo

    demo = start_demo(args.data_dir, rows=args.rows)
    reader, admin = create_engine(demo.reader_url), create_engine(demo.admin_url)
    hostile(reader, admin)
    faults(reader, demo.reader_url, admin)
    temp_attack(reader, admin)
    size_attack(demo.reader_url, "25MB", *(["4GB"] if args.uncapped else []))


if __name__ == "__main__":
    main()
