-- SPDX-License-Identifier: BSD-2-Clause
--
-- tlspolicyd schema.  Apply as the role that owns the policy table (the
-- first time, and for every upgrade):
--     psql -v ON_ERROR_STOP=1 -f contrib/postgresql/schema.sql DBNAME
--
-- Idempotent: it is also the upgrade path, and it never drops data.
--
-- Tables, in schema public:
--   tls_policy           the overrides, each with a comment, an optional
--                        expires_at, and who made and last changed it when
--                        (created_*/updated_*, written by a trigger)
--   tls_policy_history   one row per row inserted, updated, deleted or
--                        truncated: who, when, the row before and after
--   tlspolicyd_state     one row: the generation, bumped once per writing
--                        transaction, and how far the change log reaches
--   tlspolicyd_changes   the change log: (gen, target) for every target a
--                        transaction touched; a NULL target means "reload
--                        everything" (TRUNCATE, more than 1000 targets)
-- Functions, in schema tlspolicyd (created here, and nobody else may
-- create anything in it):
--   tlspolicyd.attach(table, target_column)   puts the triggers on a table
--   tlspolicyd.allow_writer(role)             lets a role write
--   the trigger functions and the three SECURITY DEFINER helpers they use
-- NOTIFY tlspolicyd is a wake-up only: the daemon never reads a payload.
--
-- The daemon needs SELECT on the policy table, tlspolicyd_state and
-- tlspolicyd_changes, and nothing else (LISTEN needs no right).  A writer
-- needs its privileges on the policy table plus
--     SELECT tlspolicyd.allow_writer('writer_role');
-- A role that reads the history needs
--     GRANT SELECT ON public.tls_policy_history TO reader_role;
-- Nobody but this file's owner can write tlspolicyd_state,
-- tlspolicyd_changes or tls_policy_history: the triggers go through three
-- SECURITY DEFINER functions that take only text and jsonb and run no code
-- of the caller's.
--
-- The database is hostile ground (docs/architecture.md, decision 7):
-- any role that can connect may create objects wherever it has CREATE.  So:
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
-- re-run it as that role.  Checked again just before COMMIT: on
-- PostgreSQL 14 and older PUBLIC may CREATE in public, and an object made
-- while this file runs would otherwise be adopted by IF NOT EXISTS.
CREATE FUNCTION pg_temp.tlspolicyd_check_owners() RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
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
                             'tlspolicyd_changes_gen', 'tls_policy_history',
                             'tls_policy_history_target')
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
SELECT pg_temp.tlspolicyd_check_owners();

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
--
-- Overrides are temporary and documented: comment says why (a ticket, the
-- recipient's broken TLSA records), expires_at when the daemon stops
-- serving the row by itself (NULL: never; compared with the database's
-- clock, no write needed).  created_at/created_by and updated_at/
-- updated_by are written by the tlspolicyd_stamp trigger (now(),
-- current_user): whatever a writer puts there is overwritten.  They are
-- NULL on rows older than the columns.
CREATE TABLE IF NOT EXISTS public.tls_policy (
    id         bigint  GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    target     text    NOT NULL,
    policy     text    NOT NULL,
    parameters text    NOT NULL DEFAULT '',
    active     boolean NOT NULL DEFAULT true,
    comment    text,
    expires_at timestamptz,
    created_at timestamptz,
    created_by text,
    updated_at timestamptz,
    updated_by text
);

-- Upgrade: the lifecycle columns, on a table made by an older version.
-- Added without a default, so no row is rewritten.
ALTER TABLE public.tls_policy
    ADD COLUMN IF NOT EXISTS comment    text,
    ADD COLUMN IF NOT EXISTS expires_at timestamptz,
    ADD COLUMN IF NOT EXISTS created_at timestamptz,
    ADD COLUMN IF NOT EXISTS created_by text,
    ADD COLUMN IF NOT EXISTS updated_at timestamptz,
    ADD COLUMN IF NOT EXISTS updated_by text;

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
-- On an empty table (a new install) they are added valid.  On a table
-- that already holds rows they are added NOT VALID, so that the upgrade
-- never fails on a row breaking them, and then validated: a check every
-- row passes ends up valid, like on a new table (so are the checks that
-- older versions of this file always added NOT VALID).  One that an old
-- row breaks stays NOT VALID, with a warning (tlspolicyd --check names
-- the rows); it still applies to every new row version: an UPDATE of an
-- old bad row must fix it (or DELETE the row).  Run this file again once
-- they are fixed.
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
    FOR c IN SELECT conname FROM pg_catalog.pg_constraint
              WHERE conrelid = 'public.tls_policy'::pg_catalog.regclass
                AND conname IN ('tls_policy_target_length',
                                'tls_policy_level_check',
                                'tls_policy_target_pattern')
                AND NOT convalidated
              ORDER BY conname LOOP
        BEGIN
            EXECUTE pg_catalog.format('ALTER TABLE public.tls_policy '
                'VALIDATE CONSTRAINT %I', c.conname);
        EXCEPTION WHEN check_violation THEN
            RAISE WARNING 'tlspolicyd schema: rows of public.tls_policy '
                'break %, which stays NOT VALID (tlspolicyd --check names '
                'them)', c.conname;
        END;
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

-- The history: one row per row a statement inserted, updated, deleted or
-- truncated, in any table tlspolicyd.attach() was run on.
--   table_name   the table, schema-qualified
--   target       the row's target (before a DELETE or TRUNCATE, after an
--                INSERT or UPDATE: a renamed row is found under its new
--                target, its old one is in old_row)
--   operation    INSERT, UPDATE, DELETE or TRUNCATE
--   changed_by   the role that made the change (current_user, what
--                updated_by says)
--   login_role   the session's login role (session_user), recorded by
--                tlspolicyd.log_history() itself: it differs after SET ROLE
--   changed_at   the transaction's time, now()
--   old_row      the row before (NULL for INSERT), as jsonb
--   new_row      the row after (NULL for DELETE and TRUNCATE)
-- Written only by tlspolicyd.log_history() (SECURITY DEFINER); readable by
-- whoever is granted SELECT (nobody by default).  Pruning is the owner's
-- call: this file never deletes from it.
CREATE TABLE IF NOT EXISTS public.tls_policy_history (
    id         bigint      GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    target     text,
    operation  text        NOT NULL
        CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')),
    changed_by text        NOT NULL,
    changed_at timestamptz NOT NULL,
    old_row    jsonb,
    new_row    jsonb,
    login_role text        NOT NULL,
    table_name text        NOT NULL
);
CREATE INDEX IF NOT EXISTS tls_policy_history_target
    ON public.tls_policy_history (pg_catalog.lower(target), changed_at);

