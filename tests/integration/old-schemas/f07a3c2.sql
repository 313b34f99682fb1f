-- SPDX-License-Identifier: BSD-2-Clause
--
-- tlspolicyd schema.  Apply with:
--     psql -v ON_ERROR_STOP=1 -f contrib/postgresql/schema.sql DBNAME
--
-- Idempotent: it is also the upgrade path, and it never drops data.
-- Everything tlspolicyd relies on besides the policy table is prefixed
-- tlspolicyd_.  The daemon itself needs only SELECT (on the policy table
-- and tlspolicyd_state) and LISTEN.

SET client_min_messages = warning;
BEGIN;

-- The overrides.  One row per destination; target is matched
-- case-insensitively (the daemon canonicalises it), so it is unique on
-- lower(target).  1000 bytes bounds a NOTIFY payload.
CREATE TABLE IF NOT EXISTS tls_policy (
    target     text    NOT NULL,
    policy     text    NOT NULL,
    parameters text    NOT NULL DEFAULT '',
    active     boolean NOT NULL DEFAULT true,
    CONSTRAINT tls_policy_target_length
        CHECK (length(target) BETWEEN 1 AND 1000)
);

-- Unique on lower(target).  An older table may hold rows that differ only
-- in case: then the index is left out with a warning instead of failing
-- the upgrade (and the daemon answers TEMP for those keys; --check names
-- them).  Run this file again once they are merged.
DO $$
BEGIN
    IF to_regclass('tls_policy_target_key') IS NULL THEN
        IF EXISTS (SELECT 1 FROM tls_policy
                   GROUP BY lower(target) HAVING count(*) > 1) THEN
            RAISE WARNING 'tls_policy has targets that differ only in case; '
                'not creating the unique index tls_policy_target_key '
                '(see tlspolicyd --check)';
        ELSE
            CREATE UNIQUE INDEX tls_policy_target_key
                ON tls_policy (lower(target));
        END IF;
    END IF;
END
$$;

