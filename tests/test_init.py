"""``paysql init`` on company databases the parser has never seen, connected as their read-only roles: the draft
it writes, what it says it inferred, and how well the offline provider answers each company's questions with the
unedited draft (the issue's target: at least 70% correct, at most one wrong answer per database)."""

from __future__ import annotations

import json
from pathlib import Path

import companies
import jsonschema
import pytest
import yaml
from databases import drop_database, fresh_database
from sqlalchemy import create_engine, text

from paysql_magic import cli
from paysql_magic.evaluation.run import Question, evaluate
from paysql_magic.providers.offline import OfflineProvider
from paysql_magic.semantic import load
from paysql_magic.settings import Settings

OSSIE_SCHEMA = json.loads((Path(cli.__file__).parent / "semantic" / "ossie.schema.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def drafts(company_databases, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("drafts")
    paths = {}
    for name, company in company_databases.items():
        paths[name] = folder / f"{name}.yaml"
        assert cli.main(["init", "--database-url", company.reader_url, "--output", str(paths[name])]) == 0
    return paths


def test_init_reads_the_shape_of_each_company(drafts, capsys) -> None:
    processing, acquiring, retail = (load(drafts[n]) for n in ("processing", "acquiring", "retail"))
    assert (processing.fact.table, processing.amount, processing.divisor) == ("processing.operacii", "summa_tenge", 1)
    assert processing.roles["status"].db_values("declined") == (5, 51, 54, 61, 96)  # read from status_codes
    assert processing.roles["currency"].column == "bukvennyy_kod"  # the letter code of the currency lookup
    assert (acquiring.fact.table, acquiring.amount, acquiring.divisor) == ("acquiring.payments", "amount", 100)
    assert acquiring.relation(acquiring.roles["city"].relation).table == "acquiring.terminals"  # where it happened
    assert acquiring.roles["status"].db_values("declined") == ("FAIL",)
    assert retail.fact.table == "payments"  # not the view that counts approved payments only, nor 80 other tables
    assert retail.roles["status"].db_values("approved") == ("успешно",) and retail.turnover_statuses == ()
    assert retail.relation(retail.roles["city"].relation).table == "shops"
    assert retail.relation(retail.roles["customer_city"].relation).table == "clients"


def test_init_says_what_it_inferred(company_databases, tmp_path, capsys) -> None:
    out = tmp_path / "paysql.yaml"
    cli.main(["init", "--database-url", company_databases["acquiring"].reader_url, "--output", str(out)])
    printed = capsys.readouterr().out
    assert "amount: payments.amount (unit guessed from the comment" in printed and "tiyn" in printed
    assert "status value 'FAIL' read as declined" in printed


def test_init_twice_gives_the_same_file_and_never_overwrites_an_edit(company_databases, tmp_path, capsys) -> None:
    url = company_databases["retail"].reader_url
    out = tmp_path / "paysql.yaml"
    assert cli.main(["init", "--database-url", url, "--output", str(out)]) == 0
    first = out.read_bytes()
    assert cli.main(["init", "--database-url", url, "--output", str(out)]) == 0
    assert out.read_bytes() == first and "unchanged" in capsys.readouterr().out
    edited = first.decode().replace("turnover_statuses: all", "turnover_statuses: [approved]")
    out.write_text(edited, encoding="utf-8")
    assert cli.main(["init", "--database-url", url, "--output", str(out)]) == 1
    error = capsys.readouterr().err
    assert "differs from the draft" in error and "--update" in error and "\n" not in error.strip()
    assert out.read_text(encoding="utf-8") == edited
    assert cli.main(["init", "--database-url", url, "--output", str(out), "--update"]) == 0
    assert load(out).turnover_statuses == ("approved",)  # the analyst's edit is kept
    assert cli.main(["init", "--database-url", url, "--output", str(out), "--force"]) == 0
    assert out.read_bytes() == first


def test_init_writes_a_valid_ossie_document(company_databases, tmp_path) -> None:
    url = company_databases["processing"].reader_url
    ossie = tmp_path / "model.ossie.json"
    assert cli.main(["init", "--database-url", url, "--output", str(tmp_path / "p.yaml"), "--ossie", str(ossie)]) == 0
    document = json.loads(ossie.read_text(encoding="utf-8"))
    jsonschema.validate(document, OSSIE_SCHEMA)
    assert "operacii" in json.dumps(document, ensure_ascii=False)


@pytest.mark.parametrize("name", companies.COMPANIES)
def test_the_unedited_draft_answers_most_everyday_questions_and_at_most_one_wrongly(drafts, company_databases, name):
    questions = [Question(**q) for q in companies.questions(name)]
    settings = Settings(provider="offline", semantic_model=str(drafts[name]))
    outcomes = list(evaluate(questions, company_databases[name].reader, settings, OfflineProvider()))
    verdicts = [o.verdict for o in outcomes]
    wrong = [f"{o.question.id}: {o.sql}" for o in outcomes if o.verdict == "wrong"]
    assert verdicts.count("error") == 0, [o.message for o in outcomes if o.verdict == "error"]
    assert verdicts.count("correct") >= 0.7 * len(questions), [o.line() for o in outcomes if o.verdict != "correct"]
    assert len(wrong) <= 1, wrong


def test_a_database_with_no_payments_gets_a_minimal_model(admin_url, tmp_path, capsys) -> None:
    url = fresh_database(admin_url, "init_no_payments")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE employees (id int PRIMARY KEY, name text, hired date)"))
        conn.execute(text("CREATE TABLE rooms (id int PRIMARY KEY, floor int)"))
    out = tmp_path / "paysql.yaml"
    try:
        assert cli.main(["init", "--database-url", url, "--output", str(out)]) == 0
        printed = capsys.readouterr().out
        assert "no payment-like table" in printed and "minimal model" in printed
        assert "payments" not in yaml.safe_load(out.read_text(encoding="utf-8"))
        assert load(out) is None
    finally:
        engine.dispose()
        drop_database(admin_url, "init_no_payments")
