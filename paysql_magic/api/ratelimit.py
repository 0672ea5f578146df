"""Requests per caller in a moving window (the ``limits`` library).

In memory by default: with ``--workers N`` each worker counts on its own, so a caller may get up to N times the
rate. With ``PAYSQL_REDIS_URL`` the count is shared by every worker and host through Redis (install the
``redis`` extra: ``pip install 'paysql-magic[redis]'``).
"""

from __future__ import annotations

import logging
import math
import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from paysql_magic.connection import first_line
from paysql_magic.errors import ConfigError

log = logging.getLogger("paysql.api")

_NAMESPACE = "paysql-api"


class RateLimit:
    """``hit(caller)`` counts one request and says how many seconds to wait when it is over the rate."""

    def __init__(self, rate: str, redis_url: str | None = None) -> None:
        try:
            self.item = parse(rate)
        except ValueError:
            raise ConfigError(f"bad rate limit {rate!r}: write it as e.g. 60/minute or 5/second") from None
        self.rate = rate
        self.limiter = MovingWindowRateLimiter(storage_from_string(redis_url or "memory://"))
        self.local = MovingWindowRateLimiter(storage_from_string("memory://")) if redis_url else self.limiter

    def hit(self, caller: str) -> int | None:
        """None when the request may go on, else the seconds until it would be allowed (at least 1). Redis down:
        this worker counts on its own (never a 500)."""
        try:
            return self._hit(self.limiter, caller)
        except Exception as exc:
            if self.local is self.limiter:
                raise
            log.warning("rate limit: redis unavailable (%s): counting per worker", first_line(exc))
            return self._hit(self.local, caller)

    def _hit(self, limiter: MovingWindowRateLimiter, caller: str) -> int | None:
        if limiter.hit(self.item, _NAMESPACE, caller):
            return None
        reset = limiter.get_window_stats(self.item, _NAMESPACE, caller).reset_time
        return max(1, math.ceil(reset - time.time()))
