"""The ``paysql`` command.

``paysql demo`` starts the embedded database and runs the quickstart notebook; ``paysql ask`` answers one
question (and exports the answer, for scheduled reports); ``paysql eval`` measures the execution accuracy of a
provider on a question set; ``paysql audit verify`` checks the audit log's hash chain and ``paysql audit import``
writes the rows kept in the local fallback file; ``paysql grant-readonly`` prints or applies a least-privilege role;
``paysql report`` renders a parameterised notebook to HTML; ``paysql check`` compares figures for cron or CI;
``paysql serve`` runs the HTTP API, ``paysql worker`` its jobs and ``paysql keys`` manages its API keys.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from datetime import date
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from paysql_magic.errors import ConfigError, PaysqlError
from paysql_magic.notebook_runner import run_notebook

if TYPE_CHECKING:
    from paysql_magic.alerts import Check

PREVIEW_LINES = 8
QUICKSTART_USER = "paysql demo"  # the audit user of the quickstart's calls: %ask_audit shows yours, not these


def _quickstart_path() -> Path:
    return Path(str(resources.files("paysql_magic") / "notebooks" / "quickstart.ipynb"))


def _print_cell(cell) -> None:
    """Print an ``%%ask`` cell's question, its SQL and the first rows of its answer."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            print(output["text"].rstrip())
        elif output.get("output_type") == "execute_result":
            lines = output["data"].get("text/plain", "").splitlines()
            print("\n".join(lines[:PREVIEW_LINES]))
            if len(lines) > PREVIEW_LINES:
                print("...")
    print()


