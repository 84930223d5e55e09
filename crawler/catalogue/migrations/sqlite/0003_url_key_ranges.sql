-- CDX matchType=prefix|host|domain and site filters select a range of SURT url_keys (SQLite
-- compares bytes). id last makes (url_key, captured_at, id) a total order the CDX listing pages
-- through; the new index covers every use of the old one.
CREATE INDEX captures_url_key_time_id ON captures (url_key, captured_at, id);
DROP INDEX captures_url_key_time;
