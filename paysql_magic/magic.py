"""The IPython shell: ``%%ask`` / ``%ask`` translate cells into ``core`` calls and show the answer.

Options come from ``magic_arguments``; defaults from the ``Ask`` configurable (``%config Ask.provider``).
Errors along the data path are shown as one line (no traceback) and fail the cell.
"""

from __future__ import annotations

import os
import re
import textwrap
from contextlib import nullcontext
from datetime import date
from urllib.parse import unquote

import pandas as pd
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import Image, display
from sqlalchemy import Engine
from traitlets import Bool, Enum, Float, Int, List, Unicode, Union

from paysql_magic import core, egress, monitor, rendering, review
from paysql_magic.connection import engine_for, mask
from paysql_magic.errors import Cancelled, ConfigError, EmptyInput, PaysqlError
from paysql_magic.explain import explain
from paysql_magic.export import check_path, export
from paysql_magic.followup import Previous, is_refinement
from paysql_magic.providers import cloud_bound, get_provider
from paysql_magic.results import DEFAULT_MAX_ENTRY_BYTES, ResultCache
from paysql_magic.results import from_url as results_from_url
from paysql_magic.semantic.model import SemanticModel
from paysql_magic.settings import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ROWS,
    DEMO_ANCHOR_ENV,
    DEMO_DIR_ENV,
    DEMO_ROWS_ENV,
    Settings,
    current_user,
    env_allow_cloud,
    env_database_url,
    env_redis_url,
)
from paysql_magic.waiting import waiting

ASK_COMMENT = "-- ask:"

MAX_ERROR_LINES = 3  # an error, a decline included, is at most this many lines in the notebook
NO_CONNECTION = (
    "no database connection: use %ask --demo (embedded demo database), %%ask --conn postgresql://..., "
    "%sql postgresql://... (jupysql), or set PAYSQL_DATABASE_URL"
)


