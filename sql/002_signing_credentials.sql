-- SPDX-License-Identifier: Apache-2.0
-- Migration 2: CMP signer credentials become objects of their own (issued by
-- a local Authority or imported), listed by the admin API and chosen by CMP
-- Profiles; and every configuration change is announced on the channel
-- 'cmp_config' so that httpd children drop what they cached.

CREATE TABLE signing_credential (
    id           bigserial PRIMARY KEY,
    uuid         uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    cert         bytea NOT NULL,            -- DER
    chain        bytea,                     -- DER certificates above cert
    key_enc      bytea NOT NULL,            -- PKCS#8 DER, encrypted (cmp_secret)
    authority_id bigint REFERENCES authority(id) ON DELETE SET NULL,
    version      bigint NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER signing_credential_version BEFORE UPDATE ON signing_credential
    FOR EACH ROW EXECUTE FUNCTION cmp_bump_version();

ALTER TABLE cmp_profile ADD COLUMN signing_credential_id bigint
    REFERENCES signing_credential(id) ON DELETE RESTRICT;

INSERT INTO signing_credential (cert, chain, key_enc)
    SELECT DISTINCT ON (signing_cert) signing_cert, signing_chain, signing_key_enc
    FROM cmp_profile WHERE signing_cert IS NOT NULL;
UPDATE cmp_profile p SET signing_credential_id = s.id
    FROM signing_credential s WHERE s.cert = p.signing_cert;

-- Dropping the columns drops the CHECK constraints that name them.
ALTER TABLE cmp_profile DROP COLUMN signing_cert, DROP COLUMN signing_chain,
    DROP COLUMN signing_key_enc;
ALTER TABLE cmp_profile ADD CONSTRAINT cmp_profile_signing_needed
    CHECK (response_protection <> 'signature' OR signing_credential_id IS NOT NULL);

CREATE FUNCTION cmp_config_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cmp_config', TG_TABLE_NAME);
    RETURN NULL;
END $$;
CREATE TRIGGER authority_changed AFTER INSERT OR UPDATE OR DELETE ON authority
    FOR EACH STATEMENT EXECUTE FUNCTION cmp_config_changed();
CREATE TRIGGER ra_profile_changed AFTER INSERT OR UPDATE OR DELETE ON ra_profile
    FOR EACH STATEMENT EXECUTE FUNCTION cmp_config_changed();
CREATE TRIGGER cmp_profile_changed AFTER INSERT OR UPDATE OR DELETE ON cmp_profile
    FOR EACH STATEMENT EXECUTE FUNCTION cmp_config_changed();
CREATE TRIGGER signing_credential_changed AFTER INSERT OR UPDATE OR DELETE
    ON signing_credential FOR EACH STATEMENT EXECUTE FUNCTION cmp_config_changed();
