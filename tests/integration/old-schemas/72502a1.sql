-- SPDX-License-Identifier: BSD-2-Clause
--
-- tlspolicyd schema.  Apply as the role that owns the policy table (the
-- first time, and for every upgrade):
--     psql -v ON_ERROR_STOP=1 -f contrib/postgresql/schema.sql DBNAME
--
-- Idempotent: it is also the upgrade path, and it never drops data.
--
-- Tables, in schema public:
--   tls_policy           the overrides
--   tlspolicyd_state     one row: the generation, bumped once per writing
--                        transaction, and how far the change log reaches
--   tlspolicyd_changes   the change log: (gen, target) for every target a
--                        transaction touched; a NULL target means "reload
--                        everything" (TRUNCATE, more than 1000 targets)
-- Functions, in schema tlspolicyd (created here, and nobody else may
-- create anything in it):
--   tlspolicyd.attach(table, target_column)   puts the triggers on a table
--   tlspolicyd.allow_writer(role)             lets a role write
--   the trigger functions and the two SECURITY DEFINER helpers they use
-- NOTIFY tlspolicyd is a wake-up only: the daemon never reads a payload.
--
-- The daemon needs SELECT on the policy table, tlspolicyd_state and
-- tlspolicyd_changes, and nothing else (LISTEN needs no right).  A writer
-- needs its privileges on the policy table plus
--     SELECT tlspolicyd.allow_writer('writer_role');
-- Nobody but this file's owner can write tlspolicyd_state or
-- tlspolicyd_changes: the triggers go through two SECURITY DEFINER
-- functions that take only text and run no code of the caller's.
--
-- The database is hostile ground (DESIGN.md decision 7): any role that
-- can connect may create objects wherever it has CREATE.  So:
-- - every function here runs with SET search_path = pg_catalog, pg_temp
--   and names every table and function with its schema; with that path,
--   operators resolve in pg_catalog only (pg_temp is never searched for
--   functions or operators), so they are written plainly;
-- - the functions live in their own schema: in public, a role with CREATE
--   there could add an overload that makes a call ambiguous (every edit
--   fails) or that wins over ours when an administrator types the call
--   with untyped literals (its code runs as the administrator);
-- - this file refuses to adopt an object of its own names that another
--   role made first: it would otherwise replace the body and leave the
--   other role the owner, or attach triggers to that role's table.

SET client_min_messages = warning;
SET search_path = pg_catalog, pg_temp;
BEGIN;

-- Refuse what another role made first under our names (see above).  A
-- table or function of ours is owned by whoever first applied this file;
-- re-run it as that role.
DO $$
DECLARE
    o record;
BEGIN
    FOR o IN
        SELECT 'schema tlspolicyd' AS what, n.nspowner AS owner
          FROM pg_catalog.pg_namespace n WHERE n.nspname = 'tlspolicyd'
        UNION ALL
        SELECT 'table public.' || c.relname, c.relowner
          FROM pg_catalog.pg_class c
         WHERE c.relnamespace = 'public'::pg_catalog.regnamespace
           AND c.relname IN ('tls_policy', 'tlspolicyd_state',
                             'tlspolicyd_changes', 'tls_policy_target_key',
                             'tlspolicyd_changes_gen')
        UNION ALL
        SELECT 'function ' || p.oid::pg_catalog.regprocedure::text, p.proowner
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = 'public'::pg_catalog.regnamespace
           AND p.proname LIKE 'tlspolicyd\_%'
        UNION ALL
        SELECT 'function ' || p.oid::pg_catalog.regprocedure::text, p.proowner
          FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n
            ON n.oid = p.pronamespace
         WHERE n.nspname = 'tlspolicyd'
    LOOP
        IF o.owner <> (SELECT oid FROM pg_catalog.pg_roles
                       WHERE rolname = CURRENT_USER) THEN
            RAISE EXCEPTION 'tlspolicyd schema: % belongs to role %, not to %',
                o.what, pg_catalog.pg_get_userbyid(o.owner), CURRENT_USER
                USING HINT = 'Apply this file as the role that owns the '
                    'tlspolicyd objects; if you did not make that object, '
                    'find out who did before you drop it.';
        END IF;
    END LOOP;
END
$$;

