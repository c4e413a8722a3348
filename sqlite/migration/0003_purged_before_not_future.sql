-- A purge before a time later than now made the store refuse every record
-- received until then (see 0002): purge refuses such a time now, and a
-- store that took one before comes back to now, which keeps what the purge
-- asked for up to this moment and stores what comes after.
UPDATE store_meta
SET purged_before = CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)
WHERE purged_before > CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER);