def demo(args: argparse.Namespace) -> int:
    from nbclient.exceptions import CellExecutionError

    from paysql_magic.demo import default_data_dir, start_demo
    from paysql_magic.settings import DEMO_ANCHOR_ENV, DEMO_DIR_ENV, DEMO_ROWS_ENV, USER_ENV

    data_dir = Path(args.data_dir).expanduser() if args.data_dir else default_data_dir()
    print(f"Starting the embedded PostgreSQL in {data_dir} ...", flush=True)
    # The server stops when the last process using it exits; --keep-running makes this one wait for Ctrl-C.
    db = start_demo(data_dir, rows=args.rows, anchor_date=args.anchor_date, reset=args.reset)
    state = "created" if db.created else "reused"
    print(f"Demo dataset {state}: {db.rows:,} transactions up to {db.anchor_date} (Asia/Almaty)")
    print(f"Connection URL (read-only role): {db.reader_url}")
    os.environ[DEMO_DIR_ENV] = str(data_dir)
    os.environ[DEMO_ROWS_ENV] = str(db.rows)
    if args.anchor_date:
        os.environ[DEMO_ANCHOR_ENV] = args.anchor_date.isoformat()
    out_dir = data_dir / "quickstart"
    print(f"Running the quickstart notebook (outputs in {out_dir}) ...\n", flush=True)
    try:
        nb = run_notebook(_quickstart_path(), out_dir, env={USER_ENV: QUICKSTART_USER})
    except CellExecutionError as exc:
        print(f"paysql demo: a notebook cell failed:\n{exc}", file=sys.stderr)
        return 1
    import nbformat

    nbformat.write(nb, out_dir / "quickstart.executed.ipynb")
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.startswith("%%ask"):
            _print_cell(cell)
    print(f"Executed notebook: {out_dir / 'quickstart.executed.ipynb'}")
    if args.keep_running:
        print(f"The database keeps running at {db.reader_url}; press Ctrl-C to stop.", flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            print("Stopped.")
    return 0


def ask(args: argparse.Namespace) -> int:
    if args.help_offline or not args.question:
        from paysql_magic.providers.offline.provider import HELP

        print(HELP if args.help_offline else "paysql ask: give a question (or --help-offline)", file=sys.stdout)
        return 0 if args.help_offline else 2

    from paysql_magic import core, egress, rendering
    from paysql_magic.connection import engine_for
    from paysql_magic.export import check_path, export
    from paysql_magic.providers import cloud_bound
    from paysql_magic.settings import Settings, current_user, env_allow_cloud

    export_path = check_path(args.export) if args.export else None
    url = args.database_url or _demo_url(args.data_dir)
    settings = Settings(
        provider=args.provider,
        model=args.model,
        user_name=current_user(),
        notebook="paysql ask",
        **_model_options(args),
    )
    engine = engine_for(url)
    if notice := egress.cloud_consent(cloud_bound(settings.provider), engine, env_allow_cloud()):
        print(notice)
    result = core.ask(args.question, engine, settings, generation=core.Generation(mode=args.mode))
    print(f"-- ask: {result.question}")
    print(f"-- provider: {result.provider_choice or result.provider}, model {result.model}")
    print(result.sql)
    print(f"-- {result.row_count} rows, {result.timings_ms.get('total', 0):.0f} ms")
    head = result.frame.head(PREVIEW_LINES)  # money and counts as the notebook shows them (1,234.50)
    print(rendering.to_text(head, rendering.layout(head, result.sql, result.semantic_model), index=False))
    if len(result.frame) > PREVIEW_LINES:
        print("...")
    if export_path is not None:
        print(f"-- exported {len(result.frame)} rows to {export(result.frame, export_path)}")
    return 0


def init(args: argparse.Namespace) -> int:
    from paysql_magic.connection import engine_for
    from paysql_magic.semantic.writer import write_model

    schemas = _model_options(argparse.Namespace(semantic_model=None, schemas=args.schemas))["schemas"]
    written = write_model(
        engine_for(args.database_url), Path(args.output), schemas=schemas, force=args.force, update=args.update
    )
    for line in written.notes:
        print(f"  {line}")
    print(written.summary)
    if args.ossie:
        from paysql_magic.semantic.ossie import write_ossie

        print(f"Ossie document: {write_ossie(written.document, Path(args.ossie))}")
    return 0


def _model_options(args: argparse.Namespace) -> dict:
    """``--semantic-model`` and ``--schemas`` as Settings fields."""
    schemas = tuple(s.strip() for s in (args.schemas or "").split(",") if s.strip()) or None
    return {"semantic_model": args.semantic_model, "schemas": schemas}


def _model_environment(args: argparse.Namespace) -> None:
    """``--semantic-model`` and ``--schemas`` for the processes a command starts (a kernel, API workers)."""
    from paysql_magic.settings import SCHEMAS_ENV, SEMANTIC_MODEL_ENV

    if args.semantic_model:
        os.environ[SEMANTIC_MODEL_ENV] = str(Path(args.semantic_model).expanduser().resolve())
    if args.schemas:
        os.environ[SCHEMAS_ENV] = args.schemas


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--semantic-model", metavar="FILE", help="The paysql.yaml to use (default: ./paysql.yaml, else a draft)."
    )
    parser.add_argument("--schemas", metavar="A,B", help="Schemas to read (default: every schema the role can use).")


def _demo_url(data_dir: str | None) -> str:
    from paysql_magic.demo import start_demo

    return start_demo(data_dir).reader_url


def evaluate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from paysql_magic.connection import engine_for
    from paysql_magic.evaluation.run import evaluate, load_questions, report, to_json
    from paysql_magic.providers import get_provider
    from paysql_magic.settings import Settings

    questions = load_questions(Path(args.questions))
    engine = engine_for(args.database_url or _demo_url(args.data_dir))
    provider = get_provider(args.provider, args.model)
    settings = Settings(provider=provider.name, model=provider.model, user_name="paysql eval", **_model_options(args))
    progress = tqdm(questions, desc=f"eval ({provider.name})", unit="q", file=sys.stderr)
    outcomes = list(evaluate(progress, engine, settings, provider, mode=args.mode))
    print("\n".join(report(outcomes)))
    if args.json:
        Path(args.json).write_text(json.dumps(to_json(outcomes), ensure_ascii=False, indent=1, default=str))
    return 0


