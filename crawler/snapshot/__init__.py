"""Snapshot: a capture as WARC records, kept whole in S3 object storage or the local spool.

Imports ``fetch`` and ``config`` only.
"""
