-- SPDX-License-Identifier: Apache-2.0
-- A stand-in for the next schema version, for the rolling-upgrade test: what
-- an additive first step does (a new column with a default, a new table),
-- recorded as CMP_SCHEMA_VERSION + 1. Undone by next_schema_undo.sql.
BEGIN;
ALTER TABLE certificate ADD COLUMN upgrade_test_note text NOT NULL DEFAULT '';
ALTER TABLE cmp_profile ADD COLUMN upgrade_test_flag boolean NOT NULL DEFAULT false;
CREATE TABLE upgrade_test_table (id bigserial PRIMARY KEY, note text NOT NULL);
INSERT INTO schema_version (version, name)
    SELECT max(version) + 1, 'next (rolling-upgrade test)' FROM schema_version;
COMMIT;
