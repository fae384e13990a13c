-- SPDX-License-Identifier: Apache-2.0
-- Migration 6: keys in canonical form, answers to resent requests.
--   ra_profile.allowed_ec_curves: the named curves an EC key may be on
--     (NIST or OpenSSL names); binary curves only when listed.
--   certificate.request_hash: SHA-256 of the request (the whole PKIMessage)
--     that got the certificate, so that the same request resent after a lost
--     answer gets that certificate again (RFC 6712 3.1) and a different one
--     reusing the transactionID is refused.
--   cmp_transaction.response_der: the answer of a transaction that waits for
--     its certConf, sent again as it was to the same request resent;
--     cmp_transaction.conf_hash: SHA-256 of the certConf that closed it, so
--     that the same certConf resent gets its pkiConf. request_der is kept
--     until the transaction's expiry for that (the sweep clears it).
ALTER TABLE ra_profile ADD COLUMN allowed_ec_curves text[] NOT NULL
    DEFAULT '{P-256,P-384,P-521,brainpoolP256r1,brainpoolP384r1,brainpoolP512r1}';
ALTER TABLE certificate ADD COLUMN request_hash bytea;
ALTER TABLE cmp_transaction ADD COLUMN response_der bytea;
ALTER TABLE cmp_transaction ADD COLUMN conf_hash bytea;
CREATE INDEX cmp_transaction_kept ON cmp_transaction(expires_at)
    WHERE request_der IS NOT NULL AND state <> 'waiting_conf';