CREATE SCHEMA IF NOT EXISTS tlspolicyd;
REVOKE ALL ON SCHEMA tlspolicyd FROM PUBLIC;
-- USAGE only: a writer's triggers call the functions (EXECUTE is granted
-- per function); nobody but the owner may CREATE here.
GRANT USAGE ON SCHEMA tlspolicyd TO PUBLIC;

-- Refuses the wildcard habit with a message that says what to write:
-- "*.example.com" never matches in Postfix, ".example.com" does.  Used by
-- a CHECK constraint, so it must be immutable and raise, not return false.
CREATE OR REPLACE FUNCTION tlspolicyd.target_ok(target text)
    RETURNS boolean LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pg_catalog.left(target, 2) = '*.' THEN
        RAISE EXCEPTION 'target "%" never matches: Postfix has no "*." '
            'patterns; write "%" for every host below %', target,
            pg_catalog.substr(target, 2), pg_catalog.substr(target, 3)
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN true;
END
$$;

-- The overrides.  One row per destination; target is matched
-- case-insensitively (the daemon canonicalises it), so it is unique on
-- lower(target).  id is the primary key logical replication needs to
-- publish UPDATE and DELETE.
CREATE TABLE IF NOT EXISTS public.tls_policy (
    id         bigint  GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    target     text    NOT NULL,
    policy     text    NOT NULL,
    parameters text    NOT NULL DEFAULT '',
    active     boolean NOT NULL DEFAULT true
);

-- Upgrade: tables made by an older version of this file have no id.
-- Adding the identity column numbers the existing rows; a table that
-- already has some other primary key keeps it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
                   WHERE attrelid = 'public.tls_policy'::pg_catalog.regclass
                     AND attname = 'id' AND NOT attisdropped) THEN
        ALTER TABLE public.tls_policy
            ADD COLUMN id bigint GENERATED BY DEFAULT AS IDENTITY;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint
                   WHERE conrelid = 'public.tls_policy'::pg_catalog.regclass
                     AND contype = 'p') THEN
        ALTER TABLE public.tls_policy ADD PRIMARY KEY (id);
    END IF;
END
$$;

-- Unique on lower(target).  An older table may hold rows that differ only
-- in case: then the index is left out with a warning instead of failing
-- the upgrade (and the daemon answers TEMP for those keys; --check names
-- them).  Run this file again once they are merged.
DO $$
BEGIN
    IF pg_catalog.to_regclass('public.tls_policy_target_key') IS NULL THEN
        IF EXISTS (SELECT 1 FROM public.tls_policy
                   GROUP BY pg_catalog.lower(target)
                   HAVING pg_catalog.count(*) > 1) THEN
            RAISE WARNING 'tls_policy has targets that differ only in case; '
                'not creating the unique index tls_policy_target_key '
                '(see tlspolicyd --check)';
        ELSE
            CREATE UNIQUE INDEX tls_policy_target_key
                ON public.tls_policy (pg_catalog.lower(target));
        END IF;
    END IF;
END
$$;

-- Three checks:
-- - the length: longer targets can never match a key;
-- - the level, one of Postfix's eight (case-insensitive), so a typo fails
--   at INSERT time with a clear error.  The full attribute grammar is
--   checked by the daemon;
-- - no "*." wildcard (see tlspolicyd.target_ok).
-- On a table that already holds rows they are added NOT VALID, so that the
-- upgrade never fails on a row breaking them (tlspolicyd --check names
-- those); a NOT VALID check still applies to every new row version: an
-- UPDATE of an old bad row must fix it (or DELETE the row).  On an empty
-- table they are added valid.
DO $$
DECLARE
    c record;
    later text := '';
BEGIN
    IF EXISTS (SELECT 1 FROM public.tls_policy) THEN
        later := ' NOT VALID';
    END IF;
    FOR c IN SELECT * FROM (VALUES
        ('tls_policy_target_length',
         'CHECK (pg_catalog.length(target) BETWEEN 1 AND 1000)'),
        ('tls_policy_level_check',
         'CHECK (pg_catalog.lower(pg_catalog.btrim(policy)) IN (''none'', '
         '''may'', ''encrypt'', ''dane'', ''dane-only'', ''fingerprint'', '
         '''verify'', ''secure''))'),
        ('tls_policy_target_pattern',
         'CHECK (tlspolicyd.target_ok(target))')
    ) AS v(name, def) LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint
                       WHERE conname = c.name
                         AND conrelid = 'public.tls_policy'::pg_catalog.regclass)
        THEN
            EXECUTE pg_catalog.format('ALTER TABLE public.tls_policy '
                'ADD CONSTRAINT %I %s%s', c.name, c.def, later);
        END IF;
    END LOOP;
