"""The HTTP API: the brief's ``POST /api/query`` contract over the same core as the notebook magic.

``paysql serve`` runs it (``serve.py``); ``create_app(config)`` builds it (``app.py``). One module per job:
``config`` (options and environment), ``auth`` and ``keys`` (who may call), ``ratelimit``, ``gate`` (the
middleware), ``queries`` and ``status`` (routes), ``pages`` (web page and docs), ``serialize`` (DataFrame -> JSON),
``refusals`` (audit rows of calls refused before the core), ``errors`` (codes and statuses).
"""

from __future__ import annotations

from paysql_magic.api.app import create_app
from paysql_magic.api.config import ServeConfig

__all__ = ["ServeConfig", "create_app"]
