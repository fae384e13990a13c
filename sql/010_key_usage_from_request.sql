-- SPDX-License-Identifier: Apache-2.0
-- Migration 10: an RA Profile may let the request choose the keyUsage
-- (RFC 9483 5.1.1 / RFC 4211 5: the template's extensions are a wish). The
-- RA Profile's keyUsage is then the most a certificate gets: a template's
-- keyUsage is issued as the key can have it (an EC key asking
-- keyEncipherment gets keyAgreement, RFC 5480) and within that set, and a
-- keyUsage of which nothing is allowed is refused (badCertTemplate).
-- Default false: the RA Profile's keyUsage is issued whatever is asked.
ALTER TABLE ra_profile ADD COLUMN key_usage_from_request boolean NOT NULL
    DEFAULT false;