END
$$;

-- The generation and the change log.
--
-- generation   bumped once per writing transaction (the first trigger call
--              of the transaction; xact remembers which one that was), under
--              the row lock, so generations follow commit order: a reader
--              that sees generation G has every change up to G committed.
-- pruned_to    the log holds every change of every generation above this;
--              older ones may be gone.  A daemon that applied less must
--              reload in full.
-- xact_targets targets logged by the current transaction, or -1 once it
--              logged "everything" (a NULL target): bounds the log to at
--              most 1001 rows per generation.
CREATE TABLE IF NOT EXISTS public.tlspolicyd_state (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    generation bigint  NOT NULL DEFAULT 0
);
ALTER TABLE public.tlspolicyd_state
    ADD COLUMN IF NOT EXISTS pruned_to    bigint  NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS xact         xid8,
    ADD COLUMN IF NOT EXISTS xact_targets integer NOT NULL DEFAULT 0;
INSERT INTO public.tlspolicyd_state (id, generation) VALUES (true, 0)
    ON CONFLICT (id) DO NOTHING;

DO $$
BEGIN
    IF pg_catalog.to_regclass('public.tlspolicyd_changes') IS NULL THEN
        CREATE TABLE public.tlspolicyd_changes (
            gen    bigint NOT NULL,
            target text
        );
        CREATE INDEX tlspolicyd_changes_gen
            ON public.tlspolicyd_changes (gen);
        -- an upgrade: nothing before this generation was logged
        UPDATE public.tlspolicyd_state SET pruned_to = generation;
    END IF;
END
$$;

-- Writers and everyone else get nothing here but through the functions.
REVOKE ALL ON public.tlspolicyd_state, public.tlspolicyd_changes FROM PUBLIC;

-- Take the generation row: writers serialise on it until commit.  Called
-- BEFORE each modifying statement, ahead of any row lock the statement
-- takes: taking it only after, behind the rows the statement locked, made
-- two concurrent writers deadlock.
CREATE OR REPLACE FUNCTION tlspolicyd.take_lock() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM 1 FROM public.tlspolicyd_state FOR UPDATE;
END
$$;

-- Log changed targets (NULL: everything) under this transaction's
-- generation, prune what is 10000 generations old, wake the daemons.
-- SECURITY DEFINER: only this function writes the state and the log.  It
-- takes plain text and calls nothing of the caller's.
CREATE OR REPLACE FUNCTION tlspolicyd.log_changes(targets text[])
    RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    keep constant bigint := 10000;     -- generations kept in the log
    most constant integer := 1000;     -- targets per generation, then NULL
    me   xid8 := pg_catalog.pg_current_xact_id();
    st   public.tlspolicyd_state;
    n    integer;
BEGIN
    SELECT * INTO st FROM public.tlspolicyd_state FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO public.tlspolicyd_state (id, generation) VALUES (true, 0)
            RETURNING * INTO st;
    END IF;
    IF st.xact IS NOT DISTINCT FROM me AND st.xact_targets < 0 THEN
        RETURN st.generation;       -- already "reload everything"
    END IF;
    IF st.xact IS DISTINCT FROM me THEN
        st.generation := st.generation + 1;
        st.xact := me;
        st.xact_targets := 0;
        IF st.generation - keep > st.pruned_to THEN
            DELETE FROM public.tlspolicyd_changes
                WHERE gen <= st.generation - keep;
            st.pruned_to := st.generation - keep;
        END IF;
    END IF;
    n := pg_catalog.cardinality(targets);
    IF targets IS NULL OR st.xact_targets + n > most THEN
        INSERT INTO public.tlspolicyd_changes (gen, target)
            VALUES (st.generation, NULL);
        st.xact_targets := -1;
    ELSE
        INSERT INTO public.tlspolicyd_changes (gen, target)
            SELECT DISTINCT st.generation, t
            FROM pg_catalog.unnest(targets) AS u(t) WHERE t IS NOT NULL;
        st.xact_targets := st.xact_targets + n;
    END IF;
    UPDATE public.tlspolicyd_state
        SET generation = st.generation, pruned_to = st.pruned_to,
            xact = st.xact, xact_targets = st.xact_targets;
    PERFORM pg_catalog.pg_notify('tlspolicyd', '');
    RETURN st.generation;
