"""Declutter's capture side: fetch, snapshot, extract, index."""