def audit_verify(args: argparse.Namespace) -> int:
    """Exit 0 when the chain is intact (and matches ``--anchor``), 1 at the first broken link or a bad end."""
    from paysql_magic.audit import Anchor, verify_chain
    from paysql_magic.connection import engine_for

    anchor = None
    if args.anchor:
        try:
            anchor = Anchor.from_json(Path(args.anchor).expanduser().read_text())
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"paysql: audit verify: cannot read the anchor {args.anchor}: {exc}", file=sys.stderr)
            return 2
    check = verify_chain(engine_for(args.database_url or _demo_admin_url(args.data_dir)), anchor)
    if check.broken:
        print(f"audit log broken at {check.broken}")
        return 1
    legacy = f" ({check.legacy} older rows without a hash)" if check.legacy else ""
    anchored = f", matching the anchor of {anchor.rows} rows up to id {anchor.last_id}" if check.anchored else ""
    print(f"audit log intact: {check.rows} rows{legacy}{anchored}")
    if check.unfinished:
        shown = ", ".join(f"{call_id} at {started}" for call_id, started in check.unfinished[-5:])
        count = len(check.unfinished)
        print(f"{count} call{'s' if count != 1 else ''} started and not finished (killed or still running): {shown}")
    return 0


def audit_anchor(args: argparse.Namespace) -> int:
    """Print (or write) the chain's end now, to keep elsewhere and give ``paysql audit verify --anchor`` later."""
    from paysql_magic.audit import anchor
    from paysql_magic.connection import engine_for

    value = anchor(engine_for(args.database_url or _demo_admin_url(args.data_dir))).to_json()
    if args.output:
        Path(args.output).expanduser().write_text(value + "\n")
        print(f"-- anchor written to {args.output}: keep it where the database's admins cannot change it")
    else:
        print(value)
    return 0


def audit_import(args: argparse.Namespace) -> int:
    """Exit 0 when every row is in the log, 1 when some could not be imported (listed on stderr)."""
    from paysql_magic.audit import import_fallback
    from paysql_magic.connection import engine_for

    path = Path(args.file).expanduser() if args.file else None
    done = import_fallback(engine_for(args.database_url or _demo_url(args.data_dir)), path)
    print(
        f"audit fallback: {done.found} rows in the file, {done.written} written, {done.present} already in the log"
        + (f", {len(done.failed)} not imported" if done.failed else "")
    )
    for line in done.failed:
        print(f"paysql: audit import: {line}", file=sys.stderr)
    return 1 if done.failed else 0