-- Writers and everyone else get nothing here but through the functions:
-- not from PUBLIC, and not from a grant a DBA's habits made (ALTER DEFAULT
-- PRIVILEGES ... GRANT ALL ON TABLES, GRANT ALL ON ALL TABLES IN SCHEMA).
-- A role that could write the log could hide a change from the daemon;
-- the daemon also checks this on every poll and stops trusting the log.
-- Only SELECT may be granted (to the daemon and to history readers).
REVOKE ALL ON public.tlspolicyd_state, public.tlspolicyd_changes,
    public.tls_policy_history FROM PUBLIC;
DO $$
DECLARE
    g record;
BEGIN
    FOR g IN
        SELECT DISTINCT c.oid::pg_catalog.regclass AS tbl, a.grantee
          FROM pg_catalog.pg_class c,
               pg_catalog.aclexplode(c.relacl) AS a
         WHERE c.oid IN ('public.tlspolicyd_state'::pg_catalog.regclass,
                         'public.tlspolicyd_changes'::pg_catalog.regclass,
                         'public.tls_policy_history'::pg_catalog.regclass)
           AND a.grantee <> c.relowner AND a.grantee <> 0
           AND a.privilege_type <> 'SELECT'
    LOOP
        -- TRIGGER too: a trigger on these tables would run inside the
        -- SECURITY DEFINER functions that write them, as their owner.
        EXECUTE pg_catalog.format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE, '
            'REFERENCES, TRIGGER ON %s FROM %I', g.tbl,
            pg_catalog.pg_get_userbyid(g.grantee));
    END LOOP;
END
$$;

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
    -- A wake-up only: never worth failing the writer's COMMIT.  A queue
    -- that someone fills ("too many notifications") would, so past half
    -- full the daemons' poll finds the change instead.
    IF pg_catalog.pg_notification_queue_usage() < 0.5 THEN
        PERFORM pg_catalog.pg_notify('tlspolicyd', '');
    END IF;
    RETURN st.generation;
END
$$;