@magics_class
class Ask(Magics):
    """Ask a payments database a question; defaults are set with ``%config Ask.<name> = value``."""

    provider = Unicode(
        "auto", help="auto (Gemini with a key, else a running Ollama, else offline), gemini, ollama or offline."
    ).tag(config=True)
    model = Unicode(None, allow_none=True, help="Model name for the provider.").tag(config=True)
    max_rows = Int(
        DEFAULT_MAX_ROWS, help="Row cap: the LIMIT added to queries without one, and the most rows fetched."
    ).tag(config=True)
    timeout = Float(30.0, help="Statement timeout in seconds.").tag(config=True)
    max_bytes = Int(
        DEFAULT_MAX_BYTES, allow_none=True, help="Byte cap: the most data a result may hold (None: no cap)."
    ).tag(config=True)
    exact_decimal = Bool(False, help="Keep numeric columns as exact decimal.Decimal.").tag(config=True)
    allow_superuser = Bool(False, help="Allow generated SQL on a superuser connection.").tag(config=True)
    audit_url = Unicode(None, allow_none=True, help="Separate database URL for query_audit_log.").tag(config=True)
    insert_cell = Bool(True, help="Insert the reviewed SQL as a new %%ask --sql cell below.").tag(config=True)
    glossary = Unicode(
        None, allow_none=True, help="Business glossary for the prompt: text, or a file path (default: payments)."
    ).tag(config=True)
    statuses = Enum(
        ["all", "approved"],
        None,
        allow_none=True,
        help="Counts and volumes over all statuses or approved only (default: the semantic model's rule).",
    ).tag(config=True)
    mode = Enum(
        ["auto", "plan", "sql"],
        None,
        allow_none=True,
        help="How a language model answers: plan (fills a plan over the semantic model), sql, or auto (a plan, "
        "else SQL where a plan cannot reach); default PAYSQL_MODE, else auto.",
    ).tag(config=True)
    semantic_model = Unicode(
        None,
        allow_none=True,
        help="The semantic model file (paysql.yaml; default: PAYSQL_SEMANTIC_MODEL, ./paysql.yaml, else a draft).",
    ).tag(config=True)
    schemas = Union(
        [Unicode(), List(Unicode())],
        default_value=None,
        allow_none=True,
        help="Schemas to read (a list or a comma string; default: PAYSQL_SCHEMAS, else every schema the role can use).",
    ).tag(config=True)
    max_repairs = Int(2, help="Repair rounds for failed generated SQL (LLM providers only).").tag(config=True)
    examples = Int(3, help="Verified examples shown to the model (few-shot).").tag(config=True)
    prompt_budget = Int(6000, help="Prompt budget in tokens (estimated as characters / 4).").tag(config=True)
    demo_data_dir = Unicode(None, allow_none=True, help="Data directory of the embedded demo database.").tag(
        config=True
    )
    autoplot = Bool(False, help="Show a chart under every answer whose shape suits one (as --plot).").tag(config=True)
    demo_rows = Int(
        None, allow_none=True, help="Transactions in the demo dataset (default: keep its size; 1,000,000 when new)."
    ).tag(config=True)

    sample_values = Union(
        [Unicode(), List(Unicode())],
        default_value="all",
        help="Sample values in the prompt: all (categorical, non-personal columns), none, or table.column entries "
        "to allow and !table.column entries to deny (a list or a comma string).",
    ).tag(config=True)
    allow_cloud = Bool(
        False, help="Send a non-demo database's schema, glossary and question to a cloud provider (Gemini)."
    ).tag(config=True)
    result_ttl = Float(
        0.0,
        help="Serve the rows of SQL run in the last this many seconds from the result cache (shared through Redis with "
        "PAYSQL_REDIS_URL, else this kernel's); 0 (default): every cell runs live; --fresh runs live anyway.",
    ).tag(config=True)
    number_format = Enum(
        list(rendering.FORMATS),
        "auto",
        help="How answers show numbers: auto (the question's language), en (1,234.50), ru (1 234,50) or raw "
        "(pandas' own). Only the rendering: the DataFrame keeps its dtypes.",
    ).tag(config=True)

    def __init__(self, shell: InteractiveShell) -> None:
        super().__init__(shell=shell)
        self._default_engine: Engine | None = None
        self.last_result: core.Result | None = None
        self.thread: Previous | None = None  # what the next follow-up question refines
        self._notes_shown: set[str] = set()  # lines said once a session (the semantic model was drafted ...)
        self._reviews = review.Reviews()  # where review cells go (see review.py)
        self._models: dict[str, SemanticModel] = {}  # the semantic model of each database, for reviewed SQL
        self._thread_plot = False  # the thread being followed up was charted: its follow-ups are too
        self._in_cell = False  # between IPython's pre_run_cell and post_run_cell
        self._charts: list[bytes] = []  # PNGs shown after the cell's result, so the chart is under the table
        self._results: ResultCache | None = None  # Ask.result_ttl's cache

    # connection -----------------------------------------------------------------------------------------
    def _demo_engine(self) -> Engine:
        from paysql_magic.demo import start_demo

        data_dir = self.demo_data_dir or os.environ.get(DEMO_DIR_ENV)
        rows = self.demo_rows or int(os.environ.get(DEMO_ROWS_ENV, 0)) or None
        anchor = os.environ.get(DEMO_ANCHOR_ENV)
        print("paysql: starting the embedded demo database...", flush=True)  # a note, not an error: stdout
        demo = start_demo(data_dir, rows=rows, anchor_date=date.fromisoformat(anchor) if anchor else None)
        return engine_for(demo.reader_url)

    def _resolve_engine(self, args) -> Engine:
        if args.conn:
            return engine_for(args.conn)
        if args.demo:
            return self._demo_engine()
        if self._default_engine is not None:
            return self._default_engine
        jupysql_engine = _jupysql_engine()
        if jupysql_engine is not None:
            return jupysql_engine
        if url := env_database_url():
            return engine_for(url)
        raise ConfigError(NO_CONNECTION)

    def _make_default(self, engine: Engine) -> None:
        """Remember ``engine`` for later cells and make it jupysql's current connection too."""
        self._default_engine = engine
        _share_with_jupysql(engine)
        print(f"paysql: connected to {_readable_url(engine)}")

    # settings -------------------------------------------------------------------------------------------
    def _settings(self, args) -> Settings:
        return Settings(
            provider=args.provider or self.provider,
            model=args.model or self.model,
            max_rows=args.max_rows if args.max_rows is not None else self.max_rows,
            timeout_s=args.timeout if args.timeout is not None else self.timeout,
            max_bytes=self.max_bytes,
            exact_decimal=args.exact_decimal or self.exact_decimal,
            allow_superuser=args.allow_superuser or self.allow_superuser,
            audit_url=self.audit_url,
            user_name=current_user(),
            notebook=self.shell.user_ns.get("__session__") or os.environ.get("JPY_SESSION_NAME"),
            semantic_model=self.semantic_model,
            schemas=_schemas(self.schemas),
            results=self._result_cache(),
            fresh_results=bool(getattr(args, "fresh", False)),
        )

    def _result_cache(self) -> ResultCache | None:
        """The result cache ``Ask.result_ttl`` asks for (one a kernel and TTL), or None: live."""
        if self.result_ttl <= 0:
            return None
        if self._results is None or self._results.ttl_s != self.result_ttl:
            self._results = results_from_url(env_redis_url(), self.result_ttl, DEFAULT_MAX_ENTRY_BYTES)
        return self._results

    # the magic ------------------------------------------------------------------------------------------
    @magic_arguments()
    @argument("-o", "--output", metavar="NAME", help="Assign the DataFrame to this notebook variable.")
    @argument("--conn", metavar="URL", help="PostgreSQL URL to use for this cell.")
    @argument("--demo", action="store_true", help="Use the embedded demo database (starts it if needed).")
    @argument("--provider", help="Provider for this cell: auto, gemini, ollama or offline.")
    @argument("--model", help="Model for this cell.")
    @argument("--sql", action="store_true", help="The cell holds SQL to run (reviewed or edited).")
    @argument("--no-run", action="store_true", help="Only write the SQL into a new cell; do not run it.")
    @argument("--refresh-schema", action="store_true", help="Introspect the schema again.")
    @argument("--max-rows", type=int, metavar="N", help="Row cap for this cell.")
    @argument("--timeout", type=float, metavar="SECONDS", help="Statement timeout for this cell.")
    @argument("--allow-superuser", action="store_true", help="Run even on a superuser connection.")
    @argument("--exact-decimal", action="store_true", help="Keep numeric columns as decimal.Decimal.")
    @argument("--fresh", action="store_true", help="Generate new SQL even if the question is cached.")
    @argument("--verify", action="store_true", help="Vouch for the last answer: it becomes a verified example.")
    @argument("--samples", type=int, metavar="N", help="Self-consistency: N candidates, the most common result wins.")
    @argument("--show-prompt", action="store_true", help="Print the prompt that would be sent; send nothing.")
    @argument("--explain", action="store_true", help="Explain the SQL after the answer (alone: the last answer).")
    @argument("--plot", action="store_true", help="Chart the answer: a time series as lines, a breakdown as bars.")
    @argument("--export", metavar="PATH", help="Write the answer to a .csv, .xlsx or .parquet file.")
    @argument("--followup", action="store_true", help="Refine the previous answer (found by itself for «а теперь…»).")
    @argument("--new", action="store_true", help="A new question, even if it reads like a follow-up.")
    @argument("--mode", choices=["auto", "plan", "sql"], help="How a language model answers this cell.")
    @argument("--help", action="store_true", help="Show these options and what the offline provider understands.")
    @line_cell_magic
    @no_var_expand  # {name} is a notebook variable the magic binds itself, never text pasted into the question
    def ask(self, line: str, cell: str | None = None) -> pd.DataFrame | None:
        """Ask a question in Russian or English; get reviewed SQL and a DataFrame back.

        %%ask [options]        the question (or, with --sql, the SQL) in the cell body
        %ask [options] question
        {name} in a question   the value of the notebook variable name (string, number, date or a list)
        а теперь только …      a follow-up refines the previous answer ("now by week"; --followup, --new)
        %ask --demo            make the embedded demo database this session's default
        %ask --verify          vouch for the last answer: it becomes a verified example
        %ask --explain         explain the SQL of the last answer
        """
        options, text = (line, cell) if cell is not None else _split_options(self.ask, line)
        args = parse_argstring(self.ask, options)
        if args.help:
            from paysql_magic.providers.offline.provider import HELP

            print(f"{self.ask.parser.format_help().strip()}\n\n{HELP}")
            return None
        if args.explain and cell is None and not text.strip():
            if self.last_result is None:
                raise EmptyInput("nothing to explain: ask a question with %%ask first")
            self._explain(self.last_result, args)
            return None
        if args.output is not None:
            self.shell.user_ns.pop(args.output, None)
        export_path = check_path(args.export) if args.export else None  # a wrong extension fails before the query
        engine = self._resolve_engine(args)
        settings = self._settings(args)
        if args.verify:
            return self._verify(engine, settings)
        if not text.strip() and (args.demo or args.conn) and cell is None:
            self._make_default(engine)
            return None
        previous = self._previous(text, args)
        with egress.sample_values(egress.sample_policy(self.sample_values)):
            if args.show_prompt:
                prompt = core.prompt_for(
                    text, engine, settings, self._generation(args), params=self.shell.user_ns, previous=previous
                )
                print(prompt.text)
                return None
            result = self._answer(text, engine, settings, args, previous)
        self.last_result = result
        self._render(result, engine)
        self._follow(result, args, previous)
        plot = args.plot or (previous is not None and self._thread_plot)  # a follow-up of a chart is charted too
        if not args.sql:
            self._thread_plot = plot
        self._show(result, args, reviewed=args.sql, previous=previous, plot=plot)
        if result.frame is not None and (plot or self.autoplot):
            self._plot(result, engine, explicit=args.plot)
        if result.frame is not None and export_path is not None:
            print(f"-- exported {len(result.frame)} rows to {export(result.frame, export_path)}")
        if args.explain:
            self._explain(result, args)
        if args.output is not None and result.frame is not None:
            self.shell.user_ns[args.output] = result.frame
        return result.frame

    def _previous(self, text: str, args) -> Previous | None:
        """The answer this question refines: with --followup, or when it reads as a refinement (not with --new)."""
        if args.followup and self.thread is None:
            raise EmptyInput("nothing to follow up: ask a question with %%ask first")
        if args.sql or args.new or self.thread is None:
            return None
        return self.thread if args.followup or is_refinement(text) else None

    def _follow(self, result: core.Result, args, previous: Previous | None) -> None:
        """Remember the answer for the next follow-up (reviewed SQL for its question replaces the answer's SQL)."""
        if not args.sql:
            question = result.question or ""
            self.thread = (
                previous.then(question, result.sql, result.call_id)
                if previous
                else Previous((question,), result.sql, result.call_id)
            )
        elif self.thread is not None and result.question == self.thread.questions[-1]:
            self.thread = Previous(self.thread.questions, result.sql, result.call_id)

    def _answer(
        self, text: str, engine: Engine, settings: Settings, args, previous: Previous | None = None
    ) -> core.Result:
        """Run the reviewed SQL, or answer the question (after consent when it goes to a cloud provider)."""
        namespace = self.shell.user_ns
        if not args.sql:
            allowed = self.allow_cloud or env_allow_cloud()
            notice = egress.cloud_consent(cloud_bound(settings.provider), engine, allowed)
            if notice:
                print(notice)
        try:
            if args.sql:
                question, sql = _split_ask_comment(text)
                result = core.run_sql(sql, engine, settings, question=question, params=namespace)
            else:
                result = core.ask(
                    text,
                    engine,
                    settings,
                    refresh_schema=args.refresh_schema,
                    execute=not args.no_run,
                    generation=self._generation(args),
                    progress=waiting,
                    params=namespace,  # only the variables the questions name are read
                    previous=previous,
                )
        except KeyboardInterrupt:  # the core has audited the call as cancelled
            raise Cancelled("cancelled: the query was interrupted and rolled back; the audit row says so") from None
        return result

    @magic_arguments()
    @argument("--conn", metavar="URL", help="PostgreSQL URL whose audit log to read.")
    @argument("--demo", action="store_true", help="Read the audit log of the embedded demo database.")
    @line_magic
    def ask_audit(self, line: str) -> None:
        """Monitoring figures from query_audit_log of the current connection (or Ask.audit_url)."""
        from paysql_magic import charts

        args = parse_argstring(self.ask_audit, line)
        store = core.store_engine(self._resolve_engine(args), Settings(audit_url=self.audit_url))
        figures = monitor.figures(store, user=current_user())
        for title, frame in figures.items():
            if title == monitor.CALLS_PER_DAY:
                frame = monitor.fold_empty_days(frame)
            print(f"-- {title}")
            display(frame)
        figure = charts.chart(figures[monitor.CALLS_PER_DAY], monitor.CALLS_PER_DAY)
        if figure is not None:
            display(Image(data=charts.png_bytes(figure)))

    def _generation(self, args) -> core.Generation:
        return core.Generation(
            glossary=self.glossary,
            statuses=self.statuses,
            examples_k=self.examples,
            budget_tokens=self.prompt_budget,
            max_repairs=self.max_repairs,
            samples=args.samples or 1,
            fresh=args.fresh,
            mode=args.mode or self.mode,
        )

    def _verify(self, engine: Engine, settings: Settings) -> None:
        if self.last_result is None or not self.last_result.question:
            raise EmptyInput("nothing to verify: ask a question with %%ask first")
        core.verify(self.last_result, engine, settings)
        print(f"paysql: verified: {self.last_result.question}")

    def _explain(self, result: core.Result, args) -> None:
        """Print an explanation of ``result.sql`` as ``-- `` lines; a failure prints one line, the cell goes on."""
        try:
            if result.provider:
                provider = get_provider(result.provider, result.model)
            else:  # reviewed SQL: the provider this cell would ask
                provider = get_provider(args.provider or self.provider, args.model or self.model)
            label = f"explaining with {provider.name}/{provider.model}"
            with waiting(label) if provider.remote else nullcontext():
                text = explain(
                    result.question or "", result.sql, provider, model=result.semantic_model, plan=result.plan
                )
        except PaysqlError as exc:
            print(f"-- explanation unavailable: {exc}")
            return
        for paragraph in text.splitlines():
            for line in textwrap.wrap(paragraph, width=100):
                print(f"-- {line}")

    def _plot(self, result: core.Result, engine: Engine, *, explicit: bool) -> None:
        """The chart of ``result`` as a PNG, shown under the table (after the cell's result when in a cell); an
        explicit ``--plot`` says so when its shape gets none. A partial current period is marked."""
        from paysql_magic import charts

        figure = _chart(charts, result)
        if figure is None:
            if explicit:
                print("-- no chart: it needs a time column or one category column, plus numeric columns")
            return
        now = _database_now(engine) if charts._time_column(result.frame) is not None else None
        if now is not None:
            charts.mark_partial(figure, result.frame, now, result.question)
        png = charts.png_bytes(figure)
        if self._in_cell:
            self._charts.append(png)
        else:
            display(Image(data=png))

    def _pre_run_cell(self, *_args) -> None:
        self._in_cell = True
        self._charts.clear()

    def _post_run_cell(self, *_args) -> None:
        self._in_cell = False
        charts, self._charts = self._charts, []
        for png in charts:
            display(Image(data=png))

    def _render(self, result: core.Result, engine: Engine) -> None:
        """Have the notebook show ``result.frame`` with money and counts formatted (the frame is not changed)."""
        if result.frame is None or self.number_format == "raw":
            return
        key = engine.url.render_as_string(hide_password=True)
        model = result.semantic_model or self._models.get(key)
        if result.semantic_model is not None:
            self._models[key] = result.semantic_model
        lang = rendering.language(result.question) if self.number_format == "auto" else self.number_format
        try:
            rendering.remember(result.frame, rendering.layout(result.frame, result.sql, model, lang))
        except Exception:  # the rendering is a convenience: never a failed cell
            return

    def _show(
        self, result: core.Result, args, *, reviewed: bool, previous: Previous | None = None, plot: bool = False
    ) -> None:
        if result.model_note and result.model_note not in self._notes_shown:
            self._notes_shown.add(result.model_note)
            print(result.model_note)
        if not reviewed:
            if previous is not None:
                print(f"-- follows up: {' -> '.join(previous.questions)}")
            print(f"{ASK_COMMENT} {result.question}")
            print(
                f"-- provider: {result.provider_choice or result.provider}, model {result.model}"
                + (", cached" if result.cached else "")
            )
            if result.plan:
                print(f"-- plan: {result.plan}")
            elif result.sql_reason:
                print(f"-- sql: {result.sql_reason}")
        print(result.sql)
        if result.frame is not None:
            rows = f"{result.row_count} row{'' if result.row_count == 1 else 's'}"
            capped = f" (row cap of {result.row_count} reached: raise it with --max-rows)" if result.truncated else ""
            age = result.result_age_s
            cached = "" if age is None else f", from the result cache ({age:.0f} s old; --fresh runs it live)"
            print(f"-- {rows}{capped}, {result.timings_ms.get('total', 0):.0f} ms{cached}")
        if not reviewed and self.insert_cell:  # one review cell per asking cell, whatever the cache holds
            self._reviews.offer(self.shell, _review_cell(result, args, plot=plot), result.question)


