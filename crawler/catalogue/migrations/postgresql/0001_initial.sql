-- Captures, crawls, changes and full-text search (tsvector 'english', title weighted A).
CREATE TABLE crawls (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    counts TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE captures (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    canonical_url TEXT,
    url_key TEXT NOT NULL,
    captured_at TIMESTAMPTZ NOT NULL,
    status INTEGER NOT NULL,
    mime TEXT NOT NULL DEFAULT '',
    payload_digest TEXT NOT NULL,
    text_digest TEXT,
    warc_key TEXT NOT NULL,
    warc_sha256 TEXT NOT NULL,
    warc_size BIGINT NOT NULL,
    article_key TEXT,
    article_sha256 TEXT,
    title TEXT,
    byline TEXT,
    published TEXT,
    lang TEXT,
    site_name TEXT,
    word_count INTEGER NOT NULL DEFAULT 0,
    rendered BOOLEAN NOT NULL DEFAULT FALSE,
    crawl_id TEXT,
    revisit BOOLEAN NOT NULL DEFAULT FALSE,
    revisit_of TEXT,
    resource_digests TEXT NOT NULL DEFAULT '{}'
);

CREATE INDEX captures_url_key_time ON captures (url_key, captured_at);
CREATE INDEX captures_time ON captures (captured_at);
CREATE INDEX captures_crawl ON captures (crawl_id);

CREATE TABLE capture_text (
    capture_id TEXT PRIMARY KEY REFERENCES captures (id) ON DELETE CASCADE,
    title TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL DEFAULT '',
    tsv TSVECTOR GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')
    ) STORED
);

CREATE INDEX capture_text_tsv ON capture_text USING GIN (tsv);

CREATE TABLE changes (
    id BIGSERIAL PRIMARY KEY,
    url TEXT NOT NULL,
    url_key TEXT NOT NULL,
    from_id TEXT NOT NULL,
    to_id TEXT NOT NULL UNIQUE,
    words_added INTEGER NOT NULL,
    words_removed INTEGER NOT NULL,
    title_before TEXT,
    title_after TEXT,
    detected_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX changes_url_key_time ON changes (url_key, detected_at);
CREATE INDEX changes_time ON changes (detected_at);
