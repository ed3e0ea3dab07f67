-- Who and what each alert names (person, badge, account, door, zone, SKU...),
-- so that alerts can be listed by entity. Written with each alert from now
-- on; alerts stored before this table existed list by every other filter.
CREATE TABLE alert_entities (
    n     BIGINT NOT NULL,
    kind  TEXT NOT NULL,
    id    TEXT NOT NULL,
    PRIMARY KEY (n, kind, id)
);
CREATE INDEX alert_entities_entity ON alert_entities (kind, id, n);
