"""Declutter's aiohttp server: the clean-article API, capture retrieval and the archive web app."""
