-- Where a capture's page came from: 'server' (an HTTP exchange the archive made) or 'reader'
-- (the DOM a reader's browser showed, kept when the server could not fetch the page; status 0).
ALTER TABLE captures ADD COLUMN source TEXT NOT NULL DEFAULT 'server';
ALTER TABLE captures ADD COLUMN fetch_error TEXT;
