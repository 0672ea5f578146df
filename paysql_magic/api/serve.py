"""``paysql serve`` and ``paysql keys``: what the CLI runs (``cli.py`` only parses and hands over here).

The workers get their config, and the secrets the environment held (database URLs, the JWT secret, API keys of
providers, ``PGPASSWORD``), inside the app factory that multiprocessing pickles to each worker through a pipe: the
parent removes those variables from its environment before it starts them, so neither a worker's environment nor
its command line (both readable by other processes of the same user) holds a secret; with ``--secrets-file`` they
come from an owner-only file rather than the environment. Uvicorn believes
``X-Forwarded-For`` only from the proxies named with ``--forwarded-allow-ips`` (by default from none, where it would
trust 127.0.0.1: any local client could then pick its own address).
"""

from __future__ import annotations

import argparse
import os

from sqlalchemy.engine import make_url

from paysql_magic import core
from paysql_magic.api import keys, queue
from paysql_magic.api.config import (
    ServeConfig,
    env_allowed_hosts,
    env_cors_origins,
    env_jwt,
    env_rate_limit,
)
from paysql_magic.api.factory import AppFactory
from paysql_magic.api.ratelimit import RateLimit
from paysql_magic.connection import engine_for, mask
from paysql_magic.errors import ConfigError
from paysql_magic.settings import (
    AUDIT_URL_ENV,
    DATABASE_URL_ENV,
    GEMINI_KEY_ENVS,
    Settings,
    env_audit_url,
    env_database_url,
    env_redis_url,
    format_size,
)

APP_FACTORY = "paysql_magic.api.app:app_from_env"  # for another ASGI server (reads PAYSQL_SERVE_CONFIG)
SECRET_ENVS = (
    DATABASE_URL_ENV,
    AUDIT_URL_ENV,
    "PAYSQL_JWT_SECRET",
    "PAYSQL_REDIS_URL",
    "PAYSQL_SERVE_CONFIG",
    "PGPASSWORD",
    *GEMINI_KEY_ENVS,
)


def serve(args: argparse.Namespace) -> int:
    """Start the embedded demo database first (with ``--demo``), then uvicorn with ``--workers`` processes."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    if getattr(args, "secrets_file", None):
        os.environ.update(read_secrets_file(args.secrets_file))  # popped below like the others: never inherited
    config = ServeConfig(
        database_url=database_url(args),
        host=args.host,
        port=args.port,
        provider=args.provider,
        model=args.model,
        max_rows=args.max_rows,
        timeout_s=args.timeout,
        rate_limit=args.rate_limit or env_rate_limit(),
        redis_url=env_redis_url(),
        cors_origins=tuple(args.cors_origin) or env_cors_origins(),
        jwt=env_jwt(),
        allowed_hosts=tuple(args.allowed_host) or env_allowed_hosts(),
        forwarded_allow_ips=tuple(args.forwarded_allow_ips),
        max_bytes=args.max_bytes,
        audit_url=env_audit_url(),
        result_ttl=args.result_ttl,
        result_max_bytes=args.result_max_bytes,
        workers=args.workers,
        db_connections=args.db_connections,
        scan_cost=args.scan_cost,
        job_ttl=args.job_ttl,
    )
    RateLimit(config.rate_limit, config.redis_url)  # a bad rate (or no redis package) fails here, not in each worker
    if config.redis_url:
        queue.queue(queue.connect(config.redis_url))  # ... and so does a missing rq
    print(f"paysql serve: database {mask(config.database_url)}", flush=True)
    if args.database_url and make_url(args.database_url).password:
        print(
            "paysql serve: warning: the database password is on the command line, which any local user can read "
            f"(ps): use {DATABASE_URL_ENV} or a ~/.pgpass file",
            flush=True,
        )
    print(f"paysql serve: {_access(config)}", flush=True)
    shared = "shared through Redis" if config.redis_url else "in memory, per worker"
    print(f"paysql serve: rate limit {config.rate_limit} per caller ({shared})", flush=True)
    print(f"paysql serve: {_limits(config)}", flush=True)
    print(f"paysql serve: {_result_cache(config)}", flush=True)
    print(f"paysql serve: {_pools(config)}", flush=True)
    jobs = f"on the {queue.QUEUE_NAME} queue in Redis, run by `paysql worker`" if config.redis_url else "off (no Redis)"
    print(f"paysql serve: jobs (POST /api/jobs) {jobs}", flush=True)
    secrets = {name: os.environ.pop(name) for name in SECRET_ENVS if name in os.environ}  # not inherited
    factory = AppFactory(config, secrets)
    proxies = list(config.forwarded_allow_ips)
    uv_config = uvicorn.Config(
        factory,
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
    )
    server = uvicorn.Server(uv_config)
    try:
        if uv_config.workers > 1:
            Multiprocess(uv_config, sockets=[uv_config.bind_socket()]).run()
        else:
            os.environ.update(secrets)  # this process is the worker: back in os.environ, not in its start environment
            server.run()
    except KeyboardInterrupt:  # pragma: no cover - Ctrl-C
        pass
    return 0 if uv_config.workers > 1 or server.started else 1


def read_secrets_file(path: str) -> dict[str, str]:
    """``NAME=value`` lines (``#`` comments, blank lines) naming only the secret variables, from a file that is
    this user's and that nobody else may read or write: a group- or world-readable file is refused."""
    import stat
    from pathlib import Path

    file = Path(path).expanduser()
    try:
        info = file.stat()
        text = file.read_text()
    except OSError as exc:
        raise ConfigError(f"--secrets-file: cannot read {path}: {exc.strerror}") from None
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"--secrets-file: {path} must be yours and readable by you only (chmod 600 {path})")
    allowed = set(SECRET_ENVS) - {"PAYSQL_SERVE_CONFIG"}
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition("=")
        name = name.strip().removeprefix("export ").strip()
        if not sep or name not in allowed:
            raise ConfigError(f"--secrets-file: line {number}: expected NAME=value, NAME one of {sorted(allowed)}")
        found[name] = value.strip()
    return found


