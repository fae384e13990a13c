-- SPDX-License-Identifier: Apache-2.0
-- Migration 8: signed OCSP responses kept for reuse (RFC 6960 with the
-- caching of RFC 5019), so that a repeated question about a certificate is
-- answered by a lookup, not a signature; and revocation changes counted
-- per statement (below).
--   A response is made for a single request without a nonce, stored here
--   and sent again while it still says what the certificate's row says
--   (state: status/reason/revocation time, as the responder's lookup
--   computes it), is signed by the responder's current signer (signer:
--   'ca:<authority version>' or 'delegated:<signer stamp>') and refresh_at
--   (half of its validity) has not passed. Anything else is answered anew
--   and replaces the row.
--   UNLOGGED: a cache, made again after a crash; no foreign key, so that
--   the certificate table can be truncated (rows of deleted certificates
--   are never matched again).
-- The invalidity date a revocation may give (RFC 5280 5.3.2: when the
-- key was, or is suspected to have been, compromised, or the certificate
-- otherwise became invalid); on the CRL entry and in OCSP answers.
ALTER TABLE certificate ADD COLUMN invalidity_date timestamptz;

CREATE UNLOGGED TABLE ocsp_response (
    certificate_id bigint PRIMARY KEY,
    state          text NOT NULL,
    signer         text NOT NULL,
    this_update    timestamptz NOT NULL,
    next_update    timestamptz NOT NULL,
    refresh_at     timestamptz NOT NULL,
    der            bytea NOT NULL
);

-- The count of revocation changes (crl.changes, see migration 7) by
-- statement, not by row: the row trigger updated one crl row per revoked
-- certificate within one transaction, each update walking the versions the
-- earlier ones left, so that revoking 100,000 certificates in one statement
-- took minutes and grew with the square of their number. PostgreSQL allows
-- transition tables only without a column list: the trigger runs after
-- every UPDATE of certificate and counts what changed.
DROP TRIGGER certificate_crl_change ON certificate;
DROP FUNCTION cmp_crl_count_change();

CREATE FUNCTION cmp_crl_count_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO crl (authority_id, changes)
        SELECT n.authority_id, count(*) FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE (o.status IN ('revoked', 'rejected') OR n.status IN ('revoked', 'rejected'))
          AND (o.status, o.revocation_reason, o.revoked_at, o.invalidity_date)
              IS DISTINCT FROM (n.status, n.revocation_reason, n.revoked_at,
                                n.invalidity_date)
        GROUP BY n.authority_id
        ON CONFLICT (authority_id) DO UPDATE SET changes = crl.changes + EXCLUDED.changes;
    RETURN NULL;
END $$;

CREATE TRIGGER certificate_crl_changes AFTER UPDATE ON certificate
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cmp_crl_count_changes();
