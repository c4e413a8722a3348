-- One row per logged exchange (lyumen.Record). Times and durations are
-- integers in microseconds so they sort and compare cheaply and round-trip
-- exactly; STRICT makes SQLite reject a value of the wrong type instead of
-- silently storing it.
CREATE TABLE records (
	id                TEXT    NOT NULL PRIMARY KEY, -- UUIDv7, sorts by time
	received_at       INTEGER NOT NULL,             -- unix microseconds, UTC
	duration_us       INTEGER NOT NULL,
	ttft_us           INTEGER NOT NULL,
	surface           TEXT    NOT NULL,
	model             TEXT    NOT NULL,
	served_model      TEXT    NOT NULL,
	provider          TEXT    NOT NULL,
	stream            INTEGER NOT NULL,             -- 0 or 1
	status            INTEGER NOT NULL,
	error             TEXT    NOT NULL,
	request           BLOB,                         -- body as received; NULL when nil
	response          BLOB,                         -- JSON of lyumen.Response; NULL when nil
	prompt_tokens     INTEGER NOT NULL,
	completion_tokens INTEGER NOT NULL,
	total_tokens      INTEGER NOT NULL,
	user_agent        TEXT    NOT NULL,
	country           TEXT    NOT NULL,
	completeness      TEXT    NOT NULL,
	attempts          BLOB                          -- JSON of []lyumen.Attempt; NULL when nil
) STRICT;

CREATE INDEX records_received_at ON records (received_at);
CREATE INDEX records_model_received_at ON records (model, received_at);
