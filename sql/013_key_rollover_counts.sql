-- SPDX-License-Identifier: Apache-2.0
-- Migration 13: CA key rollover; the dashboard's certificate counts; central
-- key generation (both below).
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

-- What an UPDATE of certificates changed, counted once per statement (the
-- transition tables of migration 8): a revocation counts against the CRL
-- of the key that signed the certificate (a retired key's in its
-- authority_key row, the current key's in crl); and the dashboard's counts
-- (certificate_count, below) follow changes of status and dates.
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
    INSERT INTO certificate_count_delta (kind, day, status, n)
        SELECT kind, day, status, sum(k) FROM (
            SELECT 'c' AS kind, (x.created_at AT TIME ZONE 'UTC')::date AS day,
                   x.status, x.k
            FROM (SELECT n.created_at, n.status, 1 AS k FROM new_rows n
                  JOIN old_rows o ON o.id = n.id
                  WHERE (o.status, o.created_at) IS DISTINCT FROM (n.status, n.created_at)
                  UNION ALL
                  SELECT o.created_at, o.status, -1 FROM new_rows n
                  JOIN old_rows o ON o.id = n.id
                  WHERE (o.status, o.created_at) IS DISTINCT FROM (n.status, n.created_at)) x
            UNION ALL
            SELECT 'r', (y.revoked_at AT TIME ZONE 'UTC')::date, y.status, y.k
            FROM (SELECT n.revoked_at, n.status, 1 AS k FROM new_rows n
                  JOIN old_rows o ON o.id = n.id WHERE n.status = 'revoked'
                  AND (o.status, o.revoked_at) IS DISTINCT FROM (n.status, n.revoked_at)
                  UNION ALL
                  SELECT o.revoked_at, o.status, -1 FROM new_rows n
                  JOIN old_rows o ON o.id = n.id WHERE o.status = 'revoked'
                  AND (o.status, o.revoked_at) IS DISTINCT FROM (n.status, n.revoked_at)) y
        ) z GROUP BY 1, 2, 3 HAVING sum(k) <> 0;
    RETURN NULL;
END $$;

-- The dashboard's certificate counts, kept by the database as certificates
-- come and change, so that GET /statistics/certificates reads a few hundred
-- rows instead of counting the certificate table (half a second at 1 M
-- certificates). Triggers append what changed to certificate_count_delta
-- (a row per new certificate, one per change of an UPDATE statement; no row
-- is updated there, so concurrent enrollments never wait for each other);
-- the confirmation sweep folds the
-- deltas into certificate_count (cmp_store_compact_counts); a reader adds
-- the two. kind 'c': certificates by the day they were created (UTC) and
-- their status now; kind 'r': revoked certificates by the day of their
-- revocation.
CREATE TABLE certificate_count (
    kind   char(1) NOT NULL CHECK (kind IN ('c', 'r')),
    day    date NOT NULL,
    status text NOT NULL,
    n      bigint NOT NULL,
    PRIMARY KEY (kind, day, status)
);
CREATE TABLE certificate_count_delta (
    kind   char(1) NOT NULL,
    day    date NOT NULL,
    status text NOT NULL,
    n      bigint NOT NULL
);

-- A new certificate, one row at a time (the enrollment's own statement: a
-- row trigger costs it about half of what a statement trigger does).
CREATE FUNCTION cmp_certificate_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO certificate_count_delta (kind, day, status, n)
        VALUES ('c', (NEW.created_at AT TIME ZONE 'UTC')::date, NEW.status, 1);
    IF NEW.status = 'revoked' THEN
        INSERT INTO certificate_count_delta (kind, day, status, n)
            VALUES ('r', (NEW.revoked_at AT TIME ZONE 'UTC')::date, NEW.status, 1);
    END IF;
    RETURN NULL;
END $$;

-- Certificates deleted (by nobody but an administrator's SQL) or the table
-- truncated (the benchmark's fresh start).
CREATE FUNCTION cmp_certificate_count_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE certificate_count, certificate_count_delta;
    ELSE
        INSERT INTO certificate_count_delta (kind, day, status, n)
            SELECT 'c', (created_at AT TIME ZONE 'UTC')::date, status, -count(*)
            FROM old_rows GROUP BY 2, 3
            UNION ALL
            SELECT 'r', (revoked_at AT TIME ZONE 'UTC')::date, status, -count(*)
            FROM old_rows WHERE status = 'revoked' GROUP BY 2, 3;
    END IF;
    RETURN NULL;
END $$;

-- The triggers first: from here on no certificate changes until this
-- migration commits (CREATE TRIGGER locks the table against writes), so
-- the counts below are exact.
CREATE TRIGGER certificate_counts_insert AFTER INSERT ON certificate
    FOR EACH ROW EXECUTE FUNCTION cmp_certificate_count_insert();
CREATE TRIGGER certificate_counts_delete AFTER DELETE ON certificate
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cmp_certificate_count_gone();
CREATE TRIGGER certificate_counts_truncate AFTER TRUNCATE ON certificate
    FOR EACH STATEMENT EXECUTE FUNCTION cmp_certificate_count_gone();

INSERT INTO certificate_count (kind, day, status, n)
    SELECT 'c', (created_at AT TIME ZONE 'UTC')::date, status, count(*)
    FROM certificate GROUP BY 2, 3;
INSERT INTO certificate_count (kind, day, status, n)
    SELECT 'r', (revoked_at AT TIME ZONE 'UTC')::date, status, count(*)
    FROM certificate WHERE status = 'revoked' GROUP BY 2, 3;

-- Central key generation (RFC 9483 4.1.6). ra_profile.central_key_type: the
-- key an RA Profile makes for a request that carries none ('' = it makes
-- none, and refuses such a request), as "TYPE" or "TYPE:PARAM" (EC:P-256,
-- RSA:3072, ML-DSA-65). The key goes to the requester inside EnvelopedData
-- and is never stored: not in the certificate's row, not in the
-- transaction's stored response. A 0.20 node does not read the column and
-- refuses such requests as before.
ALTER TABLE ra_profile ADD COLUMN central_key_type text NOT NULL DEFAULT '';
