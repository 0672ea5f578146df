"""paysql.yaml: read with line numbers, checked by its JSON Schema and against itself, then against the database.
Every bad file is one line naming the file, the line and what is wrong; nothing runs on a half-read model."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from paysql_magic import core
from paysql_magic.demo import MODEL_FILE, demo_model
from paysql_magic.errors import ModelError
from paysql_magic.providers.offline import OfflineProvider
from paysql_magic.semantic import load
from paysql_magic.settings import Settings

DEMO_TEXT = MODEL_FILE.read_text(encoding="utf-8")


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "paysql.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path) -> str:
    with pytest.raises(ModelError) as error:
        load(path)
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{path}:")
    return message


def test_the_demo_model_reads_and_joins_along_its_entities() -> None:
    model = demo_model()
    assert (model.fact.table, model.time, model.amount, model.divisor) == (
        "transactions",
        "transaction_ts",
        "amount_kzt",
        1,
    )
    merchants = next(r for r in model.relations if r.name == "merchants").alias
    categories = next(r for r in model.relations if r.name == "mcc_codes").alias
    path = model.path(model.fact.alias, categories)
    assert [(e.parent, e.child, e.left, e.right) for e in path] == [
        (model.fact.alias, merchants, "merchant_id", "merchant_id"),
        (merchants, categories, "mcc_code", "mcc_code"),
    ]
    assert model.roles["status"].db_values("declined") == ("declined",)
    assert model.roles["channel"].db_values("online") == ("ECOM",)
    assert model.key_of("customer") == (model.fact.alias, "customer_id")


def test_a_yaml_syntax_error_names_its_line(tmp_path: Path) -> None:
    text = DEMO_TEXT.replace("  model: merchants\n", "  model: [merchants\n", 1)
    message = _error(_write(tmp_path, text))
    assert "not valid YAML" in message
    assert (
        f":{_line_of(text, 'model: [merchants') + 1}:" in message
        or f":{_line_of(text, 'model: [merchants')}:" in message
    )


def test_an_unknown_key_names_its_line(tmp_path: Path) -> None:
    text = DEMO_TEXT.replace("  turnover_statuses: all\n", "  turnover_statuses: all\n  turnover_satuses: all\n")
    message = _error(_write(tmp_path, text))
    assert f":{_line_of(text, 'turnover_satuses')}:" in message and "unknown key 'turnover_satuses'" in message


def test_a_wrong_enumeration_value_says_what_is_allowed(tmp_path: Path) -> None:
    text = DEMO_TEXT.replace("unit: tenge", "unit: tiyn")
    message = _error(_write(tmp_path, text))
    assert f":{_line_of(text, 'unit: tiyn')}:" in message and "tenge, minor" in message


def test_a_role_naming_a_missing_dimension_names_its_line(tmp_path: Path) -> None:
    text = DEMO_TEXT.replace("dimension: customers.segment", "dimension: customers.segmnt")
    message = _error(_write(tmp_path, text))
    assert f":{_line_of(text, 'customers.segmnt')}:" in message and "no dimension 'segmnt'" in message


def test_a_join_that_does_not_resolve_names_its_line(tmp_path: Path) -> None:
    document = yaml.safe_load(DEMO_TEXT)
    document["semantic_models"][0]["entities"].append({"name": "terminal", "type": "foreign", "expr": "terminal_id"})
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    message = _error(_write(tmp_path, text))
    assert "join does not resolve" in message and "'terminal'" in message
    assert f":{_line_of(text, 'name: terminal')}:" in message


def test_a_column_the_database_lacks_is_one_line_naming_the_fix(tmp_path: Path, reader_engine) -> None:
    text = DEMO_TEXT.replace("amount: amount_kzt", "amount: amount_tenge")
    path = _write(tmp_path, text)
    with pytest.raises(ModelError) as error:
        core.ask("Оборот за вчера", reader_engine, Settings(semantic_model=str(path)), provider=OfflineProvider())
    message = str(error.value)
    assert "\n" not in message and "transactions.amount_tenge is not in the database" in message
    assert "paysql init --update" in message


def test_a_model_of_another_database_is_never_applied(tmp_path: Path, reader_engine) -> None:
    path = _write(tmp_path, DEMO_TEXT.replace("  name: payments\n", "  name: procdb\n", 1))
    with pytest.raises(ModelError, match="describes database 'procdb', not 'payments'"):
        core.ask("Оборот за вчера", reader_engine, Settings(semantic_model=str(path)), provider=OfflineProvider())


def test_the_model_file_changes_the_answer(tmp_path: Path, reader_engine) -> None:
    """Business knowledge is data: a synonym added to the file is a word the offline provider understands."""
    question = "Оборот в южной столице за вчера"
    with pytest.raises(Exception, match=r"южной|столице"):
        core.ask(question, reader_engine, provider=OfflineProvider(), source="eval")
    text = DEMO_TEXT.replace("synonyms: [шымкент, чимкент]", "synonyms: [шымкент, чимкент, южная столица]")
    assert text != DEMO_TEXT
    settings = Settings(semantic_model=str(_write(tmp_path, text)))
    result = core.ask(question, reader_engine, settings, provider=OfflineProvider(), source="eval")
    assert "'Shymkent'" in result.sql


def test_a_value_gone_from_the_database_is_one_note_naming_the_fix(tmp_path: Path, reader_engine) -> None:
    text = DEMO_TEXT.replace(
        "        reversed:\n          means: reversed\n",
        "        reversed:\n          means: reversed\n        chargeback: {}\n",
    )
    assert text != DEMO_TEXT
    settings = Settings(semantic_model=str(_write(tmp_path, text)))
    result = core.ask("Оборот за вчера", reader_engine, settings, provider=OfflineProvider(), source="eval")
    assert result.model_note is not None and "status 'chargeback'" in result.model_note
    assert "paysql init --update" in result.model_note and "\n" not in result.model_note
