-- People who sign in to the console: a name, an Argon2id password hash
-- (a PHC string; the password itself is never stored), a role and the
-- sites it is limited to (a JSON array; empty: every site).
CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    sites         TEXT NOT NULL,
    created_us    BIGINT NOT NULL,
    disabled_us   BIGINT
);
-- Their sessions: only the SHA-256 of the cookie's secret is stored.
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    secret_hash BLOB NOT NULL UNIQUE,
    user_name   TEXT NOT NULL,
    created_us  BIGINT NOT NULL,
    expires_us  BIGINT NOT NULL,
    revoked_us  BIGINT
);
CREATE INDEX sessions_user ON sessions (user_name);
