-- SPDX-License-Identifier: Apache-2.0
-- Migration 13.
--
-- CA key rollover (RFC 9810 4.4, RFC 9483 4.3.2). An Authority's keys are
-- numbered: generation 0 is the key it was created with. The authority row
-- always holds the key it issues with now (key_generation); a successor
-- waits in authority_key (state 'next') until its active_from, when the
-- CRL job (or the API, for a successor due at once) promotes it in one
-- statement: the old key becomes a 'retired' row, which keeps signing the
-- CRL of the certificates it issued, and the successor moves into the
-- authority row (whose version bump tells every node).
--
-- A certificate records the generation of the key that signed it. The CRL
-- and CA certificate URLs of generation g > 0 carry the suffix "(g)", as
-- Microsoft's CAs do, so that the certificates of each key name the CRL
-- that key signs (<name>.crl, <name>(1).crl, ...); names of Authorities
-- cannot hold parentheses.
--
-- Rolling upgrade: 0.20 nodes do not know generations. Roll a key over only
-- once every node runs 0.21 (README, Upgrading).
ALTER TABLE authority ADD COLUMN key_generation integer NOT NULL DEFAULT 0
    CHECK (key_generation >= 0);
-- the link certificates of the last rollover (RFC 9810 4.4): the current
-- public key signed with the previous private key, and the previous public
-- key signed with the current one; NULL before any rollover
ALTER TABLE authority ADD COLUMN new_with_old bytea;
ALTER TABLE authority ADD COLUMN old_with_new bytea;

ALTER TABLE certificate ADD COLUMN ca_generation integer NOT NULL DEFAULT 0;

CREATE TABLE authority_key (
    authority_id  bigint NOT NULL REFERENCES authority(id) ON DELETE CASCADE,
    generation    integer NOT NULL CHECK (generation >= 0),
    state         text NOT NULL CHECK (state IN ('next', 'retired')),
    ca_cert       bytea NOT NULL,          -- DER
    ca_key_enc    bytea NOT NULL,          -- PKCS#8 DER, encrypted (cmp_secret)
    new_with_old  bytea,                   -- 'next': the links to the key it follows
    old_with_new  bytea,
    active_from   timestamptz,             -- 'next': when it takes over
    retired_at    timestamptz,             -- 'retired': when it stopped issuing
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    text NOT NULL DEFAULT '',
    -- a retired key's CRL (the current key's is in crl)
    crl_changes         bigint NOT NULL DEFAULT 0,
    crl_made_at_changes bigint NOT NULL DEFAULT -1,
    crl_number          bigint NOT NULL DEFAULT 0,
    crl_this_update     timestamptz,
    crl_next_update     timestamptz,
    crl_entries         integer,
    crl_der             bytea,
    crl_made_ms         integer,
    PRIMARY KEY (authority_id, generation),
    CHECK ((state = 'next') = (active_from IS NOT NULL)),
    CHECK ((state = 'retired') = (retired_at IS NOT NULL))
);
CREATE UNIQUE INDEX authority_key_one_next ON authority_key(authority_id)
    WHERE state = 'next';
CREATE INDEX authority_key_due ON authority_key(active_from)
    WHERE state = 'next';

-- A revocation counts against the CRL of the key that signed the
-- certificate (the count by statement of migration 8): a retired key's
-- in its authority_key row, the current key's in crl.
CREATE OR REPLACE FUNCTION cmp_crl_count_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    WITH ch AS (
        SELECT n.authority_id, n.ca_generation, count(*) AS k
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE (o.status IN ('revoked', 'rejected') OR n.status IN ('revoked', 'rejected'))
          AND (o.status, o.revocation_reason, o.revoked_at, o.invalidity_date)
              IS DISTINCT FROM (n.status, n.revocation_reason, n.revoked_at,
                                n.invalidity_date)
        GROUP BY n.authority_id, n.ca_generation),
    retired AS (
        UPDATE authority_key k SET crl_changes = k.crl_changes + ch.k FROM ch
        WHERE k.authority_id = ch.authority_id AND k.generation = ch.ca_generation
          AND k.state = 'retired'
        RETURNING k.authority_id, k.generation)
    INSERT INTO crl (authority_id, changes)
        SELECT ch.authority_id, sum(ch.k) FROM ch
        WHERE NOT EXISTS (SELECT 1 FROM retired r WHERE r.authority_id = ch.authority_id
                          AND r.generation = ch.ca_generation)
        GROUP BY ch.authority_id
        ON CONFLICT (authority_id) DO UPDATE SET changes = crl.changes + EXCLUDED.changes;
    RETURN NULL;
END $$;
