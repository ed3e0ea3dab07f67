-- The stock-flow model (model::book): the in-transit state a place holds
-- units of ('received' or 'picked'), the derived adjustments counts made
-- there under the site's count-correction policy, and the one the latest
-- count made (NULL: it only reported), and its earliest movement.
ALTER TABLE book_places ADD COLUMN holds TEXT;
ALTER TABLE book_places ADD COLUMN corrected DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE book_places ADD COLUMN count_correction DOUBLE PRECISION;
-- The earliest movement applied at the place: a first count before it opens
-- the place whatever the arrival order.
ALTER TABLE book_places ADD COLUMN first_us BIGINT;
-- The latest correcting count before the current one: later-arriving
-- movements from before it are in what it found.
ALTER TABLE book_places ADD COLUMN settled_us BIGINT;
-- The book's rules changed (picks now land in the picked state, shipments
-- and put-aways draw from the in-transit states): the saved book is
-- forgotten, and the stage rebuilds it from the stored events on start.
DELETE FROM book_places;
DELETE FROM projection_state WHERE name = 'book_snapshot';
