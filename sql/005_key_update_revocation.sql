-- SPDX-License-Identifier: Apache-2.0
-- Migration 5: two CMP Profile options of RFC 9483 4.1.3 and 4.2.
--   revoke_on_key_update: a certificate replaced by a confirmed kur is
--     revoked (superseded), so it serves no further request and relying
--     parties see it; true by default.
--   allow_mac_revocation: an rr may be protected with the shared secret
--     (RFC 9483 4.2 expects it signed by the certificate to revoke); false by
--     default, kept true for the profiles made before, which took it.
--   shared_secret_reference: when set, the senderKID a MAC-protected request
--     must carry (RFC 9483 3.1: it names the shared secret); NULL: any.
-- And an index for "is this certificate being replaced" (kur in progress).
ALTER TABLE cmp_profile ADD COLUMN revoke_on_key_update boolean NOT NULL DEFAULT true;
ALTER TABLE cmp_profile ADD COLUMN allow_mac_revocation boolean NOT NULL DEFAULT false;
UPDATE cmp_profile SET allow_mac_revocation = true;
ALTER TABLE cmp_profile ADD COLUMN shared_secret_reference text
    CHECK (length(shared_secret_reference) BETWEEN 1 AND 128);
CREATE INDEX certificate_replaces ON certificate(replaces_id) WHERE replaces_id IS NOT NULL;
