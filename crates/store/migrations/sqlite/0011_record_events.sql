-- Stockade's own records (loads, retractions) are read at every start:
-- indexed alone, so that reading them does not scan the events.
CREATE INDEX events_loads ON events (seq) WHERE kind = 'record.loaded';
CREATE INDEX events_retractions ON events (seq) WHERE kind = 'record.retracted';
