-- Detection's derived state: each stage consumer's saved state and cursor
-- (today the detector's), the alerts it raised (numbered from 1; `record` is
-- the alert's JSON), and which incident each case of alerts opened.
CREATE TABLE consumer_state (
    name    TEXT PRIMARY KEY,
    cursor  BIGINT NOT NULL,
    state   TEXT NOT NULL
);
CREATE TABLE alerts (
    n       BIGINT PRIMARY KEY,
    seq     BIGINT NOT NULL,
    site    TEXT NOT NULL,
    rule    TEXT NOT NULL,
    at_us   BIGINT NOT NULL,
    case_n  BIGINT NOT NULL,
    record  TEXT NOT NULL
);
CREATE INDEX alerts_site ON alerts (site, at_us);
CREATE INDEX alerts_rule ON alerts (rule, at_us);
CREATE INDEX alerts_case ON alerts (case_n);
CREATE TABLE alert_cases (
    case_n   BIGINT PRIMARY KEY,
    incident TEXT NOT NULL
);
