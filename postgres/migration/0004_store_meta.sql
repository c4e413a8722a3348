-- Store-wide state for purges (lyumen purge), one row.
--
-- blob_epoch counts purges. A writer skips the blobs it remembers storing
-- (pack.Recent), and must forget them once a purge may have deleted some:
-- WriteRecords reads the epoch FOR SHARE in its transaction (a purge locks
-- the table first, so it waits for those writers and they for it) and cuts
-- its batch again when the epoch moved since it cut it.
--
-- purged_before and purged_ids keep purged records from coming back: a
-- gateway's spool may ship a record again (after a crash, or a batch whose
-- outcome it did not learn), and WriteRecords drops records received before
-- purged_before and records whose id was purged.
CREATE TABLE store_meta (
	blob_epoch    bigint      NOT NULL,
	purged_before timestamptz
);

INSERT INTO store_meta (blob_epoch, purged_before) VALUES (0, NULL);

CREATE TABLE purged_ids (
	id uuid PRIMARY KEY
);
