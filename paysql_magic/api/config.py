"""How ``paysql serve`` runs: one frozen value object, and where the API reads its environment variables (those it
shares with the notebook, such as ``PAYSQL_DATABASE_URL`` and ``PAYSQL_REDIS_URL``, through ``settings``).

    PAYSQL_RATE_LIMIT        requests per key, e.g. ``60/minute`` (the ``limits`` notation; default below)
    PAYSQL_REDIS_URL         share the result cache, the rate limit and the jobs between workers and hosts (Redis)
    PAYSQL_CORS_ORIGINS      comma-separated origins allowed to call the API from a browser (default: none)
    PAYSQL_ALLOWED_HOSTS     comma-separated Host names the API answers besides loopback (as --allowed-host)
    PAYSQL_JWT_SECRET        accept HS256 bearer tokens signed with this secret
    PAYSQL_JWT_SECRET_FILE   ... or with the secret in this file (keeps it out of the environment)
    PAYSQL_JWT_PUBLIC_KEY    ... or tokens signed with this public key (PEM text, or the path of a PEM file)
    PAYSQL_JWT_ALGORITHM     the one algorithm accepted (default HS256 with a secret, RS256 with a public key)
    PAYSQL_JWT_AUDIENCE      the ``aud`` every token must carry (default ``paysql-magic``)
    PAYSQL_JWT_ISSUER        the ``iss`` every token must carry (optional)

``paysql serve`` builds a ``ServeConfig`` from its options and these variables and hands it to its uvicorn workers
inside the app factory that multiprocessing pickles to each of them (a pipe, never the environment or the command
line, which other processes of the same user can read). ``PAYSQL_SERVE_CONFIG`` (the config as JSON) remains for
running ``paysql_magic.api.app:app_from_env`` under another ASGI server.
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from paysql_magic.errors import ConfigError
from paysql_magic.settings import DEFAULT_API_MAX_BYTES, DEFAULT_MAX_ROWS

SERVE_CONFIG_ENV = "PAYSQL_SERVE_CONFIG"
RATE_LIMIT_ENV = "PAYSQL_RATE_LIMIT"
CORS_ORIGINS_ENV = "PAYSQL_CORS_ORIGINS"
ALLOWED_HOSTS_ENV = "PAYSQL_ALLOWED_HOSTS"
JWT_SECRET_ENV = "PAYSQL_JWT_SECRET"
JWT_SECRET_FILE_ENV = "PAYSQL_JWT_SECRET_FILE"
JWT_PUBLIC_KEY_ENV = "PAYSQL_JWT_PUBLIC_KEY"
JWT_ALGORITHM_ENV = "PAYSQL_JWT_ALGORITHM"
JWT_AUDIENCE_ENV = "PAYSQL_JWT_AUDIENCE"
JWT_ISSUER_ENV = "PAYSQL_JWT_ISSUER"

DEFAULT_RATE_LIMIT = "60/minute"
DEFAULT_JWT_AUDIENCE = "paysql-magic"
MAX_BODY_BYTES = 10 * 1024  # a request body over this is refused with 413 too_large
MAX_QUESTION_CHARS = 2_000  # a longer question is refused with 413 too_large


@dataclass(frozen=True)
class JwtConfig:
    """Which bearer tokens are accepted: signed with ``key`` by ``algorithm``, for ``audience`` (and ``issuer``)."""

    key: str = field(repr=False)
    algorithm: str
    audience: str = DEFAULT_JWT_AUDIENCE
    issuer: str | None = None


@dataclass(frozen=True)
class ServeConfig:
    """Everything one API process needs. URLs and keys may hold secrets, so they stay out of ``repr``."""

    database_url: str = field(repr=False)
    host: str = "127.0.0.1"
    port: int = 3000
    provider: str = "auto"
    model: str | None = None
    max_rows: int = DEFAULT_MAX_ROWS  # a request may ask for fewer rows, never more
    timeout_s: float = 30.0
    rate_limit: str = DEFAULT_RATE_LIMIT
    redis_url: str | None = field(default=None, repr=False)
    cors_origins: tuple[str, ...] = ()
    jwt: JwtConfig | None = None
    allowed_hosts: tuple[str, ...] = ()  # Host names answered besides loopback ones (and the bound address)
    forwarded_allow_ips: tuple[str, ...] = ()  # proxies whose X-Forwarded-For is believed (none by default)
    max_bytes: int = DEFAULT_API_MAX_BYTES  # the most bytes one answer's rows may hold
    audit_url: str | None = field(default=None, repr=False)  # a separate store database (PAYSQL_AUDIT_URL)
    result_ttl: float = 60.0  # seconds a result stays in the result cache (0: no result cache)
    result_max_bytes: int = 1024 * 1024  # a larger result (its stored form) is not cached
    workers: int = 1  # uvicorn worker processes: the connections below are shared out between them
    db_connections: int = 20  # connections to the analysed database for the whole server (every worker)
    scan_cost: float = 10_000.0  # planner cost from which a statement runs on the scans' own pool (0: one pool)
    job_ttl: float = 24 * 3600.0  # seconds a job and its rows are kept in Redis (POST /api/jobs)

    @property
    def loopback(self) -> bool:
        """Bound to this machine only: with no keys and no JWT, the API may run open."""
        return is_loopback(self.host)

    def host_allowed(self, host_header: str | None) -> bool:
        """Whether a request's ``Host`` names this server: a loopback name or address, the address it is bound to,
        or an ``--allowed-host`` (``*.example.com`` matches subdomains). Anything else is DNS rebinding or a
        misdirected request: a page on ``evil.example`` whose name now resolves to 127.0.0.1 sends
        ``Host: evil.example``."""
        name = _host_name(host_header)
        if name is None:
            return False
        if is_loopback(name) or (name == self.host.strip("[]").lower() and self.host not in ("0.0.0.0", "::")):
            return True
        for allowed in self.allowed_hosts:
            pattern = allowed.strip().lower()
            if pattern == "*" or name == pattern or (pattern.startswith("*.") and name.endswith(pattern[1:])):
                return True
        return False

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeConfig:
        fields = json.loads(text)
        jwt = JwtConfig(**fields.pop("jwt")) if fields.get("jwt") else None
        tuples = {
            name: tuple(fields.get(name, ())) for name in ("cors_origins", "allowed_hosts", "forwarded_allow_ips")
        }
        return cls(**{**fields, **tuples, "jwt": jwt})


def _host_name(header: str | None) -> str | None:
    """The name of a ``Host`` header without its port (``[::1]:3000`` -> ``::1``); None when it is malformed."""
    if not header:
        return None
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        rest = value[end + 1 :]
        if end < 0 or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
        return value[1:end]
    name, _, port = value.partition(":")
    if port and not port.isdigit():
        return None
    return name.rstrip(".") or None


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback name or address (``0.0.0.0`` and ``::`` are every interface: not loopback)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def env_rate_limit() -> str:
    return os.environ.get(RATE_LIMIT_ENV) or DEFAULT_RATE_LIMIT


def env_cors_origins() -> tuple[str, ...]:
    return tuple(o.strip() for o in os.environ.get(CORS_ORIGINS_ENV, "").split(",") if o.strip())


def env_allowed_hosts() -> tuple[str, ...]:
    return tuple(h.strip() for h in os.environ.get(ALLOWED_HOSTS_ENV, "").split(",") if h.strip())


def env_jwt() -> JwtConfig | None:
    """The accepted bearer tokens, from ``PAYSQL_JWT_SECRET`` (or the file ``PAYSQL_JWT_SECRET_FILE``) or
    ``PAYSQL_JWT_PUBLIC_KEY``; None when none is set."""
    secret = os.environ.get(JWT_SECRET_ENV) or None
    if not secret and (path := os.environ.get(JWT_SECRET_FILE_ENV)):
        try:
            secret = Path(path).expanduser().read_text().strip() or None
        except OSError as exc:
            raise ConfigError(f"{JWT_SECRET_FILE_ENV}: cannot read {path}: {exc.strerror}") from None
    public = os.environ.get(JWT_PUBLIC_KEY_ENV) or None
    if secret and public:
        raise ConfigError(f"set {JWT_SECRET_ENV} or {JWT_PUBLIC_KEY_ENV}, not both")
    if not (secret or public):
        return None
    if public and not public.lstrip().startswith("-----BEGIN"):
        try:
            public = Path(public).expanduser().read_text()
        except OSError as exc:
            raise ConfigError(f"{JWT_PUBLIC_KEY_ENV}: cannot read {public}: {exc.strerror}") from None
    algorithm = os.environ.get(JWT_ALGORITHM_ENV) or ("HS256" if secret else "RS256")
    if secret and not algorithm.startswith("HS"):
        raise ConfigError(f"{JWT_SECRET_ENV} signs HS256/HS384/HS512 tokens, not {algorithm}")
    if public and algorithm.startswith("HS"):
        raise ConfigError(f"{JWT_PUBLIC_KEY_ENV} verifies RS*/ES*/PS*/EdDSA tokens, not {algorithm}")
    audience = os.environ.get(JWT_AUDIENCE_ENV) or DEFAULT_JWT_AUDIENCE
    return JwtConfig(secret or public or "", algorithm, audience, os.environ.get(JWT_ISSUER_ENV) or None)


def env_serve_config() -> ServeConfig:
    """The config a worker was started with (set by ``paysql serve`` in ``PAYSQL_SERVE_CONFIG``)."""
    text = os.environ.get(SERVE_CONFIG_ENV)
    if not text:
        raise ConfigError(f"{SERVE_CONFIG_ENV} is not set: start the API with `paysql serve`")
    return ServeConfig.from_json(text)
