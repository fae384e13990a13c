-- SPDX-License-Identifier: Apache-2.0
-- mod_cmp schema, migration 1: authorities, RA profiles, CMP profiles,
-- certificates, CMP transactions and audit events.
-- Applied by scripts/db-migrate.sh inside one transaction; the version row is
-- written by that script.

CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- Every configuration row carries a version that a trigger bumps on update,
-- so per-process caches in the httpd children know when to reload.
CREATE FUNCTION cmp_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    RETURN NEW;
END $$;

CREATE TABLE authority (
    id          bigserial PRIMARY KEY,
    uuid        uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    name        text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9._~-]+$'),
    description text NOT NULL DEFAULT '',
    kind        text NOT NULL DEFAULT 'local' CHECK (kind IN ('local', 'cmp-upstream')),
    enabled     boolean NOT NULL DEFAULT true,
    ca_cert     bytea NOT NULL,            -- DER
    ca_chain    bytea,                     -- DER certificates above ca_cert, concatenated
    ca_key_enc  bytea,                     -- PKCS#8 DER, encrypted (cmp_secret)
    version     bigint NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (kind <> 'local' OR ca_key_enc IS NOT NULL)
);
CREATE TRIGGER authority_version BEFORE UPDATE ON authority
    FOR EACH ROW EXECUTE FUNCTION cmp_bump_version();

CREATE TABLE cmp_profile (
    id                     bigserial PRIMARY KEY,
    uuid                   uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    name                   text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9._~-]+$'),
    description            text NOT NULL DEFAULT '',
    enabled                boolean NOT NULL DEFAULT false,
    variant                text NOT NULL DEFAULT 'v2' CHECK (variant IN ('v2', 'v2_3gpp', 'v3')),
    default_ra_profile_id  bigint,         -- FK added below (cycle with ra_profile)
    request_protection     text NOT NULL CHECK (request_protection IN ('shared_secret', 'signature')),
    response_protection    text NOT NULL CHECK (response_protection IN ('shared_secret', 'signature')),
    shared_secret_enc      bytea,          -- encrypted (cmp_secret)
    signing_cert           bytea,          -- DER
    signing_chain          bytea,          -- DER certificates, concatenated
    signing_key_enc        bytea,          -- PKCS#8 DER, encrypted
    trust_anchors          bytea,          -- DER certificates, concatenated
    allow_implicit_confirm boolean NOT NULL DEFAULT true,
    confirm_timeout_s      integer NOT NULL DEFAULT 300 CHECK (confirm_timeout_s > 0),
    version                bigint NOT NULL DEFAULT 1,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CHECK (request_protection <> 'shared_secret' OR shared_secret_enc IS NOT NULL),
    CHECK (response_protection <> 'shared_secret' OR shared_secret_enc IS NOT NULL),
    CHECK (response_protection <> 'signature'
           OR (signing_cert IS NOT NULL AND signing_key_enc IS NOT NULL))
);
CREATE TRIGGER cmp_profile_version BEFORE UPDATE ON cmp_profile
    FOR EACH ROW EXECUTE FUNCTION cmp_bump_version();

CREATE TABLE ra_profile (
    id                 bigserial PRIMARY KEY,
    uuid               uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    name               text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9._~-]+$'),
    description        text NOT NULL DEFAULT '',
    enabled            boolean NOT NULL DEFAULT false,
    authority_id       bigint NOT NULL REFERENCES authority(id) ON DELETE RESTRICT,
    cmp_profile_id     bigint REFERENCES cmp_profile(id) ON DELETE SET NULL,
    validity_days      integer NOT NULL DEFAULT 365 CHECK (validity_days > 0),
    -- key types by OpenSSL name (RSA, RSA-PSS, EC, ED25519, ED448, ...); empty = any
    allowed_key_types  text[] NOT NULL DEFAULT '{}',
    -- minimum security strength in bits as OpenSSL rates the key (RSA-2048 = 112, P-256 = 128)
    min_security_bits  integer NOT NULL DEFAULT 112 CHECK (min_security_bits >= 0),
    subject_pattern    text,               -- POSIX ERE on the RFC 2253 subject; NULL = any non-empty
    allow_san          boolean NOT NULL DEFAULT true,
    key_usage          text NOT NULL DEFAULT 'critical,digitalSignature',
    extended_key_usage text NOT NULL DEFAULT '',
    version            bigint NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER ra_profile_version BEFORE UPDATE ON ra_profile
    FOR EACH ROW EXECUTE FUNCTION cmp_bump_version();
CREATE INDEX ra_profile_authority ON ra_profile(authority_id);
CREATE INDEX ra_profile_cmp ON ra_profile(cmp_profile_id);

ALTER TABLE cmp_profile ADD CONSTRAINT cmp_profile_default_ra
    FOREIGN KEY (default_ra_profile_id) REFERENCES ra_profile(id) ON DELETE SET NULL;

CREATE TABLE certificate (
    id                bigserial PRIMARY KEY,
    uuid              uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    authority_id      bigint NOT NULL REFERENCES authority(id) ON DELETE RESTRICT,
    serial            text NOT NULL,       -- lower-case hex, no leading zeros
    issuer_dn         text NOT NULL,
    subject_dn        text NOT NULL,
    sans              text NOT NULL DEFAULT '',
    not_before        timestamptz NOT NULL,
    not_after         timestamptz NOT NULL,
    key_type          text NOT NULL,
    key_fingerprint   bytea NOT NULL,      -- SHA-256 of the SubjectPublicKeyInfo
    der               bytea NOT NULL,
    status            text NOT NULL CHECK (status IN ('pending', 'valid', 'revoked', 'rejected')),
    revocation_reason integer,
    revoked_at        timestamptz,
    ra_profile_id     bigint REFERENCES ra_profile(id) ON DELETE SET NULL,
    cmp_profile_id    bigint REFERENCES cmp_profile(id) ON DELETE SET NULL,
    transaction_id    bytea,
    replaces_id       bigint REFERENCES certificate(id),
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (authority_id, serial),
    CHECK ((status IN ('revoked', 'rejected')) = (revoked_at IS NOT NULL))
);
CREATE INDEX certificate_not_after ON certificate(not_after);
CREATE INDEX certificate_ra_profile ON certificate(ra_profile_id);
CREATE INDEX certificate_subject ON certificate(subject_dn);

CREATE TABLE cmp_transaction (
    id              bigserial PRIMARY KEY,
    transaction_id  bytea NOT NULL UNIQUE,
    cmp_profile_id  bigint REFERENCES cmp_profile(id) ON DELETE CASCADE,
    ra_profile_id   bigint REFERENCES ra_profile(id) ON DELETE CASCADE,
    body_type       text NOT NULL,
    state           text NOT NULL CHECK (state IN ('waiting_conf', 'confirmed', 'rejected', 'expired')),
    certificate_id  bigint REFERENCES certificate(id) ON DELETE CASCADE,
    cert_hash       bytea,
    sender_nonce    bytea,                 -- nonce of our last message, checked as recipNonce
    request_der     bytea,                 -- the ir/cr/kur, kept until the certConf
    expires_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cmp_transaction_waiting ON cmp_transaction(expires_at) WHERE state = 'waiting_conf';

CREATE TABLE audit_event (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    actor     text NOT NULL,
    action    text NOT NULL,
    object    text NOT NULL,
    result    text NOT NULL,
    details   text NOT NULL DEFAULT ''
);
CREATE INDEX audit_event_at ON audit_event(at);