def grant_readonly(args: argparse.Namespace) -> int:
    """Print (or apply) the grants; an unknown table or schema, or a role that cannot be granted: one line on
    stderr and exit 2 (nothing applied: the grants run in one transaction)."""
    from sqlalchemy.exc import SQLAlchemyError

    from paysql_magic import grants
    from paysql_magic.connection import connect, engine_for, first_line

    if not (args.role or args.auditor):
        print(
            "paysql: grant-readonly: name the analysts' role (--role NAME) or an auditor (--auditor NAME)",
            file=sys.stderr,
        )
        return 2
    url = args.database_url or _demo_admin_url(args.data_dir)
    statements: list[str] = []
    done: list[str] = []
    try:
        with connect(engine_for(url)) as conn, conn.begin():
            database = conn.exec_driver_sql("SELECT current_database()").scalar_one()
            temp = grants.TEMP_FILE_LIMIT if grants.is_superuser(conn) else None  # only a superuser may set it
            relations = []
            if args.role:
                grants.check_role(conn, args.role)
                relations = grants.relations(conn, args.tables)
                statements += grants.readonly_statements(args.role, database, relations, temp_file_limit=temp)
            if args.auditor:
                grants.check_role(conn, args.auditor)
                statements += grants.auditor_statements(args.auditor, database, temp_file_limit=temp)
            if args.apply:
                moved = grants.ensure_own_tables(conn)
                grants.apply(conn, statements)
                done += [f"-- moved {line} (paysql's own schema)" for line in moved]
                if args.role:
                    done.append(grants.applied(conn, args.role, database, relations))
                if args.auditor:
                    done.append(grants.applied_auditor(conn, args.auditor))
            else:
                if args.role:
                    done.append(
                        f"-- dry run: role {args.role} would SELECT {grants.describe(relations)}; add --apply to run it"
                    )
                if args.auditor:
                    done.append(f"-- dry run: auditor {args.auditor} would read paysql's audit log; add --apply")
            if temp is None:
                done.append("-- temp_file_limit not set: only a superuser may set it (run this as one)")
    except grants.GrantError as exc:
        print(f"paysql: grant-readonly: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(f"paysql: grant-readonly: {first_line(exc)}", file=sys.stderr)
        return 2
    print("\n".join(f"{statement};" for statement in statements))
    print("\n".join(done))
    return 0


def _demo_admin_url(data_dir: str | None) -> str:
    from paysql_magic.demo import start_demo

    return start_demo(data_dir).admin_url


def report(args: argparse.Namespace) -> int:
    from paysql_magic.report import find_notebook, load, parse_params, render

    _model_environment(args)  # the notebook's kernel reads them
    notebook = find_notebook(args.notebook)
    nb = load(notebook, parse_params(args.param))
    html = Path(args.html).expanduser() if args.html else None
    output = Path(args.output).expanduser() if args.output else None
    rendered = render(nb, notebook, _target_url(args), html=html, output=output)
    print(f"Executed notebook: {rendered.notebook}")
    if rendered.html is not None:
        print(f"HTML report: {rendered.html}")
    print(f"Rendered in {rendered.elapsed_s:.1f} s")
    return 0


def check(args: argparse.Namespace) -> int:
    from paysql_magic import alerts, egress
    from paysql_magic.connection import engine_for
    from paysql_magic.providers import cloud_bound
    from paysql_magic.settings import Settings, current_user, env_allow_cloud

    try:
        checks = _checks(args)
        settings = Settings(user_name=current_user(), notebook="paysql check", **_model_options(args))
        engine = engine_for(_target_url(args))
        if notice := egress.cloud_consent(cloud_bound(settings.provider), engine, env_allow_cloud()):
            print(notice)
    except PaysqlError as exc:
        print(f"paysql check: {exc}", file=sys.stderr)
        return alerts.ERROR
    outcomes = [alerts.run_check(c, engine, settings) for c in checks]
    for outcome in outcomes:
        print(outcome.line(), flush=True)
    if args.webhook and any(o.failed for o in outcomes):
        try:
            alerts.post_webhook(args.webhook, alerts.alert(outcomes))
        except alerts.WebhookError as exc:
            print(f"paysql check: {exc}", file=sys.stderr)
    return alerts.exit_code(outcomes)


def _checks(args: argparse.Namespace) -> list[Check]:
    from paysql_magic.alerts import Check, load_checks, parse_percent

    if args.file and args.question:
        raise ConfigError("give a question or --file checks.yaml, not both")
    if args.file:
        return load_checks(Path(args.file).expanduser())
    if not args.question:
        raise ConfigError("give a question (with --compare-to and --max-change, or --min/--max) or --file checks.yaml")
    max_change = parse_percent(args.max_change) if args.max_change is not None else None
    name = f"{args.question} vs {args.compare_to}" if args.compare_to else args.question
    return [Check(name, args.question, args.compare_to, max_change, args.min, args.max)]


def _target_url(args: argparse.Namespace) -> str:
    """--database-url, else the embedded demo database with --demo, else PAYSQL_DATABASE_URL."""
    from paysql_magic.settings import env_database_url

    if args.database_url:
        return args.database_url
    if args.demo:
        return _demo_url(args.data_dir)
    if url := env_database_url():
        return url
    raise ConfigError("no database: give --database-url URL or --demo, or set PAYSQL_DATABASE_URL")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="paysql", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="Start the embedded demo database and run the quickstart notebook.")
    p.add_argument("--data-dir", help="Where the database lives (default: the user data dir).")
    p.add_argument(
        "--rows", type=int, help="Transactions to generate (default: keep the existing size; 1,000,000 when new)."
    )
    p.add_argument("--anchor-date", type=date.fromisoformat, help="The dataset's 'today' (default: today).")
    p.add_argument("--reset", action="store_true", help="Drop and regenerate the dataset.")
    p.add_argument("--keep-running", action="store_true", help="Keep the server up until Ctrl-C.")
    p.set_defaults(func=demo)
    a = sub.add_parser("ask", help="Answer one question: print the SQL and the first rows; export when asked.")
    a.add_argument("question", nargs="?", help="The question, in Russian or English.")
    a.add_argument("--help-offline", action="store_true", help="Print what the offline provider understands.")
    a.add_argument("--mode", choices=["auto", "plan", "sql"], help="How a language model answers (default: auto).")
    a.add_argument("--export", metavar="PATH", help="Write the answer to a .csv, .xlsx or .parquet file.")
    a.add_argument("--provider", default="auto", help="auto (default), gemini, ollama or offline.")
    a.add_argument("--model", help="Model for the provider.")
    a.add_argument("--database-url", help="Database to ask (default: the embedded demo database).")
    a.add_argument("--data-dir", help="Data dir of the embedded demo database (default: the user data dir).")
    _add_model_options(a)
    a.set_defaults(func=ask)
    e = sub.add_parser("eval", help="Execution accuracy of a provider on a question set (JSONL with gold SQL).")
    e.add_argument("--questions", required=True, help="JSONL file: id, lang, question, gold_sql, ordered.")
    e.add_argument("--provider", default="offline", help="Provider to evaluate (default: offline).")
    e.add_argument("--model", help="Model for the provider.")
    e.add_argument("--database-url", help="Database to run on (default: the embedded demo database).")
    e.add_argument("--data-dir", help="Data dir of the embedded demo database (default: the user data dir).")
    e.add_argument("--json", metavar="OUT", help="Write every question with its SQL, verdict and timings here.")
    e.add_argument("--mode", choices=["auto", "plan", "sql"], help="How a language model answers (default: auto).")
    _add_model_options(e)
    i = sub.add_parser("init", help="Draft the semantic model (paysql.yaml) from the database alone.")
    i.add_argument("--database-url", required=True, help="The database to describe (nothing leaves the machine).")
    i.add_argument("--schemas", metavar="A,B", help="Schemas to read (default: every schema the role can use).")
    i.add_argument("--output", default="paysql.yaml", help="Where to write it (default: ./paysql.yaml).")
    i.add_argument("--force", action="store_true", help="Overwrite a file that differs from the draft.")
    i.add_argument("--update", action="store_true", help="Redraft, keeping the edits of the existing file.")
    i.add_argument("--ossie", metavar="FILE", help="Also write the model as an Apache Ossie (OSI) document.")
    i.set_defaults(func=init)
    e.set_defaults(func=evaluate)
    au = sub.add_parser("audit", help="Check the audit log's hash chain, or import rows kept while it was down.")
    au_sub = au.add_subparsers(dest="audit_command", required=True)
    v = au_sub.add_parser("verify", help="Recompute the hash chain: exit 1 at the first broken link.")
    v.set_defaults(func=audit_verify)
    im = au_sub.add_parser("import", help="Write the rows of the local fallback file (idempotent, by call_id).")
    im.add_argument("--file", help="The fallback file (default: PAYSQL_AUDIT_FALLBACK or the user data dir).")
    im.set_defaults(func=audit_import)
    v.add_argument(
        "--anchor", metavar="FILE", help="An anchor from `paysql audit anchor`: the chain must still hold it."
    )
    an = au_sub.add_parser("anchor", help="Print the chain's end (rows, last id and hash) to keep elsewhere.")
    an.add_argument("--output", metavar="FILE", help="Write it to FILE instead of printing it.")
    an.set_defaults(func=audit_anchor)
    for p_audit in (v, im, an):
        p_audit.add_argument(
            "--database-url",
            help="The audit database (default: the embedded demo database; verify reads as its admin).",
        )
        p_audit.add_argument("--data-dir", help="Data dir of the embedded demo database (default: the user data dir).")
    g = sub.add_parser("grant-readonly", help="Print (or --apply) the grants of a least-privilege role for paysql.")
    g.add_argument("--role", help="The analysts' role to create or restrict (one per analyst is best).")
    g.add_argument(
        "--auditor", metavar="ROLE", help="A role to create that reads every caller's audit rows (and nothing else)."
    )
    g.add_argument(
        "--tables",
        help="Comma-separated tables or views to read, schema.table or bare (found on the search path); default: "
        "every table and view of every non-system schema but paysql's own.",
    )
    g.add_argument("--apply", action="store_true", help="Run the statements (the URL must be an admin's).")
    g.add_argument("--database-url", help="The database (default: the embedded demo database, as its admin).")
    g.add_argument("--data-dir", help="Data dir of the embedded demo database (default: the user data dir).")
    g.set_defaults(func=grant_readonly)
    r = sub.add_parser("report", help="Run a parameterised notebook headless; write the executed copy and HTML.")
    r.add_argument("notebook", help="The notebook: a path, or a shipped one (daily_report).")
    r.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="A value for the parameters cell."
    )
    r.add_argument("--html", metavar="OUT.html", help="Write an HTML copy (code hidden, outputs kept).")
    r.add_argument("--output", metavar="EXECUTED.ipynb", help="The executed notebook (default: next to the HTML).")
    _add_model_options(r)
    r.set_defaults(func=report)
    c = sub.add_parser("check", help="Compare a figure with another or with bounds: exit 1 when a check fails.")
    c.add_argument("question", nargs="?", help="The question giving the current figure.")
    c.add_argument("--compare-to", metavar="QUESTION", help="The question giving the figure to compare with.")
    c.add_argument("--max-change", metavar="PERCENT", help="The largest allowed change either way, e.g. 20%%.")
    c.add_argument("--min", type=float, help="Fail when the current figure is below this.")
    c.add_argument("--max", type=float, help="Fail when the current figure is above this.")
    c.add_argument("--file", metavar="CHECKS.yaml", help="A list of checks: name, question, compare_to, ...")
    c.add_argument("--webhook", metavar="URL", help="POST the alert JSON here when a check fails.")
    _add_model_options(c)
    c.set_defaults(func=check)
    for p_target in (r, c):
        target = p_target.add_mutually_exclusive_group()
        target.add_argument("--database-url", help="The database (default: PAYSQL_DATABASE_URL).")
        target.add_argument("--demo", action="store_true", help="Use the embedded demo database.")
        p_target.add_argument("--data-dir", help="Data dir of the embedded demo database (default: the user data dir).")
    _add_serve_parsers(sub)
    return parser


