-- SPDX-License-Identifier: Apache-2.0
-- Migration 11.
--
-- A CMP Profile's shared secret is changed with an overlap. The secret
-- replaced is kept (encrypted as the current one is) and still verifies
-- MAC-protected requests until previous_secret_until, so devices can be
-- moved to the new secret one by one; the responses to a request that used
-- it are MAC-protected with it. NULL: no previous secret.
ALTER TABLE cmp_profile
    ADD COLUMN previous_secret_enc bytea,
    ADD COLUMN previous_secret_until timestamptz,
    ADD CONSTRAINT cmp_profile_previous_secret_check
        CHECK ((previous_secret_enc IS NULL) = (previous_secret_until IS NULL));

-- Audit events name what they are about (object_name, written with the
-- event, so that it stays after the object is gone), and those of a
-- certificate (its enrollment, confirmation, supersession, revocation, by
-- CMP or by an administrator) point at it: its history.
ALTER TABLE audit_event
    ADD COLUMN object_name text NOT NULL DEFAULT '',
    ADD COLUMN certificate_id bigint;
CREATE INDEX audit_event_certificate ON audit_event(certificate_id)
    WHERE certificate_id IS NOT NULL;
