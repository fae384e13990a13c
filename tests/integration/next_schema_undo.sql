-- SPDX-License-Identifier: Apache-2.0
-- Undoes next_schema.sql (and the test's "two ahead" row).
BEGIN;
DELETE FROM schema_version WHERE name IN ('next (rolling-upgrade test)', 'two ahead');
DROP TABLE upgrade_test_table;
ALTER TABLE cmp_profile DROP COLUMN upgrade_test_flag;
ALTER TABLE certificate DROP COLUMN upgrade_test_note;
COMMIT;