-- Two checks, added NOT VALID so that upgrading a table that already holds
-- rows breaking them never fails (tlspolicyd --check names those):
-- - the length, which tables made by an older version of this file lack;
-- - the level, one of Postfix's eight (case-insensitive), so a typo fails
--   at INSERT time with a clear error.  The full attribute grammar is
--   checked by the daemon.
-- A NOT VALID check still applies to every new row version: an UPDATE of
-- an old bad row must fix it (or DELETE the row).
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT * FROM (VALUES
        ('tls_policy_target_length',
         'CHECK (length(target) BETWEEN 1 AND 1000)'),
        ('tls_policy_level_check',
         'CHECK (lower(btrim(policy)) IN (''none'', ''may'', ''encrypt'', '
         '''dane'', ''dane-only'', ''fingerprint'', ''verify'', ''secure''))')
    ) AS v(name, def) LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_constraint
                       WHERE conname = c.name
                         AND conrelid = 'tls_policy'::regclass) THEN
            EXECUTE format('ALTER TABLE tls_policy ADD CONSTRAINT %I %s '
                           'NOT VALID', c.name, c.def);
        END IF;
    END LOOP;
END
$$;

-- The generation counter: bumped once per modifying statement, in the same
-- transaction, so its order is the commit order (the row lock serialises
-- writers).  Every NOTIFY carries the new value; the daemon polls it as a
-- backstop for notifications it never got (pgbouncer in transaction mode,
-- a dropped session, a hot standby).
CREATE TABLE IF NOT EXISTS tlspolicyd_state (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    generation bigint  NOT NULL DEFAULT 0
);
INSERT INTO tlspolicyd_state (id, generation) VALUES (true, 0)
    ON CONFLICT (id) DO NOTHING;

-- Writers of the policy table need no rights on tlspolicyd_state: two
-- SECURITY DEFINER functions, without arguments and with a pinned
-- search_path and a schema-qualified table, lock and bump the generation
-- for them.  They run no code of the caller's.  EXECUTE is not PUBLIC (a
-- role that could call tlspolicyd_lock() and keep its transaction open
-- would block every writer): grant it with tlspolicyd_allow_writer(role).
-- Built with format() so the schema this file is applied in is written
-- into their bodies.  Re-run this file as the role that first ran it.
DO $do$
BEGIN
    EXECUTE format($f$
        CREATE OR REPLACE FUNCTION %1$I.tlspolicyd_lock() RETURNS void
            LANGUAGE plpgsql SECURITY DEFINER
            SET search_path = pg_catalog, pg_temp
        AS $b$
        BEGIN
            PERFORM 1 FROM %1$I.tlspolicyd_state FOR UPDATE;
        END
        $b$$f$, current_schema());
    EXECUTE format($f$
        CREATE OR REPLACE FUNCTION %1$I.tlspolicyd_bump() RETURNS bigint
            LANGUAGE plpgsql SECURITY DEFINER
            SET search_path = pg_catalog, pg_temp
        AS $b$
        DECLARE
            gen bigint;
        BEGIN
            UPDATE %1$I.tlspolicyd_state SET generation = generation + 1
                RETURNING generation INTO gen;
            IF NOT FOUND THEN
                INSERT INTO %1$I.tlspolicyd_state (id, generation)
                    VALUES (true, 1) RETURNING generation INTO gen;
            END IF;
            RETURN gen;
        END
        $b$$f$, current_schema());
    EXECUTE format('REVOKE EXECUTE ON FUNCTION %1$I.tlspolicyd_lock(), '
                   '%1$I.tlspolicyd_bump() FROM PUBLIC', current_schema());
END
$do$;

-- Let a role write the policy table (it also needs the table privileges).
CREATE OR REPLACE FUNCTION tlspolicyd_allow_writer(writer regrole)
    RETURNS void LANGUAGE plpgsql SET search_path FROM CURRENT
AS $$
BEGIN
    EXECUTE format('GRANT EXECUTE ON FUNCTION tlspolicyd_lock(), '
                   'tlspolicyd_bump() TO %s', writer);
END
$$;
REVOKE EXECUTE ON FUNCTION tlspolicyd_allow_writer(regrole) FROM PUBLIC;

-- BEFORE each modifying statement: take the generation row first.  Taking
-- it only in the AFTER trigger, behind the rows the statement locked, made
-- two concurrent writers deadlock.  Writers are serialised on it until
-- commit, which is also what keeps generations in commit order.
-- Writers should use READ COMMITTED (the default): at REPEATABLE READ or
-- SERIALIZABLE, another writer's commit makes this lock fail with a
-- serialization error (40001), to be retried like any other.  A writer
-- that locks policy rows itself (SELECT ... FOR UPDATE) before modifying
-- them should call tlspolicyd_lock() first, or retry deadlocks (40P01).
CREATE OR REPLACE FUNCTION tlspolicyd_before() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT
AS $$
BEGIN
    PERFORM tlspolicyd_lock();
    RETURN NULL;
END
$$;

-- AFTER each modifying statement, with transition tables: one generation
-- bump and one NOTIFY per distinct target touched, whatever the number of
-- rows.  Payload "<generation> <target>"; a bare "<generation>" asks for a
-- full reload (TRUNCATE, or more targets than are worth naming one by one).
-- TG_ARGV[0] names the target column, so the same function serves tables
-- with other names (see tlspolicyd_attach below).  SECURITY INVOKER: the
-- cast of the target column runs with the writer's rights.
CREATE OR REPLACE FUNCTION tlspolicyd_notify() RETURNS trigger
    LANGUAGE plpgsql SET search_path FROM CURRENT
AS $$
DECLARE
    col     text := coalesce(TG_ARGV[0], 'target');
    sel     text;
    targets text[];
    gen     bigint;
    t       text;
BEGIN
    IF TG_OP <> 'TRUNCATE' THEN
        IF TG_OP = 'INSERT' THEN
            sel := format('SELECT %I::text FROM tlspolicyd_new', col);
        ELSIF TG_OP = 'DELETE' THEN
            sel := format('SELECT %I::text FROM tlspolicyd_old', col);
        ELSE
            sel := format('SELECT %I::text FROM tlspolicyd_old UNION '
                          'SELECT %I::text FROM tlspolicyd_new', col, col);
        END IF;
        EXECUTE format('SELECT array_agg(DISTINCT t) FROM (%s) AS s(t) '
                       'WHERE t IS NOT NULL', sel) INTO targets;
        IF targets IS NULL THEN
            RETURN NULL;        -- no row touched: nothing changed
        END IF;
    END IF;

    gen := tlspolicyd_bump();
    IF TG_OP = 'TRUNCATE' OR cardinality(targets) > 1000 THEN
        PERFORM pg_notify('tlspolicyd', gen::text);
        RETURN NULL;
    END IF;
    FOREACH t IN ARRAY targets LOOP
        IF length(t) > 1000 THEN
            PERFORM pg_notify('tlspolicyd', gen::text);   -- cannot be named
        ELSE
            PERFORM pg_notify('tlspolicyd', gen::text || ' ' || t);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

-- Attach the notify triggers to a policy table, e.g. an existing one with
-- other names:
--     SELECT tlspolicyd_attach('tls_policy_override', 'dest');
--     SELECT tlspolicyd_attach('tlspolicies', 'domain');
-- Re-running it replaces the triggers; it never touches rows.
CREATE OR REPLACE FUNCTION tlspolicyd_attach(tbl regclass,
                                             target_column text DEFAULT 'target')
    RETURNS void LANGUAGE plpgsql
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_attribute
                   WHERE attrelid = tbl AND attname = target_column
                     AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'tlspolicyd_attach: % has no column %',
            tbl, quote_ident(target_column);
    END IF;
    EXECUTE format('DROP TRIGGER IF EXISTS tlspolicyd_before ON %s', tbl);
    EXECUTE format('DROP TRIGGER IF EXISTS tlspolicyd_insert ON %s', tbl);
    EXECUTE format('DROP TRIGGER IF EXISTS tlspolicyd_update ON %s', tbl);
    EXECUTE format('DROP TRIGGER IF EXISTS tlspolicyd_delete ON %s', tbl);
    EXECUTE format('DROP TRIGGER IF EXISTS tlspolicyd_truncate ON %s', tbl);
    EXECUTE format('CREATE TRIGGER tlspolicyd_before '
                   'BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION tlspolicyd_before()',
                   tbl);
    EXECUTE format('CREATE TRIGGER tlspolicyd_insert AFTER INSERT ON %s '
                   'REFERENCING NEW TABLE AS tlspolicyd_new '
                   'FOR EACH STATEMENT EXECUTE FUNCTION tlspolicyd_notify(%L)',
                   tbl, target_column);
    EXECUTE format('CREATE TRIGGER tlspolicyd_update AFTER UPDATE ON %s '
                   'REFERENCING OLD TABLE AS tlspolicyd_old NEW TABLE AS tlspolicyd_new '
                   'FOR EACH STATEMENT EXECUTE FUNCTION tlspolicyd_notify(%L)',
                   tbl, target_column);
    EXECUTE format('CREATE TRIGGER tlspolicyd_delete AFTER DELETE ON %s '
                   'REFERENCING OLD TABLE AS tlspolicyd_old '
                   'FOR EACH STATEMENT EXECUTE FUNCTION tlspolicyd_notify(%L)',
                   tbl, target_column);
    EXECUTE format('CREATE TRIGGER tlspolicyd_truncate AFTER TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION tlspolicyd_notify(%L)',
                   tbl, target_column);
    -- Fire in replica mode too: a logical replication subscriber applies
    -- changes with session_replication_role = replica, and a daemon
    -- reading the subscriber must still hear of them.
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER tlspolicyd_before, '
                   'ENABLE ALWAYS TRIGGER tlspolicyd_insert, '
                   'ENABLE ALWAYS TRIGGER tlspolicyd_update, '
                   'ENABLE ALWAYS TRIGGER tlspolicyd_delete, '
                   'ENABLE ALWAYS TRIGGER tlspolicyd_truncate', tbl);
END
$$;

SELECT tlspolicyd_attach('tls_policy', 'target');

COMMIT;