-- One row of the history (see tls_policy_history above).  SECURITY
-- DEFINER: only this function writes the history.  The trigger functions
-- below turn the row into jsonb with the writer's rights (a cast of a
-- column's type to json may be anyone's code) and pass plain values; this
-- function adds the login role and the time itself.  It refuses to be
-- called other than from a trigger: a writer cannot add a row by calling
-- it, and one who builds a trigger of its own to call it still cannot hide
-- its login role.
CREATE OR REPLACE FUNCTION tlspolicyd.log_history(tbl text, op text,
        tgt text, who text, before_row jsonb, after_row jsonb)
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pg_catalog.pg_trigger_depth() < 1 THEN
        RAISE EXCEPTION 'tlspolicyd.log_history: the history is written '
            'by the tlspolicyd_history triggers only'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO public.tls_policy_history (target, operation, changed_by,
            changed_at, old_row, new_row, login_role, table_name)
        VALUES (tgt, op, who, pg_catalog.now(), before_row, after_row,
                SESSION_USER, tbl);
END
$$;

REVOKE EXECUTE ON FUNCTION tlspolicyd.take_lock(),
    tlspolicyd.log_changes(text[]),
    tlspolicyd.log_history(text, text, text, text, jsonb, jsonb) FROM PUBLIC;

-- Let a role write the policy table (it also needs the table privileges).
CREATE OR REPLACE FUNCTION tlspolicyd.allow_writer(writer regrole)
    RETURNS void LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION '
        'tlspolicyd.take_lock(), tlspolicyd.log_changes(text[]), '
        'tlspolicyd.log_history(text, text, text, text, jsonb, jsonb) '
        'TO %s', writer);
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

-- BEFORE each row inserted or updated, on tables with all four columns
-- created_at, created_by, updated_at, updated_by: who and when, whatever
-- the writer put there (an UPDATE keeps created_*).  Enabled ORIGIN (the
-- default): a logical-replication apply worker does not fire it, so a
-- subscriber keeps the publisher's stamps.
CREATE OR REPLACE FUNCTION tlspolicyd.stamp() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.created_at := pg_catalog.now();
        NEW.created_by := CURRENT_USER;
    ELSE
        NEW.created_at := OLD.created_at;
        NEW.created_by := OLD.created_by;
    END IF;
    NEW.updated_at := pg_catalog.now();
    NEW.updated_by := CURRENT_USER;
    RETURN NEW;
END
$$;

-- AFTER each row inserted, updated or deleted: the history.  TG_ARGV[0]
-- names the target column.  The rows become jsonb here, with the writer's
-- rights (SECURITY INVOKER, like every trigger function); only plain
-- values reach tlspolicyd.log_history().  Enabled ORIGIN: a subscriber's
-- apply worker does not record the publisher's changes again (publish
-- tls_policy_history too to have them there).
CREATE OR REPLACE FUNCTION tlspolicyd.history_row() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    col        text := TG_ARGV[0];
    before_row jsonb;
    after_row  jsonb;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        before_row := pg_catalog.to_jsonb(OLD);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        after_row := pg_catalog.to_jsonb(NEW);
    END IF;
    PERFORM tlspolicyd.log_history(
        pg_catalog.format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME), TG_OP,
        COALESCE(after_row, before_row) ->> col, CURRENT_USER::text,
        before_row, after_row);
    RETURN NULL;
END
$$;

-- BEFORE TRUNCATE: TRUNCATE fires no row trigger, so the rows it is about
-- to remove go to the history here, each with operation TRUNCATE.
CREATE OR REPLACE FUNCTION tlspolicyd.history_truncate() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    col text := TG_ARGV[0];
    tbl text := pg_catalog.format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME);
    r   jsonb;
BEGIN
    FOR r IN EXECUTE pg_catalog.format(
            'SELECT pg_catalog.to_jsonb(t) FROM ONLY %s t', tbl) LOOP
        PERFORM tlspolicyd.log_history(tbl, 'TRUNCATE', r ->> col,
            CURRENT_USER::text, r, NULL);
    END LOOP;
    RETURN NULL;
END
$$;

