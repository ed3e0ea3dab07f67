-- What an analyst made of an alert: taken by someone, dismissed with a
-- reason, reopened, or escalated into an incident. One row an alert, the latest; the audit trail
-- keeps every act.
CREATE TABLE alert_triage (
    n        BIGINT PRIMARY KEY,
    status   TEXT NOT NULL,
    owner    TEXT,
    incident TEXT,
    reason   TEXT NOT NULL,
    actor    TEXT NOT NULL,
    at_us    BIGINT NOT NULL
);
