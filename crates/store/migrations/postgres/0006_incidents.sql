-- Incidents, numbered from 1; `record` is the incident's JSON (the same
-- bytes the audit trail's `incident_opened` record commits to).
CREATE TABLE incidents (
    n          BIGINT PRIMARY KEY,
    site       TEXT NOT NULL,
    opened_us  BIGINT NOT NULL,
    record     TEXT NOT NULL
);
CREATE INDEX incidents_site ON incidents (site, n);