def _schemas(value: str | list[str] | None) -> tuple[str, ...] | None:
    """``Ask.schemas`` as a tuple of names (None: not set)."""
    names = value.split(",") if isinstance(value, str) else value or []
    return tuple(n.strip() for n in names if n.strip()) or None


def _review_cell(result: core.Result, args, *, plot: bool = False) -> str:
    options = ["--sql"]
    if args.output:
        options.append(f"-o {args.output}")
    if args.demo:
        options.append("--demo")
    if args.plot or plot:
        options.append("--plot")
    return f"%%ask {' '.join(options)}\n{ASK_COMMENT} {result.question}\n{result.sql}"


def _chart(charts, result: core.Result):
    """The chart of an answer, labelled by its semantic model where ``charts.chart`` takes one."""
    return charts.chart(result.frame, result.question, model=result.semantic_model)


def _database_now(engine: Engine):
    """The database's wall-clock time (its session time zone), for marking the current period; None if unknown."""
    from sqlalchemy import text

    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT localtimestamp")).scalar_one()
    except Exception:
        return None


def _readable_url(engine: Engine) -> str:
    """The connection URL for people: password masked, ``%2F`` in a socket path shown as ``/``."""
    return unquote(mask(engine.url.render_as_string(hide_password=False)))


def _split_options(magic, line: str) -> tuple[str, str]:
    """Split ``%ask --opt value question words`` into its options and the question, kept verbatim."""
    actions = magic.parser._option_string_actions
    tokens = line.split()
    i = 0
    while i < len(tokens) and tokens[i] in actions:
        i += 1 if actions[tokens[i]].nargs == 0 else 2
    options = " ".join(tokens[:i])
    rest = line.strip()[len(" ".join(tokens[:i])) :] if i else line
    return options, rest.strip()


