-- The audit trail: administrative acts (tokens created, reference data
-- imported...), each with a leaf in the evidence ledger (leaf_index).
CREATE TABLE audit (
    n           BIGINT PRIMARY KEY,
    record      TEXT NOT NULL,
    leaf_index  BIGINT NOT NULL
);
