-- Foundation schema (PostgreSQL). Keep in step with ../sqlite/0001_foundation.sql:
-- the same tables, columns and indexes; only types and identity differ.
-- Times are BIGINT microseconds since the Unix epoch, UTC; offsets in seconds.

CREATE TABLE events (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source       TEXT    NOT NULL,
    event_id     TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    site         TEXT    NOT NULL,
    occurred_us  BIGINT  NOT NULL,
    offset_s     INTEGER NOT NULL,
    received_us  BIGINT  NOT NULL,
    hash         BYTEA    NOT NULL,
    payload      TEXT    NOT NULL,
    UNIQUE (source, event_id)
);
CREATE INDEX events_site_time ON events (site, occurred_us);

CREATE TABLE inventory_book (
    site        TEXT NOT NULL,
    location    TEXT NOT NULL,
    sku         TEXT NOT NULL,
    quantity    DOUBLE PRECISION NOT NULL,
    updated_seq BIGINT NOT NULL,
    PRIMARY KEY (site, location, sku)
);

CREATE TABLE inventory_movements (
    seq         BIGINT NOT NULL,
    site        TEXT NOT NULL,
    location    TEXT NOT NULL,
    sku         TEXT NOT NULL,
    occurred_us BIGINT NOT NULL,
    delta       DOUBLE PRECISION NOT NULL
);
CREATE INDEX inventory_movements_key ON inventory_movements (site, location, sku, occurred_us);

CREATE TABLE inventory_counts (
    seq         BIGINT PRIMARY KEY,
    site        TEXT NOT NULL,
    location    TEXT NOT NULL,
    sku         TEXT NOT NULL,
    occurred_us BIGINT NOT NULL,
    counted     DOUBLE PRECISION NOT NULL
);
CREATE INDEX inventory_counts_key ON inventory_counts (site, location, sku, occurred_us);

CREATE TABLE reference_records (
    kind       TEXT NOT NULL,
    id         TEXT NOT NULL,
    site       TEXT,
    body       TEXT NOT NULL,
    updated_us BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);

CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY,
    secret_hash BYTEA NOT NULL UNIQUE,
    role        TEXT NOT NULL,
    name        TEXT NOT NULL,
    created_us  BIGINT NOT NULL,
    revoked_us  BIGINT
);
