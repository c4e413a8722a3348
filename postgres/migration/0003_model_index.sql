-- Records by model again (0002 dropped the (model, received_at) index to
-- reach the storage target): an index on the label id alone. B-tree
-- deduplication keeps one entry per model and a list of row pointers, so
-- it costs about 6 bytes a record where (model, received_at) cost 66; a
-- query for one model in a time range combines it with the received_at
-- index.
CREATE INDEX record_rows_model ON record_rows (model) WITH (fillfactor = 100, deduplicate_items = on);
