"""What every browser render shares: when a page counts as finished drawing itself.

The crawler (scrapy-playwright) and the server (its own Chromium for ``/clean``) both wait with
this script, so a page renders the same way whichever path captured it.
"""

from __future__ import annotations

SETTLE_MS = 500

# Resolves once the page's text has stopped changing for `settle` ms (or after `limit` ms):
# pages that fill themselves in after load are caught without a fixed sleep.
SETTLE_JS = """async ([settle, limit]) => {
  const started = Date.now();
  let last = -1, since = Date.now();
  while (Date.now() - started < limit) {
    const n = document.body ? document.body.innerText.length : 0;
    if (n !== last) { last = n; since = Date.now(); }
    else if (Date.now() - since >= settle && document.readyState === "complete") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return last;
}"""