def _split_ask_comment(text: str) -> tuple[str | None, str]:
    """Take the ``-- ask: <question>`` first line off a reviewed-SQL cell."""
    first, _, rest = text.strip().partition("\n")
    if first.startswith(ASK_COMMENT):
        return first[len(ASK_COMMENT) :].strip() or None, rest
    return None, text


def _jupysql_engine() -> Engine | None:
    """The engine of jupysql's active connection, if there is one and it is PostgreSQL."""
    try:
        from sql.connection import ConnectionManager
    except ImportError:
        return None
    current = ConnectionManager.current
    conn = getattr(current, "connection_sqlalchemy", None)
    if conn is None:
        return None
    if conn.engine.dialect.name != "postgresql":
        raise ConfigError(f"paysql-magic needs PostgreSQL; the active %sql connection is {conn.engine.dialect.name}")
    return conn.engine


def _share_with_jupysql(engine: Engine) -> None:
    try:
        from sql.connection import ConnectionManager
    except ImportError:
        return
    ConnectionManager.set(engine, displaycon=False)


def short_error(message: str, limit: int = MAX_ERROR_LINES) -> str:
    """An error for the notebook: its first line and, when it runs longer, its last sentence (what to do), in at
    most ``limit`` lines; the full text stays in the audit row."""
    lines = [line.rstrip() for line in message.strip().splitlines() if line.strip()]
    if len(lines) <= limit:
        return "\n".join(lines)
    rest = " ".join(line.strip() for line in lines[1:])
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z«\"])", rest)
    tail = textwrap.wrap(sentences[-1], width=116)[: limit - 1]
    return "\n".join([lines[0], *(f"  {line}" for line in tail)])


