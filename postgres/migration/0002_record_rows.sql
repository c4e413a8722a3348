-- Records in fewer bytes (issue #3: at most 20% of the raw JSON on disk).
-- Measured with bench/storage on the chat workload, per record:
--
-- * The strings every record repeats (surface, model, served model,
--   provider, user agent, country, completeness) are stored once each in
--   labels, and a record keeps their 4-byte ids: 105 bytes became 28.
-- * The (model, received_at) index is gone (66 bytes): no query reads by
--   model. Scan reads by received_at, Record by id.
-- * Fixed-width columns come first, so no padding falls between them.
-- * Both indexes are full to the last byte (fillfactor 100): records come
--   in the order of both keys (ids are UUIDv7) and are never updated.
-- * Values stay in the row up to a whole page (toast_tuple_target, set on
--   each partition by partitions.go), and PostgreSQL never compresses them
--   (STORAGE EXTERNAL): internal/pack has compressed them already, and an
--   out-of-line TOAST chunk costs a tuple header, a pointer and an index
--   entry.
--
-- records becomes a view with the columns and types it had, for readers
-- and for people at a psql prompt. Rows written before are copied over.

CREATE TABLE labels (
	id    integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	-- The first 16 bytes of the value's SHA-256: unique whatever the
	-- value's length, which a B-tree on value would not allow.
	hash  bytea   NOT NULL UNIQUE,
	value text    NOT NULL
);

CREATE TABLE record_rows (
	id                uuid        NOT NULL,  -- UUIDv7, sorts by time
	received_at       timestamptz NOT NULL,
	duration_us       bigint      NOT NULL,
	ttft_us           bigint      NOT NULL,
	status            integer     NOT NULL,
	prompt_tokens     integer     NOT NULL,
	completion_tokens integer     NOT NULL,
	total_tokens      integer     NOT NULL,
	surface           integer     NOT NULL,  -- labels.id, as are the six below
	model             integer     NOT NULL,
	served_model      integer     NOT NULL,
	provider          integer     NOT NULL,
	user_agent        integer     NOT NULL,
	country           integer     NOT NULL,
	completeness      integer     NOT NULL,
	stream            boolean     NOT NULL,
	error             text        NOT NULL,
	body              bytea,                 -- NULL when the record has no body
	refs              bytea,
	conversation      bytea,
	response          bytea,
	attempts          bytea,
	PRIMARY KEY (id, received_at) WITH (fillfactor = 100)
) PARTITION BY RANGE (received_at);

CREATE INDEX record_rows_received_at ON record_rows (received_at) WITH (fillfactor = 100);

ALTER TABLE record_rows
	ALTER body SET STORAGE EXTERNAL,
	ALTER refs SET STORAGE EXTERNAL,
	ALTER conversation SET STORAGE EXTERNAL,
	ALTER response SET STORAGE EXTERNAL,
	ALTER attempts SET STORAGE EXTERNAL;

ALTER TABLE blobs SET (toast_tuple_target = 8160);
ALTER TABLE blobs ALTER data SET STORAGE EXTERNAL;

-- The old table's partitions give up their names to the new ones.
ALTER TABLE records RENAME TO records_0001;
DO $$
DECLARE
	p record;
BEGIN
	FOR p IN SELECT c.oid::regclass AS part, c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
		FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'records_0001'::regclass
	LOOP
		EXECUTE format('ALTER TABLE %s RENAME TO %I', p.part, p.relname || '_0001');
		EXECUTE format('CREATE TABLE %I PARTITION OF record_rows %s WITH (toast_tuple_target = 8160)', p.relname, p.bound);
	END LOOP;
END $$;

INSERT INTO labels (hash, value)
SELECT DISTINCT substring(sha256(convert_to(v, 'UTF8')) FROM 1 FOR 16), v
FROM records_0001, LATERAL (VALUES (surface), (model), (served_model), (provider), (user_agent), (country), (completeness)) AS l(v);

CREATE FUNCTION pg_temp.label(v text) RETURNS integer LANGUAGE sql STABLE
AS $$ SELECT id FROM labels WHERE hash = substring(sha256(convert_to(v, 'UTF8')) FROM 1 FOR 16) $$;

INSERT INTO record_rows (id, received_at, duration_us, ttft_us, status, prompt_tokens, completion_tokens, total_tokens,
	surface, model, served_model, provider, user_agent, country, completeness, stream, error,
	body, refs, conversation, response, attempts)
SELECT id, received_at, duration_us, ttft_us, status, prompt_tokens, completion_tokens, total_tokens,
	pg_temp.label(surface), pg_temp.label(model), pg_temp.label(served_model), pg_temp.label(provider),
	pg_temp.label(user_agent), pg_temp.label(country), pg_temp.label(completeness), stream, error,
	body, refs, conversation, response, attempts
FROM records_0001 ORDER BY received_at, id;

DROP FUNCTION pg_temp.label(text);
DROP TABLE records_0001;

-- Left joins on a unique key: a query that reads no label (count(*))
-- does not join at all.
CREATE VIEW records AS
SELECT r.id, r.received_at, r.duration_us, r.ttft_us, su.value AS surface, mo.value AS model,
	sm.value AS served_model, pr.value AS provider, r.stream, r.status, r.error,
	r.body, r.refs, r.conversation, r.response, r.attempts,
	r.prompt_tokens, r.completion_tokens, r.total_tokens,
	ua.value AS user_agent, co.value AS country, cp.value AS completeness
FROM record_rows r
	LEFT JOIN labels su ON su.id = r.surface
	LEFT JOIN labels mo ON mo.id = r.model
	LEFT JOIN labels sm ON sm.id = r.served_model
	LEFT JOIN labels pr ON pr.id = r.provider
	LEFT JOIN labels ua ON ua.id = r.user_agent
	LEFT JOIN labels co ON co.id = r.country
	LEFT JOIN labels cp ON cp.id = r.completeness;
