-- SPDX-License-Identifier: Apache-2.0
-- Migration 9: a key update keeps the identity of the certificate it
-- updates (RFC 9483 4.1.3: the new certificate is for the same end
-- entity); and indexes for the dashboard's day ranges. A kur template without subject or subjectAltName gets the old
-- certificate's; one that asks for another subject or other names is
-- refused (badCertTemplate) unless its RA Profile allows the change here.
ALTER TABLE ra_profile ADD COLUMN allow_kur_identity_change boolean NOT NULL
    DEFAULT false;

-- GET /statistics/certificates counts certificates created and revoked per
-- day: created_at grows with the table (a BRIN index: tiny, and almost free
-- to keep up to date on insert); revoked_at is set on few rows (a partial
-- btree, touched only by a revocation).
CREATE INDEX certificate_created_brin ON certificate USING brin (created_at);
CREATE INDEX certificate_revoked_at ON certificate (revoked_at)
    WHERE revoked_at IS NOT NULL;
