"""What the routes share: the server's config, the analysed database and the store (audit log, cache, keys)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from paysql_magic import core, routing
from paysql_magic.api import queue
from paysql_magic.api.auth import Caller
from paysql_magic.api.config import ServeConfig
from paysql_magic.connection import engine_for
from paysql_magic.results import ResultCache, from_url
from paysql_magic.settings import Settings

if TYPE_CHECKING:
    from rq import Queue

NOTEBOOK = "paysql serve"  # the audit log's ``notebook`` column for API calls


@dataclass(frozen=True)
class Backend:
    config: ServeConfig
    engine: Engine
    store: Engine
    results: ResultCache | None = None  # None: --result-ttl 0
    scans: Engine | None = None  # the pool of statements costing at least config.scan_cost (None: one pool)
    jobs: Queue | None = None  # the queue of POST /api/jobs (None: no Redis, no jobs)

    @classmethod
    def connect(cls, config: ServeConfig) -> Backend:
        """Pools sized for the worker count: ``db_connections`` shared out between the workers, a quarter of
        each worker's for scans (see ``routing``)."""
        main, scan = routing.pool_sizes(config.db_connections, config.workers)
        if config.scan_cost > 0:
            engine = routing.pool(config.database_url, main, config.timeout_s)
            scans = routing.pool(config.database_url, scan, config.timeout_s, "scans")
        else:
            engine, scans = engine_for(config.database_url), None
        store = core.store_engine(engine, Settings(audit_url=config.audit_url))
        cache = (
            from_url(config.redis_url, config.result_ttl, config.result_max_bytes) if config.result_ttl > 0 else None
        )
        jobs = queue.queue(queue.connect(config.redis_url)) if config.redis_url else None
        return cls(config, engine, store, cache, scans, jobs)

    def settings(
        self,
        caller: Caller,
        *,
        provider: str | None = None,
        model: str | None = None,
        max_rows: int | None = None,
        fresh: bool = False,
    ) -> Settings:
        """One call's settings: the server's, narrowed by the request; the caller is the audit user."""
        config = self.config
        chosen = provider or config.provider
        return Settings(
            provider=chosen,
            model=model or (config.model if chosen == config.provider else None),
            max_rows=min(max_rows, config.max_rows) if max_rows else config.max_rows,
            timeout_s=config.timeout_s,
            max_bytes=config.max_bytes,
            audit_url=config.audit_url,
            user_name=caller.name,
            notebook=NOTEBOOK,
            results=self.results,
            fresh_results=fresh,
            scan_engine=self.scans,
            scan_cost=config.scan_cost,
        )


def _backend(request: Request) -> Backend:
    return request.app.state.backend


def _caller(request: Request) -> Caller:
    return request.state.caller


BackendDep = Annotated[Backend, Depends(_backend)]
CallerDep = Annotated[Caller, Depends(_caller)]