def database_url(args: argparse.Namespace) -> str:
    """``--database-url``, ``PAYSQL_DATABASE_URL``, or the demo's reader with ``--demo`` / ``--data-dir``."""
    if args.demo or args.data_dir:
        from paysql_magic.demo import start_demo

        # Started here, in the parent: the workers only connect. It stops when this process exits.
        db = start_demo(args.data_dir, rows=getattr(args, "rows", None))
        print(f"paysql {args.command}: demo dataset, {db.rows:,} transactions up to {db.anchor_date}", flush=True)
        return db.reader_url
    url = args.database_url or env_database_url()
    if not url:
        raise ConfigError(f"paysql {args.command} needs a database: --database-url URL, PAYSQL_DATABASE_URL or --demo")
    return url


def _access(config: ServeConfig) -> str:
    """Who may call: said at start, because an open server answers anyone on this machine."""
    store = core.store_engine(engine_for(config.database_url), Settings(audit_url=config.audit_url))
    count = keys.lookup(store, None).keys
    if not config.loopback:
        return f"listening beyond loopback ({config.host}): every request needs an API key or a token" + (
            "" if count or config.jwt else " (none exist yet: create one with `paysql keys create NAME`)"
        )
    if count or config.jwt:
        return "every request needs an API key or a token"
    return "running OPEN: loopback and no API keys, anyone on this machine can query (`paysql keys create NAME`)"


def _limits(config: ServeConfig) -> str:
    """The byte cap, the hosts answered and the temp file limit of the serving role: said at start."""
    from sqlalchemy import text

    from paysql_magic.connection import connect

    hosts = ", ".join(("loopback", *config.allowed_hosts))
    line = f"answers {format_size(config.max_bytes)} at most; Host {hosts}"
    try:
        with connect(engine_for(config.database_url)) as conn:
            limit = conn.execute(text("SELECT current_setting('temp_file_limit')")).scalar_one()
    except Exception:  # the database may come up later; health says so
        return line
    if limit == "-1":
        return f"{line}; WARNING: temp_file_limit is unset for this role (paysql grant-readonly sets it)"
    return f"{line}; temp files at most {limit} a query"


def keys_command(args: argparse.Namespace) -> int:
    """``paysql keys create NAME`` (prints the key once), ``list``, ``revoke NAME``."""
    url, grant_to = _keys_target(args)
    store = core.store_engine(engine_for(url), Settings())
    if args.keys_command == "create":
        key = keys.create(store, args.name, grant_to)
        print(key)
        print(f"-- the API key of {args.name.strip()!r}: shown once, only its hash is stored", flush=True)
    elif args.keys_command == "list":
        for item in keys.list_keys(store):
            state = f"revoked {item.revoked_at:%Y-%m-%d %H:%M}" if item.revoked_at else "active"
            print(f"{item.name}\t{item.key_start}...\tcreated {item.created_at:%Y-%m-%d %H:%M}\t{state}")
    elif not keys.revoke(store, args.name):
        print(f"paysql keys: no active key named {args.name!r}")
        return 1
    else:
        print(f"revoked the key of {args.name!r}")
    return 0


def _keys_target(args: argparse.Namespace) -> tuple[str, str | None]:
    """The database holding the keys (as a role that can write them) and the role ``paysql serve`` reads them as."""
    if args.database_url:
        return args.database_url, getattr(args, "grant_to", None)
    from paysql_magic.demo import READER_ROLE, start_demo

    return start_demo(args.data_dir).admin_url, getattr(args, "grant_to", None) or READER_ROLE


def _result_cache(config: ServeConfig) -> str:
    if config.result_ttl <= 0:
        return "result cache off (--result-ttl 0): every call runs live"
    where = "in Redis, shared by every worker and instance" if config.redis_url else "in memory, per worker"
    return (
        f"result cache {where}: rows kept {config.result_ttl:g} s, results over "
        f"{format_size(config.result_max_bytes)} not cached"
    )


def _pools(config: ServeConfig) -> str:
    from paysql_magic.routing import pool_sizes

    main, scans = pool_sizes(config.db_connections, config.workers)
    if config.scan_cost <= 0:
        return "one connection pool per worker (--scan-cost 0)"
    return (
        f"{config.workers} worker(s) x {main + scans} database connections: {main} for statements under planner "
        f"cost {config.scan_cost:g}, {scans} for costlier scans"
    )
