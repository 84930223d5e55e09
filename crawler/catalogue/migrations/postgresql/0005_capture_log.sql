-- The tamper-evident capture log (crawler/catalogue/capture_log.py): one entry per capture, each
-- holding the hash of the one before, appended in the capture's own transaction. Entries already
-- in the catalogue are logged by this version's Python step, oldest capture first.
-- captured_at is the exact text that was hashed (ISO 8601, microseconds, Z), in both engines.
CREATE TABLE capture_log (
    seq BIGINT PRIMARY KEY,
    capture_id TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    captured_at TEXT NOT NULL,
    warc_sha256 TEXT NOT NULL,
    article_sha256 TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    entry_hash TEXT NOT NULL
);

-- The chain's head, one row: appends lock it (SELECT ... FOR UPDATE) and move it in the same
-- transaction, so crawl processes writing at once queue on it and never hang two entries on one
-- hash. checkpoint_*: the last signed checkpoint written to object storage.
-- log_id: this log's name in object storage (log/<log_id>/...), set by the Python step.
CREATE TABLE capture_log_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    entry_hash TEXT NOT NULL,
    checkpoint_seq BIGINT NOT NULL DEFAULT 0,
    checkpoint_at TEXT,
    log_id TEXT NOT NULL DEFAULT ''
);
INSERT INTO capture_log_head (id, seq, entry_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Append-only: a mistaken UPDATE or DELETE is refused. (Someone who drops this trigger can
-- still rewrite the table; that is what the chain and the signed checkpoints are for.)
CREATE FUNCTION capture_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the capture log is append-only';
END;
$$;
CREATE TRIGGER capture_log_append_only BEFORE UPDATE OR DELETE ON capture_log
FOR EACH ROW EXECUTE FUNCTION capture_log_append_only();
