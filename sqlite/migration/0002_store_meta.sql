-- One row of store-wide state. blob_epoch counts purges that deleted blobs:
-- a writer skips the blobs it remembers storing (pack.Recent), and must
-- forget them when a purge may have deleted some. WriteRecords reads the
-- epoch inside its write transaction and starts over with an empty memory
-- when it changed.
CREATE TABLE store_meta (
	blob_epoch INTEGER NOT NULL
) STRICT;

INSERT INTO store_meta (blob_epoch) VALUES (0);
