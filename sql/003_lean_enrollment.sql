-- SPDX-License-Identifier: Apache-2.0
-- Migration 3: an enrollment that needs no confirmation (implicitConfirm)
-- writes one row, the certificate; the transactionID it came with is unique
-- among certificates, so a replayed request is still refused. Transaction
-- rows are kept for what waits for a certConf.
CREATE UNIQUE INDEX certificate_transaction ON certificate(transaction_id)
    WHERE transaction_id IS NOT NULL;
-- A b-tree on the subject cannot serve the admin API's substring search.
DROP INDEX certificate_subject;