END
$$;

REVOKE EXECUTE ON FUNCTION tlspolicyd.take_lock(),
    tlspolicyd.log_changes(text[]) FROM PUBLIC;

-- Let a role write the policy table (it also needs the table privileges).
CREATE OR REPLACE FUNCTION tlspolicyd.allow_writer(writer regrole)
    RETURNS void LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION '
        'tlspolicyd.take_lock(), tlspolicyd.log_changes(text[]) TO %s',
        writer);
END
$$;
REVOKE EXECUTE ON FUNCTION tlspolicyd.allow_writer(regrole) FROM PUBLIC;

-- The trigger functions run with the writer's rights (SECURITY INVOKER):
-- reading the target column may run a cast or an output function of the
-- table's column type, which must never run as this file's owner.
--
-- BEFORE each modifying statement: the generation row first.
-- Writers should use READ COMMITTED (the default): at REPEATABLE READ or
-- SERIALIZABLE, another writer's commit makes this lock fail with a
-- serialization error (40001), to be retried like any other.  A writer
-- that locks policy rows itself (SELECT ... FOR UPDATE) before modifying
-- them should call tlspolicyd.take_lock() first, or retry deadlocks
-- (40P01).
CREATE OR REPLACE FUNCTION tlspolicyd.before_statement() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM tlspolicyd.take_lock();
    RETURN NULL;
END
$$;

-- AFTER each modifying statement, with transition tables: the distinct
-- targets touched go to the log in one call, whatever the number of rows.
-- TG_ARGV[0] names the target column, so the same function serves tables
-- with other names (see tlspolicyd.attach below).
CREATE OR REPLACE FUNCTION tlspolicyd.after_statement() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    col     text := TG_ARGV[0];
    sel     text;
    targets text[];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM tlspolicyd.log_changes(NULL);
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        sel := pg_catalog.format('SELECT %I::pg_catalog.text '
                                 'FROM tlspolicyd_new', col);
    ELSIF TG_OP = 'DELETE' THEN
        sel := pg_catalog.format('SELECT %I::pg_catalog.text '
                                 'FROM tlspolicyd_old', col);
    ELSE
        sel := pg_catalog.format('SELECT %I::pg_catalog.text '
                                 'FROM tlspolicyd_old UNION '
                                 'SELECT %I::pg_catalog.text '
                                 'FROM tlspolicyd_new', col, col);
    END IF;
    EXECUTE pg_catalog.format('SELECT pg_catalog.array_agg(DISTINCT t) '
        'FROM (%s) AS s(t) WHERE t IS NOT NULL', sel) INTO targets;
    IF targets IS NOT NULL THEN        -- no row touched: nothing changed
        PERFORM tlspolicyd.log_changes(targets);
    END IF;
    RETURN NULL;
END
$$;

-- AFTER each row, enabled REPLICA: a logical-replication apply worker
-- fires row triggers only (never the statement triggers above), with
-- session_replication_role = replica.
CREATE OR REPLACE FUNCTION tlspolicyd.after_row() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    col     text := TG_ARGV[0];
    targets text[] := '{}';
BEGIN
    IF TG_OP <> 'INSERT' THEN
        targets := targets || (pg_catalog.to_jsonb(OLD) ->> col);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        targets := targets || (pg_catalog.to_jsonb(NEW) ->> col);
    END IF;
    PERFORM tlspolicyd.log_changes(targets);
    RETURN NULL;
END
$$;

-- Attach the triggers to a policy table, e.g. an existing one with other
-- names:
--     SELECT tlspolicyd.attach('public.tls_policy_override', 'dest');
--     SELECT tlspolicyd.attach('public.tlspolicies', 'domain');
-- Re-running it replaces the triggers; it never touches rows.  The daemon
-- checks that each of them is there, enabled, and calls the right function
-- on the right column.
CREATE OR REPLACE FUNCTION tlspolicyd.attach(tbl regclass,
                                             target_column text DEFAULT 'target')
    RETURNS void LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    SET client_min_messages = warning
