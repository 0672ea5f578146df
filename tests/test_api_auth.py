"""Who may call the API: the auth matrix (no key, bad key, revoked key, good key, JWT good/expired/wrong
signature/wrong audience), ``paysql keys``, the open mode's limits, and the rate limit (429 + Retry-After)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from paysql_magic.api import ServeConfig, create_app
from paysql_magic.api.config import JwtConfig
from paysql_magic.api.keys import KEY_PREFIX, KEYS_SCHEMA, KEYS_TABLE, LOOKUP_FUNCTION
from paysql_magic.cli import main
from paysql_magic.demo import READER_ROLE
from paysql_magic.schema import introspect

LOOPBACK = "http://127.0.0.1"  # the Host the API answers (any other gets 421: DNS rebinding)

pytestmark = pytest.mark.usefixtures("forget_what_this_module_cached")
QUESTION = {"question": "Сколько транзакций было сегодня?"}
SECRET = "test-secret-for-hs256-0123456789abcdef"
JWT = JwtConfig(key=SECRET, algorithm="HS256", audience="paysql-magic")


def token(sub: str = "alice", *, ttl: float = 60, key: str = SECRET, aud: str = "paysql-magic") -> str:
    return jwt.encode({"sub": sub, "aud": aud, "exp": int(time.time() + ttl)}, key, algorithm="HS256")


def paysql_keys(capsys: pytest.CaptureFixture[str], admin_url: str, *args: str) -> tuple[int, str]:
    code = main(["keys", *args, "--database-url", admin_url])
    return code, capsys.readouterr().out


@pytest.fixture
def no_keys_left(admin_engine: Engine) -> Iterator[None]:
    """A key makes every later request of the session need one: the keys go at the end of the test."""
    yield
    with admin_engine.begin() as conn:
        conn.execute(text(f"DELETE FROM {KEYS_TABLE}"))


@pytest.fixture(scope="module")
def secured(reader_url: str) -> Iterator[TestClient]:
    with TestClient(
        create_app(ServeConfig(database_url=reader_url, jwt=JWT, rate_limit="1000/minute")), base_url=LOOPBACK
    ) as c:
        yield c


def test_open_on_loopback_without_keys(reader_url: str) -> None:
    with TestClient(create_app(ServeConfig(database_url=reader_url)), base_url=LOOPBACK) as c:
        assert c.post("/api/query", json=QUESTION).status_code == 200
        assert c.get("/docs").status_code == 200
        assert c.get("/api/health").json()["auth"] == "open"


def test_beyond_loopback_without_keys_everything_is_401(reader_url: str) -> None:
    with TestClient(create_app(ServeConfig(database_url=reader_url, host="0.0.0.0")), base_url=LOOPBACK) as c:
        for response in (c.post("/api/query", json=QUESTION), c.get("/docs"), c.get("/openapi.json")):
            assert response.status_code == 401
            assert response.json()["error"] == "unauthorized"
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        page = c.get("/")  # the page holds no data: it loads, and asks for a key when the API says 401
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "default-src 'self'" in page.headers["Content-Security-Policy"]


def test_keys_create_list_revoke_and_the_auth_matrix(
    secured: TestClient,
    capsys: pytest.CaptureFixture[str],
    admin_url: str,
    admin_engine: Engine,
    reader_engine: Engine,
    no_keys_left: None,
) -> None:
    code, out = paysql_keys(capsys, admin_url, "create", "bi-export", "--grant-to", READER_ROLE)
    assert code == 0
    key = out.splitlines()[0]
    assert key.startswith(KEY_PREFIX) and len(key) > 40
    with admin_engine.connect() as conn:
        stored = conn.execute(text(f"SELECT key_hash, key_start FROM {KEYS_TABLE} WHERE name = 'bi-export'")).one()
    assert key not in stored and stored.key_hash != key and key.startswith(stored.key_start)  # only a hash

    ok = secured.post("/api/query", json=QUESTION, headers={"X-API-Key": key})
    assert ok.status_code == 200
    with admin_engine.connect() as conn:
        user = conn.execute(
            text("SELECT user_name FROM paysql.query_audit_log WHERE call_id = :c"), {"c": ok.json()["call_id"]}
        ).scalar_one()
    assert user == "bi-export"
    assert secured.post("/api/query", json=QUESTION, headers={"Authorization": f"Bearer {key}"}).status_code == 200

    assert secured.post("/api/query", json=QUESTION).status_code == 401
    bad = secured.post("/api/query", json=QUESTION, headers={"X-API-Key": KEY_PREFIX + "not-a-key"})
    assert (bad.status_code, bad.json()["error"]) == (401, "unauthorized")
    assert secured.get("/docs").status_code == 401
    assert secured.get("/docs", headers={"X-API-Key": key}).status_code == 200

    for sql in (f"SELECT name, key_hash FROM {KEYS_TABLE}", f"SELECT * FROM {KEYS_SCHEMA}.key_lookup('x')"):
        leak = secured.post("/api/sql", json={"sql": sql}, headers={"X-API-Key": key})
        assert leak.status_code == 422 and leak.json()["error"] in ("refused", "execution_error"), leak.text
    assert "api_keys" not in {table.name for table in introspect(reader_engine, refresh=True).tables}

    code, out = paysql_keys(capsys, admin_url, "list")
    assert code == 0 and "bi-export" in out and "active" in out and key not in out

    assert paysql_keys(capsys, admin_url, "revoke", "bi-export")[0] == 0
    revoked = secured.post("/api/query", json=QUESTION, headers={"X-API-Key": key})
    assert (revoked.status_code, revoked.json()["error"]) == (403, "forbidden")
    assert "revoked" in paysql_keys(capsys, admin_url, "list")[1]
    assert paysql_keys(capsys, admin_url, "revoke", "bi-export")[0] == 1


def test_a_key_once_created_closes_the_open_loopback_server(
    reader_url: str, capsys: pytest.CaptureFixture[str], admin_url: str, no_keys_left: None
) -> None:
    with TestClient(create_app(ServeConfig(database_url=reader_url)), base_url=LOOPBACK) as c:
        assert paysql_keys(capsys, admin_url, "create", "telegram-bot", "--grant-to", READER_ROLE)[0] == 0
        assert c.post("/api/query", json=QUESTION).status_code == 401
        assert c.get("/").status_code == 200  # the page; its questions need the key


@pytest.mark.parametrize(
    ("bearer", "detail"),
    [
        (token(ttl=-60), "expired"),
        (token(key="another-secret-another-secret-0123"), "Signature verification failed"),
        (token(aud="someone-else"), "Audience"),
        ("not.a.jwt", "invalid token"),
    ],
    ids=["expired", "wrong-signature", "wrong-audience", "malformed"],
)
def test_bad_tokens_are_401(secured: TestClient, bearer: str, detail: str) -> None:
    response = secured.post("/api/query", json=QUESTION, headers={"Authorization": f"Bearer {bearer}"})

    assert response.status_code == 401
    assert detail in response.json()["detail"]


def test_good_token_sub_becomes_the_audit_user(secured: TestClient, admin_engine: Engine) -> None:
    response = secured.post("/api/query", json=QUESTION, headers={"Authorization": f"Bearer {token('alice')}"})

    assert response.status_code == 200
    with admin_engine.connect() as conn:
        user = conn.execute(
            text("SELECT user_name FROM paysql.query_audit_log WHERE call_id = :c"), {"c": response.json()["call_id"]}
        ).scalar_one()
    assert user == "alice"


def test_token_without_expiry_is_refused(secured: TestClient) -> None:
    forever = jwt.encode({"sub": "alice", "aud": "paysql-magic"}, SECRET, algorithm="HS256")
    response = secured.post("/api/query", json=QUESTION, headers={"Authorization": f"Bearer {forever}"})

    assert response.status_code == 401 and "exp" in response.json()["detail"]


def test_rate_limit_trips_with_retry_after_and_is_audited(reader_url: str, admin_engine: Engine) -> None:
    with TestClient(create_app(ServeConfig(database_url=reader_url, rate_limit="3/minute")), base_url=LOOPBACK) as c:
        statuses = [c.post("/api/query", json=QUESTION).status_code for _ in range(3)]
        limited = c.post("/api/query", json=QUESTION)

    assert statuses == [200, 200, 200]
    assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    with admin_engine.connect() as conn:
        row = conn.execute(
            text("SELECT status, error, question FROM paysql.query_audit_log ORDER BY id DESC LIMIT 1")
        ).one()
    assert row.status == "refused" and row.error.startswith("rate_limited") and row.question == QUESTION["question"]


def test_rate_limit_is_per_caller(reader_url: str) -> None:
    config = ServeConfig(database_url=reader_url, rate_limit="1/minute", jwt=JWT)
    with TestClient(create_app(config), base_url=LOOPBACK) as c:
        alice = {"Authorization": f"Bearer {token('alice')}"}
        bob = {"Authorization": f"Bearer {token('bob')}"}
        assert c.get("/api/health", headers=alice).status_code == 200
        assert c.get("/api/health", headers=alice).status_code == 429
        assert c.get("/api/health", headers=bob).status_code == 200


def test_refusals_are_audited_at_most_at_the_rate(reader_url: str, admin_engine: Engine) -> None:
    count = "SELECT count(*) FROM paysql.query_audit_log WHERE error LIKE 'unauthorized:%'"
    with admin_engine.connect() as conn:
        before = conn.execute(text(count)).scalar_one()
    with TestClient(
        create_app(ServeConfig(database_url=reader_url, host="0.0.0.0", rate_limit="2/minute")), base_url=LOOPBACK
    ) as c:
        statuses = [c.post("/api/query", json=QUESTION).status_code for _ in range(5)]

    assert statuses == [401] * 5
    with admin_engine.connect() as conn:
        assert conn.execute(text(count)).scalar_one() == before + 2


def test_a_role_that_cannot_check_keys_fails_closed(
    reader_url: str, capsys: pytest.CaptureFixture[str], admin_url: str, admin_engine: Engine, no_keys_left: None
) -> None:
    assert paysql_keys(capsys, admin_url, "create", "no-grant")[0] == 0
    revoke = f"REVOKE EXECUTE ON FUNCTION {LOOKUP_FUNCTION} FROM {READER_ROLE}"  # grant-readonly grants it
    with admin_engine.begin() as conn:
        conn.execute(text(revoke))
    try:
        with TestClient(create_app(ServeConfig(database_url=reader_url)), base_url=LOOPBACK) as c:
            response = c.post("/api/query", json=QUESTION)
    finally:
        with admin_engine.begin() as conn:
            conn.execute(text(revoke.replace("REVOKE", "GRANT").replace(" FROM ", " TO ")))

    assert response.status_code == 503 and response.json()["error"] == "database_unavailable"
    assert "--grant-to" in response.json()["detail"]
