-- A place first seen by a count: that count's time (its opening balance),
-- so that movements that occurred before it move nothing (model::book).
ALTER TABLE book_places ADD COLUMN opened_us BIGINT;
