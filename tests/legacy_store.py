"""paysql's own tables as versions before the ``paysql`` schema left them (commit 253379c): the audit log, query
cache and verified examples in ``public`` (chained under an advisory lock), the API keys in ``paysql_api``, and a
reader granted INSERT and SELECT on the log, SELECT/INSERT/UPDATE on the cache and examples. The tests of the
migration build this, then let today's code find, use and move it."""

from __future__ import annotations

SOURCES = "('ask', 'edited', 'api', 'eval', 'check')"

STATEMENTS = (
    f"""CREATE TABLE public.query_audit_log (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        call_id uuid NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        db_user text NOT NULL DEFAULT session_user,
        user_name text,
        source text NOT NULL CONSTRAINT query_audit_log_source_check CHECK (source IN {SOURCES}),
        question text,
        generated_sql text,
        executed_sql text,
        provider text,
        model text,
        status text NOT NULL CHECK (status IN ('ok', 'refused', 'declined', 'error', 'cancelled')),
        success boolean NOT NULL,
        error text,
        attempts integer NOT NULL DEFAULT 1,
        cached boolean NOT NULL DEFAULT false,
        row_count integer,
        llm_time_ms double precision,
        execution_time_ms double precision,
        notebook text,
        schema_hash text,
        prev_hash text,
        row_hash text,
        parent_call_id uuid
    )""",
    """CREATE OR REPLACE FUNCTION public.paysql_audit_hash(r public.query_audit_log) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
        SELECT encode(sha256(convert_to(coalesce(r.prev_hash, '') || (jsonb_build_array(
            r.id, r.call_id, to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), r.db_user,
            r.user_name, r.source, r.question, r.generated_sql, r.executed_sql, r.provider, r.model, r.status,
            r.success, r.error, r.attempts, r.cached, r.row_count, r.llm_time_ms, r.execution_time_ms, r.notebook,
            r.schema_hash) || CASE WHEN r.parent_call_id IS NULL THEN '[]'::jsonb
                                   ELSE jsonb_build_array(r.parent_call_id) END
            )::text, 'UTF8')), 'hex')
    $$""",
    """CREATE OR REPLACE FUNCTION public.paysql_audit_chain() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock(hashtext('paysql-magic audit chain'));
        NEW.id := nextval(pg_get_serial_sequence('public.query_audit_log', 'id'));
        SELECT row_hash INTO NEW.prev_hash FROM public.query_audit_log ORDER BY id DESC LIMIT 1;
        NEW.row_hash := public.paysql_audit_hash(NEW);
        RETURN NEW;
    END
    $$""",
    """CREATE TRIGGER paysql_audit_chain BEFORE INSERT ON public.query_audit_log
        FOR EACH ROW EXECUTE FUNCTION public.paysql_audit_chain()""",
    """CREATE TABLE public.query_cache (
        question_key text NOT NULL, schema_hash text NOT NULL, provider text NOT NULL, model text NOT NULL,
        sql text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (question_key, schema_hash, provider, model)
    )""",
    """CREATE TABLE public.verified_examples (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, question text NOT NULL, sql text NOT NULL,
        source text NOT NULL CHECK (source IN ('verify', 'edited')), created_at timestamptz NOT NULL DEFAULT now(),
        db_user text NOT NULL DEFAULT session_user, UNIQUE (question, sql)
    )""",
    "CREATE SCHEMA paysql_api",
    """CREATE TABLE paysql_api.api_keys (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL CHECK (name <> ''),
        key_hash text NOT NULL UNIQUE, key_start text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
    )""",
    "CREATE UNIQUE INDEX api_keys_active_name ON paysql_api.api_keys (name) WHERE revoked_at IS NULL",
    """CREATE OR REPLACE FUNCTION paysql_api.key_lookup(key_hash text)
        RETURNS TABLE (keys bigint, name text, revoked boolean)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
            SELECT (SELECT count(*) FROM paysql_api.api_keys), k.name, k.revoked_at IS NOT NULL
            FROM (SELECT 1) AS one LEFT JOIN paysql_api.api_keys AS k ON k.key_hash = key_lookup.key_hash
        $$""",
    "REVOKE ALL ON FUNCTION paysql_api.key_lookup(text) FROM PUBLIC",
)


def reader_grants(role: str) -> tuple[str, ...]:
    """What ``grant-readonly`` gave a reader before (``role`` already quoted)."""
    return (
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT INSERT, SELECT ON public.query_audit_log TO {role}",
        f"GRANT SELECT, INSERT, UPDATE ON public.query_cache, public.verified_examples TO {role}",
        f"GRANT USAGE ON SCHEMA paysql_api TO {role}",
        f"GRANT EXECUTE ON FUNCTION paysql_api.key_lookup(text) TO {role}",
    )
