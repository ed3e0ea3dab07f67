-- The evidence vault's records: what each item is and its chain of custody.
-- Files live in DATA/vault/objects by SHA-256; every row here has a leaf in
-- the evidence ledger (leaf_index).
CREATE TABLE evidence (
    id              TEXT PRIMARY KEY,
    incident        TEXT NOT NULL,
    sha256          TEXT NOT NULL,
    retain_until_us BIGINT NOT NULL,
    record          TEXT NOT NULL,
    leaf_index      BIGINT NOT NULL,
    expired_us      BIGINT
);
CREATE INDEX evidence_by_incident ON evidence (incident);
CREATE INDEX evidence_by_file ON evidence (sha256);
CREATE INDEX evidence_by_retention ON evidence (retain_until_us);

CREATE TABLE custody (
    evidence        TEXT NOT NULL,
    n               BIGINT NOT NULL,
    record          TEXT NOT NULL,
    leaf_index      BIGINT NOT NULL,
    PRIMARY KEY (evidence, n)
);
