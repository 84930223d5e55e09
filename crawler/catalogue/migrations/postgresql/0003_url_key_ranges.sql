-- CDX matchType=prefix|host|domain and site filters select a range of SURT url_keys. Ranges need
-- byte order whatever the database's collation, so this index is on url_key COLLATE "C"; id last
-- makes (url_key, captured_at, id) a total order the CDX listing pages through.
CREATE INDEX captures_url_key_c ON captures (url_key COLLATE "C", captured_at, id);
