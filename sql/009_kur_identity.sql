-- SPDX-License-Identifier: Apache-2.0
-- Migration 9: a key update keeps the identity of the certificate it
-- updates (RFC 9483 4.1.3: the new certificate is for the same end
-- entity). A kur template without subject or subjectAltName gets the old
-- certificate's; one that asks for another subject or other names is
-- refused (badCertTemplate) unless its RA Profile allows the change here.
ALTER TABLE ra_profile ADD COLUMN allow_kur_identity_change boolean NOT NULL
    DEFAULT false;
