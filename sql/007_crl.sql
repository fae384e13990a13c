-- SPDX-License-Identifier: Apache-2.0
-- Migration 7: a CRL per local Authority (RFC 5280 5), made by mod_cmp's
-- background job and served by every node from here.
--   authority.crl_validity_s: from thisUpdate to nextUpdate; a CRL is made
--     again when half of it has passed, and after every revocation.
--   crl: the Authority's current CRL (der NULL until the first is made);
--     changes counts the revocations (and rejections, holds and their
--     releases) of its certificates, made_at_changes what the current CRL
--     includes: a CRL is due when they differ. A trigger counts, so every
--     path that revokes (CMP rr, kur supersession, certConf rejection, the
--     confirmation sweep, the admin API) is seen.
--   authority.public_url: where the cmp-crl handler serves the Authority's
--     CRL and certificate (<public_url>/<name>.crl, .crt); certificates
--     issued while it is set name them (crlDistributionPoints, caIssuers).
ALTER TABLE authority ADD COLUMN crl_validity_s integer NOT NULL DEFAULT 86400
    CHECK (crl_validity_s BETWEEN 300 AND 31622400);
ALTER TABLE authority ADD COLUMN public_url text CHECK (length(public_url) <= 400);
--   authority.ocsp_url: where the cmp-ocsp handler answers for it
--     (<ocsp_url>/<name>); certificates issued while it is set name it
--     (authorityInfoAccess OCSP).
ALTER TABLE authority ADD COLUMN ocsp_url text CHECK (length(ocsp_url) <= 400);

CREATE TABLE crl (
    authority_id    bigint PRIMARY KEY REFERENCES authority(id) ON DELETE CASCADE,
    changes         bigint NOT NULL DEFAULT 0,
    made_at_changes bigint NOT NULL DEFAULT -1,
    crl_number      bigint NOT NULL DEFAULT 0,
    this_update     timestamptz,
    next_update     timestamptz,
    entries         integer,
    der             bytea,
    made_ms         integer          -- how long the last one took to make
);

-- A delegated OCSP signer per Authority (RFC 6960 4.2.2.2), issued by it
-- through the API; absent: the Authority signs its OCSP responses itself.
CREATE TABLE ocsp_signer (
    authority_id bigint PRIMARY KEY REFERENCES authority(id) ON DELETE CASCADE,
    cert         bytea NOT NULL,           -- DER
    key_enc      bytea NOT NULL,           -- PKCS#8 DER, encrypted (cmp_secret)
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE FUNCTION cmp_crl_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO crl (authority_id, changes) VALUES (NEW.authority_id, 1)
        ON CONFLICT (authority_id) DO UPDATE SET changes = crl.changes + 1;
    RETURN NULL;
END $$;

CREATE TRIGGER certificate_crl_change AFTER UPDATE OF status, revocation_reason,
    revoked_at ON certificate FOR EACH ROW
    WHEN ((OLD.status IN ('revoked', 'rejected') OR NEW.status IN ('revoked', 'rejected'))
          AND (OLD.status, OLD.revocation_reason, OLD.revoked_at)
              IS DISTINCT FROM (NEW.status, NEW.revocation_reason, NEW.revoked_at))
    EXECUTE FUNCTION cmp_crl_count_change();

CREATE INDEX certificate_revoked ON certificate(authority_id)
    WHERE status IN ('revoked', 'rejected');
