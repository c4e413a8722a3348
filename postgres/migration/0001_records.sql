-- One row per logged exchange (lyumen.Record), partitioned by month so
-- that indefinite retention stays fast and an old month can be detached,
-- archived or dropped cheaply. Partitions are created on demand by the
-- writer (see partitions.go). The request body is stored in the layout of
-- internal/pack: the body with its messages cut out (body), references to
-- the cut pieces (refs), and the pieces once each in blobs.
CREATE TABLE records (
	id                uuid        NOT NULL,  -- UUIDv7, sorts by time
	received_at       timestamptz NOT NULL,
	duration_us       bigint      NOT NULL,
	ttft_us           bigint      NOT NULL,
	surface           text        NOT NULL,
	model             text        NOT NULL,
	served_model      text        NOT NULL,
	provider          text        NOT NULL,
	stream            boolean     NOT NULL,
	status            integer     NOT NULL,
	error             text        NOT NULL,
	body              bytea,                 -- NULL when the record has no body
	refs              bytea,
	conversation      bytea,                 -- the canonical conversation (internal/pack)
	response          bytea,
	attempts          bytea,
	prompt_tokens     integer     NOT NULL,
	completion_tokens integer     NOT NULL,
	total_tokens      integer     NOT NULL,
	user_agent        text        NOT NULL,
	country           text        NOT NULL,
	completeness      text        NOT NULL,
	-- The partition key must be part of the key; a record keeps its
	-- received_at, so (id, received_at) is as unique as id.
	PRIMARY KEY (id, received_at)
) PARTITION BY RANGE (received_at);

CREATE INDEX records_received_at ON records (received_at);
CREATE INDEX records_model_received_at ON records (model, received_at);

-- Messages and tools arrays, each stored once by the hash of its content.
CREATE TABLE blobs (
	hash bytea PRIMARY KEY,
	data bytea NOT NULL
);
