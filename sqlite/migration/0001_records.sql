-- One row per logged exchange (lyumen.Record), in the layout of
-- internal/pack, the same as the PostgreSQL store: the request body, the
-- canonical conversation and the response with their content cut out
-- (body, conversation, response), references to the cut pieces (refs), and
-- the pieces once each in blobs, so a conversation whose client resends
-- the whole history every turn grows the store linearly. The values are
-- tagged and compressed (see internal/pack); NULL stands for a nil field.
--
-- Times and durations are integers in microseconds so they sort and compare
-- cheaply and round-trip exactly; STRICT makes SQLite reject a value of the
-- wrong type instead of silently storing it.
CREATE TABLE records (
	id                BLOB    NOT NULL PRIMARY KEY, -- UUIDv7, its 16 bytes; sorts by time
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
	body              BLOB,                         -- NULL when the record has no body
	refs              BLOB,
	conversation      BLOB,                         -- JSON of lyumen.Conversation
	response          BLOB,                         -- JSON of lyumen.Response
	attempts          BLOB,                         -- JSON of []lyumen.Attempt
	prompt_tokens     INTEGER NOT NULL,
	completion_tokens INTEGER NOT NULL,
	total_tokens      INTEGER NOT NULL,
	user_agent        TEXT    NOT NULL,
	country           TEXT    NOT NULL,
	completeness      TEXT    NOT NULL
) STRICT;

CREATE INDEX records_received_at ON records (received_at);
CREATE INDEX records_model_received_at ON records (model, received_at);

-- The pieces of content (see internal/pack), each stored once by the hash
-- of its bytes. A rowid table with the hash in a unique index, not WITHOUT
-- ROWID keyed by the hash: blobs are written in time order, so the table's
-- pages are appended and stay full, and only the small index takes writes
-- at random places. Keyed by the hash, every batch rewrote hundreds of
-- 16 KiB pages across the table (twice as slow to write) and left them 15%
-- empty; VACUUM would win that back, nothing else does.
CREATE TABLE blobs (
	id   INTEGER PRIMARY KEY,
	hash BLOB    NOT NULL UNIQUE,
	data BLOB    NOT NULL
) STRICT;
