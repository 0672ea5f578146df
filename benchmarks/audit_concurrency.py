"""Audit rows under concurrency: N processes ask questions at once; every call must leave exactly one row.

Each process asks with the offline provider (two questions, and every third call an SQL the guard refuses) for
``--seconds`` and counts its calls; then the rows per process (``user_name``) are counted and the hash chain is
recomputed, as the admin (the reader may not read the audit log). Exit 0 when every process wrote exactly its calls
and the chain is intact.

    python benchmarks/audit_concurrency.py --procs 8 --seconds 60 --data-dir /tmp/paysql-bench
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import uuid
from time import monotonic

from sqlalchemy import text

QUESTIONS = ("Сколько мерчантов в каждом городе?", "Average amount by channel over the last 7 days")
REFUSED = "DELETE FROM transactions"


def worker(url: str, user: str, seconds: float) -> int:
    """Ask until the time is up; returns the number of calls made (each one must be audited once)."""
    from paysql_magic import core
    from paysql_magic.connection import engine_for
    from paysql_magic.errors import PaysqlError
    from paysql_magic.settings import Settings

    engine = engine_for(url)
    settings = Settings(provider="offline", user_name=user, notebook="audit_concurrency")
    calls, deadline = 0, monotonic() + seconds
    while monotonic() < deadline:
        try:
            if calls % 3 == 2:
                core.run_sql(REFUSED, engine, settings)
            else:
                core.ask(QUESTIONS[calls % 3], engine, settings)
        except PaysqlError:
            pass
        calls += 1
    return calls


def written_rows(url: str, users: list[str]) -> dict[str, int]:
    from paysql_magic.connection import engine_for

    with engine_for(url).connect() as conn:
        rows = conn.execute(
            text("SELECT user_name, count(*) FROM paysql.query_audit_log WHERE user_name = ANY(:u) GROUP BY user_name"),
            {"u": users},
        ).all()
    return {user: 0 for user in users} | dict(rows)


def run(url: str, admin_url: str, procs: int, seconds: float) -> bool:
    """Run the processes, print expected vs written rows per process and in total; True when all match."""
    from paysql_magic.audit import verify_chain
    from paysql_magic.connection import engine_for

    run_id = uuid.uuid4().hex[:8]
    users = [f"bench-{run_id}-{i}" for i in range(procs)]
    with multiprocessing.get_context("spawn").Pool(procs) as pool:
        calls = pool.starmap(worker, [(url, user, seconds) for user in users])
    written = written_rows(admin_url, users)
    for user, expected in zip(users, calls, strict=True):
        print(f"{user}: expected {expected} rows, written {written[user]}")
    check = verify_chain(engine_for(admin_url))
    total_expected, total_written = sum(calls), sum(written.values())
    print(f"total: {procs} processes x {seconds:g} s: expected {total_expected} rows, written {total_written}")
    print(f"audit log {'broken at ' + check.broken if check.broken else f'intact: {check.rows} rows'}")
    return list(written.values()) == calls and check.broken is None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--data-dir", help="Data dir of the embedded demo database (default: the user data dir).")
    parser.add_argument("--database-url", help="A reader URL of a prepared database instead of the demo.")
    parser.add_argument("--admin-url", help="An admin (or auditor) URL of that database, to count the rows.")
    args = parser.parse_args(argv)
    if args.database_url:
        url, admin_url = args.database_url, args.admin_url or args.database_url
    else:
        from paysql_magic.demo import start_demo

        demo = start_demo(args.data_dir)
        url, admin_url = demo.reader_url, demo.admin_url
    return 0 if run(url, admin_url, args.procs, args.seconds) else 1


if __name__ == "__main__":
    sys.exit(main())
