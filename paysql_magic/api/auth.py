"""Who is calling: an API key (``X-API-Key`` or ``Authorization: Bearer psk_...``), a JWT bearer token, or nobody.

Credentials are required when the server listens beyond loopback, once any API key exists (revoked ones count),
or when JWT is configured; otherwise (loopback, no keys, no JWT) the API runs open and callers are "anonymous".
A credential that is presented is always checked, open or not. The caller's name is the audit log's user: the
key's name, or the token's ``sub`` claim.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import jwt
from sqlalchemy import Engine

from paysql_magic.api import keys
from paysql_magic.api.config import ServeConfig
from paysql_magic.api.errors import ApiError

ANONYMOUS = "anonymous"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="paysql"'}


@dataclass(frozen=True)
class Caller:
    """An authenticated (or, on an open server, anonymous) caller."""

    name: str
    kind: str  # "key", "jwt" or "open"

    @property
    def rate_key(self) -> str:
        return f"{self.kind}:{self.name}"


def authenticate(headers: Mapping[str, str], config: ServeConfig, store: Engine) -> Caller:
    """The caller of a request with these (lower-case) headers; raises ``ApiError`` 401/403 when refused."""
    api_key = headers.get("x-api-key", "").strip()
    scheme, _, bearer = headers.get("authorization", "").strip().partition(" ")
    bearer = bearer.strip() if scheme.lower() == "bearer" else ""
    credential = api_key or bearer
    if credential.startswith(keys.KEY_PREFIX) or api_key:
        return _by_key(credential, store)
    if bearer:
        return _by_token(bearer, config)
    if not config.loopback:
        raise _unauthorized("an API key is required when the server listens beyond loopback")
    if config.jwt is not None:
        raise _unauthorized("a credential is required: JWT bearer tokens are configured")
    if keys.lookup(store, None).keys:
        raise _unauthorized("an API key is required")
    return Caller(ANONYMOUS, "open")


def _by_key(key: str, store: Engine) -> Caller:
    found = keys.lookup(store, key)
    if found.name is None:
        raise _unauthorized("unknown API key")
    if found.revoked:
        raise ApiError(403, "forbidden", f"the API key {found.name!r} was revoked")
    return Caller(found.name, "key")


def _by_token(token: str, config: ServeConfig) -> Caller:
    settings = config.jwt
    if settings is None:
        raise _unauthorized("unknown API key (JWT bearer tokens are not configured on this server)")
    try:
        claims = jwt.decode(
            token,
            settings.key,
            algorithms=[settings.algorithm],
            audience=settings.audience,
            issuer=settings.issuer,
            options={"require": ["exp", "sub", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise _unauthorized("the token has expired") from None
    except jwt.InvalidTokenError as exc:
        raise _unauthorized(f"invalid token: {exc}") from None
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject.strip():  # the audit's user: never blank
        raise _unauthorized("invalid token: the sub claim is empty")
    return Caller(subject.strip(), "jwt")


def _unauthorized(detail: str) -> ApiError:
    return ApiError(401, "unauthorized", f"{detail}: send X-API-Key or Authorization: Bearer", _CHALLENGE)