def _add_serve_parsers(sub: argparse._SubParsersAction) -> None:
    from paysql_magic.settings import DEFAULT_API_MAX_BYTES, DEFAULT_MAX_ROWS

    s = sub.add_parser("serve", help="Run the HTTP API (POST /api/query) and the web page on uvicorn.")
    s.add_argument("--host", default="127.0.0.1", help="Address to bind (default 127.0.0.1; others need API keys).")
    s.add_argument("--port", type=int, default=3000, help="Port (default 3000).")
    s.add_argument("--database-url", help="The database (default: PAYSQL_DATABASE_URL).")
    s.add_argument("--demo", action="store_true", help="Use the embedded demo database (started before the workers).")
    s.add_argument("--data-dir", help="Data dir of the embedded demo database (default: the user data dir).")
    s.add_argument("--rows", type=int, help="Demo transactions (default: keep the existing size; 1,000,000 when new).")
    s.add_argument("--workers", type=int, default=1, help="Worker processes (default 1).")
    s.add_argument("--provider", default="auto", help="auto (default), gemini, ollama or offline.")
    s.add_argument("--model", help="Model for the provider.")
    s.add_argument("--max-rows", type=int, default=DEFAULT_MAX_ROWS, help="Most rows an answer holds.")
    s.add_argument("--timeout", type=float, default=30.0, help="Statement timeout in seconds (default 30).")
    s.add_argument(
        "--rate-limit", help="Requests per caller, e.g. 60/minute (default: PAYSQL_RATE_LIMIT, else 60/minute)."
    )
    s.add_argument("--cors-origin", action="append", default=[], help="An origin allowed from browsers (repeat).")
    s.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="A Host name to answer besides loopback (repeat; *.example.com for subdomains): others get 421.",
    )
    s.add_argument(
        "--secrets-file",
        metavar="PATH",
        help="Read secret variables (PAYSQL_DATABASE_URL=..., PAYSQL_REDIS_URL=..., PAYSQL_JWT_SECRET=..., one a "
        "line) from this file, which only its owner may read (chmod 600).",
    )
    s.add_argument(
        "--forwarded-allow-ips",
        type=lambda v: [ip.strip() for ip in v.split(",") if ip.strip()],
        default=[],
        metavar="IPS",
        help="Proxies (comma-separated addresses) whose X-Forwarded-For is believed (default: none).",
    )
    s.add_argument(
        "--max-bytes",
        type=_size,
        default=DEFAULT_API_MAX_BYTES,
        metavar="SIZE",
        help="The most bytes an answer's rows may hold, e.g. 25MB (default); more is 422 result_too_large.",
    )
    s.add_argument(
        "--result-ttl",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="Keep results this long in the result cache (Redis with PAYSQL_REDIS_URL; default 60; 0: off).",
    )
    s.add_argument(
        "--result-max-bytes",
        type=_size,
        default=1024 * 1024,
        metavar="SIZE",
        help="A result larger than this is not cached (default 1MB).",
    )
    s.add_argument(
        "--db-connections",
        type=int,
        default=20,
        metavar="N",
        help="Connections to the database for the whole server, shared out between the workers (default 20).",
    )
    s.add_argument(
        "--scan-cost",
        type=float,
        default=10_000.0,
        metavar="COST",
        help="Planner cost from which a statement runs on the scans' own pool (default 10000; 0: one pool).",
    )
    s.add_argument(
        "--job-ttl",
        type=float,
        default=24 * 3600.0,
        metavar="SECONDS",
        help="Keep jobs (POST /api/jobs) and their rows this long in Redis (default a day).",
    )
    _add_model_options(s)
    s.set_defaults(func=serve)
    w = sub.add_parser("worker", help="Run the jobs of POST /api/jobs from their queue in Redis (PAYSQL_REDIS_URL).")
    w.add_argument("--database-url", help="The database (default: PAYSQL_DATABASE_URL).")
    w.add_argument("--demo", action="store_true", help="Use the embedded demo database.")
    w.add_argument("--data-dir", help="Data dir of the embedded demo database (default: the user data dir).")
    w.add_argument("--max-rows", type=int, default=DEFAULT_MAX_ROWS, help="Most rows a job's answer holds.")
    w.add_argument("--timeout", type=float, default=300.0, help="Statement timeout in seconds (default 300).")
    w.add_argument(
        "--max-bytes", type=_size, default=DEFAULT_API_MAX_BYTES, metavar="SIZE", help="Most bytes of a job's rows."
    )
    w.add_argument(
        "--result-ttl",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="Share results through the result cache in Redis this long (default 60; 0: every job runs live).",
    )
    w.add_argument(
        "--secrets-file", metavar="PATH", help="Read PAYSQL_DATABASE_URL=, PAYSQL_REDIS_URL=, ... from this file."
    )
    w.add_argument("--burst", action="store_true", help="Stop once the queue is empty.")
    _add_model_options(w)
    w.set_defaults(func=worker)
    k = sub.add_parser("keys", help="Create, list or revoke API keys of `paysql serve` (only hashes are stored).")
    k_sub = k.add_subparsers(dest="keys_command", required=True)
    kc = k_sub.add_parser("create", help="Create a key for NAME and print it (once).")
    kc.add_argument("name", help="Who the key is for; it becomes the audit log's user.")
    kc.add_argument(
        "--grant-to", metavar="ROLE", help="Let this role read the keys (default with the demo: its reader)."
    )
    kl = k_sub.add_parser("list", help="List keys: name, first characters, created, revoked.")
    kr = k_sub.add_parser("revoke", help="Revoke the active key of NAME.")
    kr.add_argument("name", help="The key's name.")
    for p_keys in (kc, kl, kr):
        p_keys.add_argument("--database-url", help="Where the keys live (default: the embedded demo, as its admin).")
        p_keys.add_argument("--data-dir", help="Data dir of the embedded demo database (default: the user data dir).")
        p_keys.set_defaults(func=keys)


def _size(value: str) -> int:
    from paysql_magic.settings import parse_size

    try:
        return parse_size(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def serve(args: argparse.Namespace) -> int:
    from paysql_magic.api.serve import serve as run

    _model_environment(args)  # the workers read them
    return run(args)


def worker(args: argparse.Namespace) -> int:
    from paysql_magic.api.worker import work

    _model_environment(args)
    return work(args)


def keys(args: argparse.Namespace) -> int:
    from paysql_magic.api.serve import keys_command

    return keys_command(args)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except PaysqlError as exc:
        print(f"paysql: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
