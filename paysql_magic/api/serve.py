"""``paysql serve`` and ``paysql keys``: what the CLI runs (``cli.py`` only parses and hands over here)."""

from __future__ import annotations

import argparse
import os

from paysql_magic import core
from paysql_magic.api import keys
from paysql_magic.api.config import (
    SERVE_CONFIG_ENV,
    ServeConfig,
    env_cors_origins,
    env_jwt,
    env_rate_limit,
    env_redis_url,
)
from paysql_magic.api.ratelimit import RateLimit
from paysql_magic.connection import engine_for, mask
from paysql_magic.errors import ConfigError
from paysql_magic.settings import Settings, env_database_url

APP_FACTORY = "paysql_magic.api.app:app_from_env"


def serve(args: argparse.Namespace) -> int:
    """Start the embedded demo database first (with ``--demo``), then uvicorn with ``--workers`` processes."""
    import uvicorn

    config = ServeConfig(
        database_url=_database_url(args),
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
    )
    RateLimit(config.rate_limit, config.redis_url)  # a bad rate (or no redis package) fails here, not in each worker
    print(f"paysql serve: database {mask(config.database_url)}", flush=True)
    print(f"paysql serve: {_access(config)}", flush=True)
    shared = "shared through Redis" if config.redis_url else "in memory, per worker"
    print(f"paysql serve: rate limit {config.rate_limit} per caller ({shared})", flush=True)
    os.environ[SERVE_CONFIG_ENV] = config.to_json()  # the workers build their app from it
    uvicorn.run(APP_FACTORY, factory=True, host=args.host, port=args.port, workers=args.workers)
    return 0


def _database_url(args: argparse.Namespace) -> str:
    if args.demo or args.data_dir:
        from paysql_magic.demo import start_demo

        # Started here, in the parent: the workers only connect. It stops when this process exits.
        db = start_demo(args.data_dir, rows=args.rows)
        print(f"paysql serve: demo dataset, {db.rows:,} transactions up to {db.anchor_date}", flush=True)
        return db.reader_url
    url = args.database_url or env_database_url()
    if not url:
        raise ConfigError("paysql serve needs a database: --database-url URL, PAYSQL_DATABASE_URL or --demo")
    return url


def _access(config: ServeConfig) -> str:
    """Who may call: said at start, because an open server answers anyone on this machine."""
    store = core.store_engine(engine_for(config.database_url), Settings())
    count = keys.lookup(store, None).keys
    if not config.loopback:
        return f"listening beyond loopback ({config.host}): every request needs an API key or a token" + (
            "" if count or config.jwt else " (none exist yet: create one with `paysql keys create NAME`)"
        )
    if count or config.jwt:
        return "every request needs an API key or a token"
    return "running OPEN: loopback and no API keys, anyone on this machine can query (`paysql keys create NAME`)"


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
