"""Research: the archive read back out for researchers' tools (WARC, WACZ, JSONL, CSV exports).

Imports ``archive`` and the stages below it.
"""