-- Attach the triggers to a policy table, e.g. an existing one with other
-- names:
--     SELECT tlspolicyd.attach('public.tls_policy_override', 'dest');
--     SELECT tlspolicyd.attach('public.tlspolicies', 'domain');
-- Re-running it replaces the triggers; it never touches rows.  The daemon
-- checks that each of the six change-log triggers is there, enabled, and
-- calls the right function on the right column; the history triggers
-- (tlspolicyd_history, tlspolicyd_history_truncate) go on every table, the
-- stamps (tlspolicyd_stamp) only on a table with all four columns
-- created_at, created_by, updated_at and updated_by.
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
            'tlspolicyd_row', 'tlspolicyd_stamp', 'tlspolicyd_history',
            'tlspolicyd_history_truncate'] LOOP
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
    -- The history and the stamps stay ORIGIN (see their functions).
    EXECUTE pg_catalog.format('CREATE TRIGGER tlspolicyd_history '
        'AFTER INSERT OR UPDATE OR DELETE ON %s '
        'FOR EACH ROW EXECUTE FUNCTION tlspolicyd.history_row(%L)',
        tbl, target_column);
    EXECUTE pg_catalog.format('CREATE TRIGGER tlspolicyd_history_truncate '
        'BEFORE TRUNCATE ON %s '
        'FOR EACH STATEMENT EXECUTE FUNCTION tlspolicyd.history_truncate(%L)',
        tbl, target_column);
    IF (SELECT pg_catalog.count(*) FROM pg_catalog.pg_attribute
        WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped
          AND attname IN ('created_at', 'created_by', 'updated_at',
                          'updated_by')) = 4 THEN
        EXECUTE pg_catalog.format('CREATE TRIGGER tlspolicyd_stamp '
            'BEFORE INSERT OR UPDATE ON %s '
            'FOR EACH ROW EXECUTE FUNCTION tlspolicyd.stamp()', tbl);
    END IF;
END
$$;

-- Upgrades.
-- - Writers allowed by an older version (EXECUTE on its lock function or
--   on tlspolicyd.log_changes) keep writing: they get what
--   tlspolicyd.allow_writer() grants now (the history function too).
-- - Tables whose triggers call the functions that lived in public are
--   re-attached (same target column); then those functions are dropped.
-- - Tables attached before the history existed are re-attached, so their
--   history is recorded too; one this role may not alter is named in a
--   warning instead (run tlspolicyd.attach() on it as its owner).
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN
        SELECT DISTINCT a.grantee::pg_catalog.regrole AS writer
          FROM pg_catalog.pg_proc p,
               LATERAL pg_catalog.aclexplode(p.proacl) a
         WHERE p.oid IN (pg_catalog.to_regprocedure('public.tlspolicyd_lock()'),
                         pg_catalog.to_regprocedure(
                             'tlspolicyd.log_changes(text[])'))
           AND a.privilege_type = 'EXECUTE' AND a.grantee <> 0
           AND a.grantee <> p.proowner
    LOOP
        PERFORM tlspolicyd.allow_writer(t.writer);
    END LOOP;
    FOR t IN
        SELECT DISTINCT tg.tgrelid::pg_catalog.regclass AS tbl,
               pg_catalog.convert_from(pg_catalog.substr(tg.tgargs, 1,
                   pg_catalog.length(tg.tgargs) - 1), 'UTF8') AS col,
               tg.tgfoid = pg_catalog.to_regprocedure(
                   'public.tlspolicyd_notify()') AS old,
               pg_catalog.pg_has_role(c.relowner, 'USAGE') AS may
          FROM pg_catalog.pg_trigger tg
          JOIN pg_catalog.pg_class c ON c.oid = tg.tgrelid
         WHERE tg.tgname = 'tlspolicyd_insert' AND tg.tgnargs = 1
           AND (tg.tgfoid = pg_catalog.to_regprocedure(
                    'public.tlspolicyd_notify()')
                OR (tg.tgfoid = 'tlspolicyd.after_statement()'::
                        pg_catalog.regprocedure
                    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger h
                                    WHERE h.tgrelid = tg.tgrelid
                                      AND h.tgname = 'tlspolicyd_history')))
    LOOP
        IF t.old OR t.may THEN
            PERFORM tlspolicyd.attach(t.tbl, t.col);
        ELSE
            RAISE WARNING 'tlspolicyd schema: % has no history trigger; '
                'run SELECT tlspolicyd.attach(%, %) as its owner',
                t.tbl, pg_catalog.quote_literal(t.tbl::text),
                pg_catalog.quote_literal(t.col);
        END IF;
    END LOOP;
    DROP FUNCTION IF EXISTS public.tlspolicyd_notify(),
        public.tlspolicyd_before(), public.tlspolicyd_bump(),
        public.tlspolicyd_lock(), public.tlspolicyd_allow_writer(regrole),
        public.tlspolicyd_attach(regclass, text);
END
$$;

SELECT tlspolicyd.attach('public.tls_policy', 'target');

SELECT pg_temp.tlspolicyd_check_owners();

COMMIT;
