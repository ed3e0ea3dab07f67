-- Snapshot of the embedded store's in-memory inventory book (crates/model
-- book::InventoryBook): one row per place, written in bulk every so often;
-- the journal after projection_state('book_snapshot') is replayed on open.
CREATE TABLE book_places (
    site        TEXT NOT NULL,
    location    TEXT NOT NULL,
    sku         TEXT NOT NULL,
    quantity    DOUBLE PRECISION NOT NULL,
    count_seq   BIGINT,
    count_us    BIGINT,
    counted     DOUBLE PRECISION,
    book_at     DOUBLE PRECISION,
    approximate BIGINT,
    recent      TEXT NOT NULL,
    PRIMARY KEY (site, location, sku)
);