def _one_line_error(shell, etype, value, tb, tb_offset=None) -> list[str]:
    """Show a paysql error in at most three lines, without a traceback (the cell still fails)."""
    stb = [f"paysql: {short_error(egress.redact(str(value)))}"]
    shell._showtraceback(etype, value, stb)  # IPython's hook for where a traceback goes (kernel: an error message)
    return stb


def load_ipython_extension(shell: InteractiveShell) -> None:
    """``%load_ext paysql_magic``: register the magics, the configurable and the one-line errors."""
    magics = Ask(shell)
    shell.register_magics(magics)
    shell.configurables.append(magics)
    shell.set_custom_exc((PaysqlError,), _one_line_error)
    shell.events.register("pre_run_cell", magics._pre_run_cell)
    shell.events.register("post_run_cell", magics._post_run_cell)
    rendering.register(shell)
    _complete_options(shell, magics)
    _hint_jupysql(shell)


def _complete_options(shell: InteractiveShell, magics: Ask) -> None:
    """Tab completion of ``%ask`` / ``%%ask`` options (``--pl<Tab>`` -> ``--plot``)."""
    options = sorted({o for a in magics.ask.parser._actions for o in a.option_strings if o.startswith("--")})

    def complete(_self, event) -> list[str]:
        word = event.symbol or ""
        return [o for o in options if o.startswith(word)] if word.startswith("-") else []

    for command in ("%ask", "%%ask"):
        shell.set_hook("complete_command", complete, str_key=command)


def _hint_jupysql(shell: InteractiveShell) -> None:
    """``%sql`` before ``%load_ext sql`` says how to get it (jupysql's own magic replaces this one once loaded)."""
    if "sql" in shell.magics_manager.magics["line"]:
        return

    def sql(line: str = "", cell: str | None = None) -> None:
        raise UsageError("%sql is jupysql's magic: run %load_ext sql first (paysql-magic shares its connection)")

    shell.register_magic_function(sql, "line_cell", "sql")


def _clean_help(text: str | None) -> str | None:
    """IPython writes a magic's usage as a reStructuredText literal block ("::"); ``%ask?`` shows plain text."""
    if not text:
        return text
    return re.sub(r"^::\n\n", "", textwrap.dedent(text).lstrip("\n"), count=1)


Ask.ask.__doc__ = _clean_help(Ask.ask.__doc__)
Ask.ask_audit.__doc__ = _clean_help(Ask.ask_audit.__doc__)
