-- Webhook deliveries: containment sent to the systems that own what was
-- contained, retried with backoff; `dead` ones wait for an operator's
-- replay. `record` is the delivery's JSON.
CREATE TABLE webhook_deliveries (
    id         TEXT PRIMARY KEY,
    endpoint   TEXT NOT NULL,
    idem_key   TEXT NOT NULL,
    status     TEXT NOT NULL,
    next_us    BIGINT NOT NULL,
    created_us BIGINT NOT NULL,
    record     TEXT NOT NULL,
    UNIQUE (endpoint, idem_key)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_us);
