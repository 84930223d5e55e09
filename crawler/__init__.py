"""Declutter's core, one package per stage of the data path.

    fetch -> snapshot -> extract -> catalogue -> archive -> crawl / research -> cli

``fetch`` gets pages (guarded), ``snapshot`` keeps them as WARC in object storage, ``extract``
turns a page into an article, ``catalogue`` indexes captures, ``archive`` writes a capture through
all of them, ``crawl`` runs Scrapy over it, ``research`` reads the archive back out, ``cli`` is the
``declutter`` command. A stage imports only stages before it (import-linter checks it in
``make test``); nothing here imports ``server``.
"""
