"""Throughput and latency of the HTTP API: ``paysql serve --demo --workers N`` under concurrent requests.

    .venv/bin/python benchmarks/api_load.py [--requests 200] [--concurrency 16] [--workers 2] [--data-dir DIR]
    .venv/bin/python benchmarks/api_load.py --workload dashboard [--data-dir DIR] [--rows N] [--redis URL]
        [--duration 30] [--warmup 5]

Starts the server on a free loopback port over the demo database (offline provider, rate limit lifted), sends
``--requests`` POST /api/query calls from ``--concurrency`` threads (four questions in turn; after the first round
they come from the query cache, as a dashboard's would), and prints requests per second and the p50/p95 latency.

``--workload dashboard`` (issue 16) runs three phases of ``--duration`` seconds each, 16 clients, after a warm-up:
(1) the brief's dashboard pair and the daily report's questions as clients send them (the result cache may serve
them) -> R req/s, p50 X, p95 Y; (2) 8 clients sending the top-merchants scan with ``"fresh": true`` while 8 send
today's count with ``"fresh": true`` -> Z, the count's p50 (the routing, not the cache); (3) the phase-1 SQL
through psycopg from 16 threads -> F, the floor. It prints one line:
``api dashboard: R req/s, p50 X ms, p95 Y ms; cheap p50 Z ms while fresh scans run; direct SQL floor F req/s
(ratio Q)``.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests

QUESTIONS = (
    "Сколько транзакций было сегодня?",
    "Топ 5 мерчантов по объему транзакций",
    "Транзакции по валютам",
    "Дневной объем транзакций за последние 7 дней",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data-dir", help="Demo data directory (default: the user data dir).")
    parser.add_argument("--workload", choices=("questions", "dashboard"), default="questions")
    parser.add_argument("--rows", type=int, help="Demo transactions when the demo is created (dashboard).")
    parser.add_argument("--redis", help="PAYSQL_REDIS_URL for the server (dashboard; default: in-process cache).")
    parser.add_argument("--duration", type=float, default=30.0, help="Seconds per phase (dashboard).")
    parser.add_argument("--warmup", type=float, default=5.0, help="Warm-up seconds (dashboard).")
    args = parser.parse_args()
    if args.workload == "dashboard":
        dashboard(args)
        return
    port = _free_port()
    command = [sys.executable, "-m", "paysql_magic.cli", "serve", "--demo", "--port", str(port)]
    command += ["--workers", str(args.workers), "--rate-limit", "1000000/minute"]
    command += ["--data-dir", args.data_dir] if args.data_dir else []
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if requests.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit("paysql serve did not start")
            time.sleep(0.5)

        def one(i: int) -> tuple[int, float]:
            start = time.perf_counter()
            response = requests.post(f"{url}/api/query", json={"question": QUESTIONS[i % len(QUESTIONS)]}, timeout=60)
            if response.status_code != 200:
                print(f"{response.status_code}: {response.text[:200]}")
            return response.status_code, time.perf_counter() - start

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            results = list(pool.map(one, range(args.requests)))
        elapsed = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=30)
    latencies = sorted(seconds for _, seconds in results)
    ok = sum(status == 200 for status, _ in results)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    print(
        f"{args.requests} requests, {args.concurrency} at a time, {args.workers} workers: {ok} answered 200, "
        f"{args.requests / elapsed:.1f} requests/s, p50 {pct(0.5):.0f} ms, p95 {pct(0.95):.0f} ms"
    )


DASHBOARD = ("Сколько транзакций было сегодня?", "Топ 10 мерчантов по объему транзакций")
DAILY_REPORT = (
    "Сколько транзакций было сегодня?",
    "Общий объем транзакций сегодня в KZT",
    "Топ 5 категорий MCC по объему транзакций сегодня",
)


def _start(command: list[str], env: dict[str, str], url: str) -> subprocess.Popen:
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 300
    while True:
        try:
            if requests.get(f"{url}/api/health", timeout=2).status_code == 200:
                return server
        except requests.ConnectionError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            sys.exit("paysql serve did not start")
        time.sleep(0.5)


def _phase(clients: list, duration: float) -> list[list[float]]:
    """Run each client (a callable returning one call's seconds) in its own thread for ``duration`` seconds."""
    import threading

    stop = time.monotonic() + duration
    times: list[list[float]] = [[] for _ in clients]

    def loop(i: int) -> None:
        while time.monotonic() < stop:
            times[i].append(clients[i]())

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else float("nan")


def dashboard(args: argparse.Namespace) -> None:
    import itertools
    import os

    import psycopg

    from paysql_magic.demo import start_demo

    demo = start_demo(args.data_dir, rows=args.rows)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PAYSQL_DATABASE_URL": demo.reader_url}
    if args.redis:
        env["PAYSQL_REDIS_URL"] = args.redis
    command = [sys.executable, "-m", "paysql_magic.cli", "serve", "--port", str(port), "--provider", "offline"]
    command += ["--workers", str(args.workers), "--rate-limit", "1000000/minute"]
    server = _start(command, env, url)
    session = requests.Session()
    questions = list(dict.fromkeys(DASHBOARD + DAILY_REPORT))
    errors: list[str] = []

    def ask(question: str, fresh: bool = False) -> float:
        start = time.perf_counter()
        response = requests.post(f"{url}/api/query", json={"question": question, "fresh": fresh}, timeout=120)
        if response.status_code != 200:
            errors.append(f"{response.status_code}: {response.text[:200]}")
        return time.perf_counter() - start

    try:
        sqls = [session.post(f"{url}/api/query", json={"question": q}, timeout=120).json()["sql"] for q in questions]
        mix = DASHBOARD * 2 + DAILY_REPORT  # the dashboard polls more often than the report runs

        def client(offset: int):
            cycle = itertools.cycle(mix[offset % len(mix) :] + mix[: offset % len(mix)])
            return lambda: ask(next(cycle))

        _phase([client(i) for i in range(args.concurrency)], args.warmup)
        times = _phase([client(i) for i in range(args.concurrency)], args.duration)
        calls = [t for ts in times for t in ts]
        rate, p50, p95 = len(calls) / args.duration, _pct(calls, 0.5), _pct(calls, 0.95)
        half = args.concurrency // 2
        scans = [lambda: ask(DASHBOARD[1], fresh=True) for _ in range(half)]
        counts = [lambda: ask(DASHBOARD[0], fresh=True) for _ in range(args.concurrency - half)]
        mixed = _phase(scans + counts, args.duration)
        cheap = _pct([t for ts in mixed[half:] for t in ts], 0.5)
    finally:
        server.terminate()
        server.wait(timeout=60)

    local = threading_local()

    def direct(offset: int):
        cycle = itertools.cycle(sqls[offset % len(sqls) :] + sqls[: offset % len(sqls)])

        def one() -> float:
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = psycopg.connect(demo.reader_url.replace("postgresql+psycopg", "postgresql"))
            start = time.perf_counter()
            with conn.cursor() as cur:
                cur.execute(next(cycle))
                cur.fetchall()
            conn.rollback()
            return time.perf_counter() - start

        return one

    floor_times = _phase([direct(i) for i in range(args.concurrency)], args.duration)
    floor = sum(len(ts) for ts in floor_times) / args.duration
    if errors:
        print(f"{len(errors)} calls failed, the first: {errors[0]}")
    print(
        f"api dashboard: {rate:.0f} req/s, p50 {p50:.0f} ms, p95 {p95:.0f} ms; cheap p50 {cheap:.0f} ms while fresh "
        f"scans run; direct SQL floor {floor:.1f} req/s (ratio {rate / floor:.1f})"
    )


def threading_local():
    import threading

    return threading.local()


if __name__ == "__main__":
    main()
