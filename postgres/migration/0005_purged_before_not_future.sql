-- A purge before a time later than now made the store refuse every record
-- received until then (see 0004): purge refuses such a time now, and a
-- store that took one before comes back to now, which keeps what the purge
-- asked for up to this moment and stores what comes after.
UPDATE store_meta SET purged_before = now() WHERE purged_before > now();
