"""Data egress: what a cloud provider receives (never result rows or personal values), the sample-values policy,
and the explicit consent a non-demo database needs before its schema goes to Gemini."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import replace

import pytest
from IPython.core.interactiveshell import InteractiveShell
from sqlalchemy import text

from paysql_magic import egress
from paysql_magic.errors import ConfigError
from paysql_magic.loopback import Loopback
from paysql_magic.prompt import build_prompt
from paysql_magic.providers import cloud_bound
from paysql_magic.schema import Column, Schema, Table, introspect
from paysql_magic.semantic import SemanticModel, from_document

FAKE_KEY = "AIzaFAKE-egress-key-0123456789"
NAMES_SQL = "SELECT full_name, city FROM customers ORDER BY customer_id LIMIT 20"
BAD_CAST_SQL = "SELECT full_name::integer AS n FROM customers ORDER BY customer_id LIMIT 1"
VOLUME_SQL = "SELECT c.full_name, sum(t.amount_kzt) AS total_volume FROM transactions t JOIN customers c USING (customer_id) GROUP BY 1 ORDER BY 2 DESC LIMIT 10"  # noqa: E501


def _structured(sql: str) -> tuple[int, dict]:
    reply = {"sql": sql, "tables": ["customers"], "assumptions": [], "needs_clarification": None}
    return Loopback.gemini_text(json.dumps(reply))


@pytest.fixture(scope="module")
def gemini() -> Iterator[Loopback]:
    """One loopback Gemini for the whole module: ``.requests`` holds every request any egress test made."""
    server = Loopback()
    yield server
    server.close()


@pytest.fixture(scope="module")
def shell(shell: InteractiveShell) -> Iterator[InteractiveShell]:
    """The session's shell; the egress settings these tests change are put back afterwards."""
    yield shell
    shell.run_line_magic("config", "Ask.sample_values = 'all'")
    shell.run_line_magic("config", "Ask.allow_cloud = False")


