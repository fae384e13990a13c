-- SPDX-License-Identifier: Apache-2.0
-- Migration 8: signed OCSP responses kept for reuse (RFC 6960 with the
-- caching of RFC 5019), so that a repeated question about a certificate is
-- answered by a lookup, not a signature.
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
CREATE UNLOGGED TABLE ocsp_response (
    certificate_id bigint PRIMARY KEY,
    state          text NOT NULL,
    signer         text NOT NULL,
    this_update    timestamptz NOT NULL,
    next_update    timestamptz NOT NULL,
    refresh_at     timestamptz NOT NULL,
    der            bytea NOT NULL
);