AS $$
DECLARE
    trg text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
                   WHERE attrelid = tbl AND attname = target_column
                     AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'tlspolicyd.attach: % has no column %',
            tbl, pg_catalog.quote_ident(target_column);
    END IF;
    FOREACH trg IN ARRAY ARRAY['tlspolicyd_before', 'tlspolicyd_insert',
            'tlspolicyd_update', 'tlspolicyd_delete', 'tlspolicyd_truncate',
            'tlspolicyd_row'] LOOP
        EXECUTE pg_catalog.format('DROP TRIGGER IF EXISTS %I ON %s', trg, tbl);
    END LOOP;
    EXECUTE pg_catalog.format('CREATE TRIGGER tlspolicyd_before '
        'BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s FOR EACH '
        'STATEMENT EXECUTE FUNCTION tlspolicyd.before_statement()', tbl);
    EXECUTE pg_catalog.format('CREATE TRIGGER tlspolicyd_insert '
        'AFTER INSERT ON %s REFERENCING NEW TABLE AS tlspolicyd_new '
        'FOR EACH STATEMENT EXECUTE FUNCTION tlspolicyd.after_statement(%L)',
        tbl, target_column);
    EXECUTE pg_catalog.format('CREATE TRIGGER tlspolicyd_update '
        'AFTER UPDATE ON %s '
        'REFERENCING OLD TABLE AS tlspolicyd_old NEW TABLE AS tlspolicyd_new '
        'FOR EACH STATEMENT EXECUTE FUNCTION tlspolicyd.after_statement(%L)',
        tbl, target_column);
    EXECUTE pg_catalog.format('CREATE TRIGGER tlspolicyd_delete '
        'AFTER DELETE ON %s REFERENCING OLD TABLE AS tlspolicyd_old '
        'FOR EACH STATEMENT EXECUTE FUNCTION tlspolicyd.after_statement(%L)',
        tbl, target_column);
    EXECUTE pg_catalog.format('CREATE TRIGGER tlspolicyd_truncate '
        'AFTER TRUNCATE ON %s '
        'FOR EACH STATEMENT EXECUTE FUNCTION tlspolicyd.after_statement(%L)',
        tbl, target_column);
    EXECUTE pg_catalog.format('CREATE TRIGGER tlspolicyd_row '
        'AFTER INSERT OR UPDATE OR DELETE ON %s '
        'FOR EACH ROW EXECUTE FUNCTION tlspolicyd.after_row(%L)',
        tbl, target_column);
    -- The statement triggers fire in every session, replica mode included
    -- (a subscriber's initial copy, a session that sets
    -- session_replication_role itself); the row trigger only in replica
    -- mode, where an apply worker never fires statement triggers.
    EXECUTE pg_catalog.format('ALTER TABLE %s '
        'ENABLE ALWAYS TRIGGER tlspolicyd_before, '
        'ENABLE ALWAYS TRIGGER tlspolicyd_insert, '
        'ENABLE ALWAYS TRIGGER tlspolicyd_update, '
        'ENABLE ALWAYS TRIGGER tlspolicyd_delete, '
        'ENABLE ALWAYS TRIGGER tlspolicyd_truncate, '
        'ENABLE REPLICA TRIGGER tlspolicyd_row', tbl);
END
$$;

-- Upgrade from the versions whose functions lived in public: re-attach
-- every table that used them (same target column), then drop them.
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN
        SELECT DISTINCT tg.tgrelid::pg_catalog.regclass AS tbl,
               pg_catalog.convert_from(pg_catalog.substr(tg.tgargs, 1,
                   pg_catalog.length(tg.tgargs) - 1), 'UTF8') AS col
          FROM pg_catalog.pg_trigger tg
         WHERE tg.tgname = 'tlspolicyd_insert' AND tg.tgnargs = 1
           AND tg.tgfoid = pg_catalog.to_regprocedure(
               'public.tlspolicyd_notify()')
    LOOP
        PERFORM tlspolicyd.attach(t.tbl, t.col);
    END LOOP;
    DROP FUNCTION IF EXISTS public.tlspolicyd_notify(),
        public.tlspolicyd_before(), public.tlspolicyd_bump(),
        public.tlspolicyd_lock(), public.tlspolicyd_allow_writer(regrole),
        public.tlspolicyd_attach(regclass, text);
END
$$;

SELECT tlspolicyd.attach('public.tls_policy', 'target');

COMMIT;