@pytest.fixture
def run(shell, reader_url, gemini, monkeypatch):
    monkeypatch.setenv("PAYSQL_DATABASE_URL", reader_url)
    monkeypatch.setenv("GEMINI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("GEMINI_BASE_URL", gemini.url)
    monkeypatch.delenv("PAYSQL_ALLOW_CLOUD", raising=False)
    return shell.run_cell


def test_personal_columns_are_recognised_by_name_and_comment() -> None:
    personal = ["full_name", "customer_name", "phone", "phone_number", "email", "card_number", "pan", "iban"]
    personal += ["account_no", "address", "home_address", "iin", "passport_no", "birth_date", "last_name"]
    assert [c for c in personal if not egress.is_personal(c)] == []
    assert egress.is_personal("contact", "Customer's e-mail")
    assert egress.is_personal("fio", "Customer's first and last name.")
    business = ["merchant_name", "city", "segment", "status", "channel", "card_type", "currency", "mcc_category"]
    business += ["shop_name", "store_address", "brand_name", "product_name", "category_name", "country_name"]
    business += ["region_name", "terminal_address", "mcc_description"]
    assert [c for c in business if egress.is_personal(c)] == []
    assert not egress.is_personal("shop_title", "The shop's name and address")  # a business word wins over a comment


def test_sample_values_policy_parses_all_none_allow_and_deny() -> None:
    assert egress.sample_policy("all") == egress.SamplePolicy()
    assert egress.sample_policy("none") == egress.SamplePolicy(everything=False)
    deny = egress.sample_policy("!transactions.status")
    assert deny.everything and deny.denied == {"transactions.status"}
    allow = egress.sample_policy(["transactions.status", "!transactions.channel"])
    assert not allow.everything and allow.allowed == {"transactions.status"}
    with pytest.raises(ConfigError, match=r"is not table\.column"):
        egress.sample_policy("status")


def cardholder_model() -> SemanticModel:
    """A company whose model lists a personal column no name rule catches (``cardholders.nickname``)."""
    return from_document(
        {
            "version": 1,
            "semantic_models": [
                {
                    "name": "payments",
                    "model": "retail.card_payments",
                    "defaults": {"agg_time_dimension": "paid_at"},
                    "entities": [
                        {"name": "payment", "type": "primary", "expr": "payment_id"},
                        {"name": "cardholder", "type": "foreign", "expr": "cardholder_id"},
                    ],
                    "dimensions": [{"name": "paid_at", "type": "time"}],
                },
                {
                    "name": "cardholders",
                    "model": "retail.cardholders",
                    "entities": [{"name": "cardholder", "type": "primary", "expr": "cardholder_id"}],
                    "dimensions": [
                        {"name": "nickname", "type": "categorical"},
                        {"name": "tier", "type": "categorical"},
                    ],
                },
            ],
            "payments": {"fact": "payments", "amount": "amount", "personal": ["cardholders.nickname"]},
        }
    )


def test_columns_the_model_lists_as_personal_carry_no_values() -> None:
    model, nickname, tier = cardholder_model(), Column("nickname", "text", True), Column("tier", "text", True)
    everything = egress.SamplePolicy()
    assert not egress.is_personal("nickname")  # no name rule knows it: only the model does
    assert everything.permits("cardholders", nickname)
    assert not everything.permits("cardholders", nickname, model)
    assert not everything.permits("retail.cardholders", nickname, model)
    assert everything.permits("cardholders", tier, model)
    assert everything.permits("card_payments", nickname, model)  # another table's column of that name
    assert not egress.sample_policy("cardholders.nickname").permits("cardholders", nickname, model)  # allowed: no

    values = ("Ace", "Bolt")
    table = Table("cardholders", (Column("nickname", "text", True, values=values), replace(tier, values=values)))
    schema = Schema(tables=(table,), timezone="Asia/Almaty", schemas=("retail",))
    kept = egress.restrict(schema, everything, model).tables[0].columns
    assert [(c.name, c.values) for c in kept] == [("nickname", ()), ("tier", values)]
    assert egress.restrict(schema, everything).tables[0].columns[0].values == values  # no model: the name rules


def _ddl(reader_engine, policy: str) -> str:
    with egress.sample_values(egress.sample_policy(policy)):
        return build_prompt("Объем по статусам", introspect(reader_engine)).text


def _sampled(ddl: str, column: str) -> bool:
    """Whether the DDL line of ``column`` carries sample values."""
    line = next(line for line in ddl.splitlines() if line.startswith(f"  {column} "))
    return "values: '" in line


def test_sample_values_policy_changes_the_ddl(reader_engine) -> None:
    everything = _ddl(reader_engine, "all")
    assert _sampled(everything, "status") and _sampled(everything, "card_type")
    assert "values:" not in _ddl(reader_engine, "none")
    denied = _ddl(reader_engine, "!transactions.status")
    assert not _sampled(denied, "status") and _sampled(denied, "card_type")
    allowed = _ddl(reader_engine, "transactions.status")
    assert _sampled(allowed, "status") and not _sampled(allowed, "card_type") and not _sampled(allowed, "currency")
    assert everything != denied != allowed


def test_personal_columns_never_carry_values(reader_engine) -> None:
    schema = introspect(reader_engine, refresh=True)
    assert all(not c.values for t in schema.tables for c in t.columns if egress.is_personal(c.name, c.comment))
    allowed = _ddl(reader_engine, "customers.full_name, transactions.status")  # allowing a personal column: no
    assert _sampled(allowed, "status") and not _sampled(allowed, "full_name")


def test_show_prompt_follows_the_configured_policy(run, capsys) -> None:
    run("%config Ask.sample_values = 'none'")
    assert run("%%ask --show-prompt\nОбъем по статусам").success
    assert "values:" not in capsys.readouterr().out
    run("%config Ask.sample_values = ['!transactions.channel']")
    assert run("%%ask --show-prompt\nОбъем по каналам").success
    out = capsys.readouterr().out
    assert not _sampled(out, "channel") and _sampled(out, "status")
    run("%config Ask.sample_values = 'all'")


def test_gemini_on_the_demo_database_needs_no_opt_in_and_says_what_leaves(run, gemini, capsys) -> None:
    gemini.reply("gemini", _structured(NAMES_SQL), _structured(BAD_CAST_SQL), _structured(NAMES_SQL))
    gemini.reply("gemini", _structured(VOLUME_SQL))
    first = run("%%ask --provider gemini --fresh\nFirst 20 customers with their city")
    assert first.success, first.error_in_exec
    assert len(first.result) == 20
    repaired = run("%%ask --fresh\nName of the first customer as a number")  # auto -> gemini: a key is set
    assert repaired.success, repaired.error_in_exec  # the cast failed with a name in the error, then repaired
    top = run("%%ask --provider gemini --fresh\nTop 10 customers by volume")
    assert top.success, top.error_in_exec
    out = capsys.readouterr().out
    assert out.count("-- sending schema, glossary and question to gemini (no result rows)") == 3


def test_cloud_provider_on_another_database_needs_consent(run, shell, monkeypatch, capsys) -> None:
    monkeypatch.setattr(egress, "is_demo", lambda engine: False)
    for cell in ("%%ask --provider gemini\nTop merchants", "%%ask\nTop merchants"):
        result = run(cell)
        assert isinstance(result.error_in_exec, ConfigError)
        line = capsys.readouterr().out.strip()
        assert line.startswith("paysql: gemini is a cloud provider") and "\n" not in line
        assert "Ask.allow_cloud = True" in line and "PAYSQL_ALLOW_CLOUD=1" in line
    assert run(
        "%%ask --provider offline\nNumber of transactions today, all channels"
    ).success  # offline needs no consent
    assert cloud_bound("ollama") is None and cloud_bound("offline") is None
    monkeypatch.setenv("GEMINI_API_KEY", "")
    assert cloud_bound("auto") is None  # auto without a key never goes to the cloud


@pytest.mark.parametrize("consent", ["%config Ask.allow_cloud = True", "env"])
def test_consent_by_config_or_environment_prints_the_notice(run, gemini, monkeypatch, capsys, consent) -> None:
    monkeypatch.setattr(egress, "is_demo", lambda engine: False)
    if consent == "env":
        monkeypatch.setenv("PAYSQL_ALLOW_CLOUD", "1")
    else:
        run(consent)
    gemini.reply("gemini", _structured("SELECT count(*) AS total_transactions FROM transactions"))
    result = run("%%ask --provider gemini --no-run --fresh\nHow many transactions in total?")
    assert result.success, result.error_in_exec
    assert "-- sending schema, glossary and question to gemini (no result rows)" in capsys.readouterr().out
    run("%config Ask.allow_cloud = False")


def test_demo_database_is_recognised(reader_engine) -> None:
    assert egress.is_demo(reader_engine)


def test_no_request_carries_result_rows_or_personal_values(gemini, admin_engine) -> None:
    """Runs last: every request the loopback Gemini received in this module, scanned for customers' names."""
    with admin_engine.connect() as conn:
        names = set(conn.execute(text("SELECT full_name FROM customers")).scalars())
        volumes = {f"{v:.2f}" for v in conn.execute(text(VOLUME_SQL)).all() for v in [v.total_volume]}
    bodies = [json.dumps(r.body, ensure_ascii=False) for r in gemini.requests]
    assert len(bodies) >= 6  # three questions, one repair, two consent runs
    assert not [n for n in names if any(n in body for body in bodies)]
    assert not [v for v in volumes if any(v in body for body in bodies)]
    assert all("full_name" in body for body in bodies)  # the schema itself did go
    assert any('for type integer: \\"...\\"' in body for body in bodies)  # the repair's error, value cut


def test_paysql_ask_needs_consent_before_a_non_demo_schema_goes_to_gemini(reader_url, monkeypatch):
    """The shell command keeps the notebook's rule: Gemini on a non-demo database only with PAYSQL_ALLOW_CLOUD."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PAYSQL_ALLOW_CLOUD"}
    env.update(GEMINI_API_KEY="fake-key-for-consent", GEMINI_BASE_URL="http://127.0.0.1:9")
    url = reader_url.replace("/payments?", "/postgres?")  # same server, a database that is not the demo
    proc = subprocess.run(
        [sys.executable, "-m", "paysql_magic.cli", "ask", "Сколько транзакций было сегодня?", "--provider", "gemini",
         "--database-url", url],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "PAYSQL_ALLOW_CLOUD" in proc.stderr or "allow_cloud" in proc.stderr
    assert "fake-key-for-consent" not in proc.stdout + proc.stderr
