-- The inventory book is kept by the derived-state stage (stockade-app),
-- in memory, snapshotted to book_places with its cursor in
-- projection_state('book_snapshot'); no driver writes a book of its own.
DROP TABLE inventory_counts;
DROP TABLE inventory_movements;
DROP TABLE inventory_book;
