-- One row of store-wide state. blob_epoch counts purges that deleted blobs:
-- a writer skips the blobs it remembers storing (pack.Recent), and must
-- forget them when a purge may have deleted some. WriteRecords reads the
-- epoch FOR SHARE in its transaction (a purge's UPDATE of the row waits for
-- those writers, and they for it) and starts over with an empty memory
-- when it changed.
CREATE TABLE store_meta (
	blob_epoch bigint NOT NULL
);

INSERT INTO store_meta (blob_epoch) VALUES (0);
