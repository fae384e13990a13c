-- SPDX-License-Identifier: Apache-2.0
-- Migration 4: refused CMP requests per day and reason, added up by every
-- node from counters kept in memory (flushed about once a second), for the
-- dashboard. Nothing is written on the request path.
CREATE TABLE cmp_refusal_count (
    day    date NOT NULL,
    reason text NOT NULL,
    count  bigint NOT NULL CHECK (count >= 0),
    PRIMARY KEY (day, reason)
);
