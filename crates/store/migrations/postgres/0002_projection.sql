-- How far derived tables (book, movements, counts) follow the event journal.
CREATE TABLE projection_state (
    name TEXT PRIMARY KEY,
    seq  BIGINT NOT NULL
);
