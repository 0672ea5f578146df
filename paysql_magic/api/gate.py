"""The ASGI middleware every request passes: security headers on every response; the ``Host`` (421 unless it
names this server: DNS rebinding, on every path and in every mode); then, except for the web page's own files (no
data in them), in order, the caller (``auth``), the rate limit (``/api/`` paths), the body size and its UTF-8. A
refused call to an audited endpoint gets its audit row here (``refusals``), at most at the rate limit per key
(per client address before authentication: the peer's own address, since ``X-Forwarded-For`` is only believed
from the proxies named with ``--forwarded-allow-ips``, which uvicorn applies before the app).
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paysql_magic.api import refusals
from paysql_magic.api.auth import Caller, authenticate
from paysql_magic.api.config import MAX_BODY_BYTES, ServeConfig
from paysql_magic.api.errors import ApiError, from_paysql
from paysql_magic.api.ratelimit import RateLimit
from paysql_magic.errors import PaysqlError

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Content-Type-Options": "nosniff"}
_BODY_METHODS = {"POST", "PUT", "PATCH"}

log = logging.getLogger("paysql.api")


class SecurityHeaders:
    """Adds the Content-Security-Policy and ``nosniff`` to every response (the outermost middleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Gate:
    """Authenticates, rate-limits and size-checks each request; the caller goes on in ``request.state.caller``."""

    def __init__(self, app: ASGIApp, *, config: ServeConfig, store: Engine, limit: RateLimit) -> None:
        self.app = app
        self.config = config
        self.store = store
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if not self.config.host_allowed(headers.get("host")):
            await self._misdirected(scope, receive, send, headers.get("host"))
            return
        if _public(scope):  # the page and its files hold no data: a browser must load them to ask for a key
            await self.app(scope, receive, send)
            return
        body, too_large = await _read_body(scope["method"], headers, receive)
        caller: Caller | None = None
        try:  # in a thread: the key lookup is a query, and the rate limit may be a Redis round trip
            caller = await run_in_threadpool(self._authenticate, headers)
            await run_in_threadpool(self._check_rate, scope["path"], caller)
            if too_large:
                raise ApiError(413, "too_large", f"the request body is over {MAX_BODY_BYTES:,} bytes")
            if body and not _utf8(body):
                raise ApiError(400, "bad_request", "the request body is not valid UTF-8: send JSON in UTF-8")
        except ApiError as exc:
            if scope["path"] in refusals.AUDITED and await run_in_threadpool(self._may_audit, scope, caller):
                await run_in_threadpool(self._audit, scope["path"], caller, body, exc)
            await exc.response()(scope, receive, send)
            return
        scope.setdefault("state", {})["caller"] = caller
        await self.app(scope, _replay(body, receive) if body is not None else receive, send)

    async def _misdirected(self, scope: Scope, receive: Receive, send: Send, host: str | None) -> None:
        """421 for a Host that does not name this server (audited on the audited paths, capped per address)."""
        shown = (host or "")[:100]
        exc = ApiError(
            421,
            "misdirected_request",
            f"this server does not answer for Host {shown!r}: use 127.0.0.1 or localhost, or start it with "
            "--allowed-host NAME",
        )
        if scope["path"] in refusals.AUDITED and await run_in_threadpool(self._may_audit, scope, None):
            await run_in_threadpool(self._audit, scope["path"], None, None, exc)
        await exc.response()(scope, receive, send)

    def _authenticate(self, headers: dict[str, str]) -> Caller:
        try:
            return authenticate(headers, self.config, self.store)
        except PaysqlError as exc:  # the keys cannot be checked: fail closed
            log.error("%s", exc)
            raise from_paysql(exc) from None

    def _may_audit(self, scope: Scope, caller: Caller | None) -> bool:
        return refusals.may_audit(self.limit, scope.get("client"), caller)

    def _audit(self, path: str, caller: Caller | None, body: bytes | None, exc: ApiError) -> None:
        status = "error" if exc.status >= 500 else "refused"
        user = caller.name if caller else None
        refusals.record(self.store, path, user, refusals.body_fields(body), status, f"{exc.code}: {exc.detail}")

    def _check_rate(self, path: str, caller: Caller) -> None:
        if not path.startswith("/api/"):
            return
        wait = self.limit.hit(caller.rate_key)
        if wait is not None:
            detail = f"over {self.limit.rate} for {caller.name}: retry in {wait} s"
            raise ApiError(429, "rate_limited", detail, {"Retry-After": str(wait)})


def _utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _public(scope: Scope) -> bool:
    """The web page's own files: ``/``, ``/static/...`` and the favicon, read with GET or HEAD."""
    path = scope["path"]
    return scope["method"] in ("GET", "HEAD") and (path in ("/", "/favicon.ico") or path.startswith("/static/"))


async def _read_body(method: str, headers: dict[str, str], receive: Receive) -> tuple[bytes | None, bool]:
    """The body (read up to the limit) and whether it is over the limit; (None, False) for methods without one."""
    if method not in _BODY_METHODS:
        return None, False
    length = headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        return b"", True
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), False


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, then waits on the real one (disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
