-- Incident timelines: every act on an incident (a transition, an owner, a
-- severity, a note, a link, a merge or a split), numbered from 1 per
-- incident; `record` is the entry's JSON (the same bytes the audit trail's
-- `incident_entry` record commits to), `leaf_index` that record's leaf.
CREATE TABLE incident_timeline (
    incident   BIGINT NOT NULL,
    n          BIGINT NOT NULL,
    at_us      BIGINT NOT NULL,
    record     TEXT NOT NULL,
    leaf_index BIGINT,
    PRIMARY KEY (incident, n)
);
