"""Helpers shared by the tests and the benchmarks: the one part of ``tests`` that ``bench`` imports.

Why here and not in ``crawler/testing.py``: everything in this kit exists to exercise the code
(local test sites, a loopback resolver, throwaway services, crawl files, Chromium with the
extension), needs pytest or the checkout's fixtures, and must not ship in the installed package.
The benchmarks are checkout tooling too, so they take the same helpers from here.

The direction is enforced by the import contracts in ``pyproject.toml``: ``bench`` imports
nothing of ``tests`` but ``tests.kit``; ``tests.kit`` imports no test module, no conftest and
nothing of ``bench``; only ``tests/bench/`` (which tests the bench runner) imports ``bench``.
Conftest files define fixtures only and take their helpers from here, and no test imports
another test module: what two tests share lives here under a public name.

Modules: ``paths`` (the checkout and ../shared), ``text``, ``settings`` (Settings and the
environment that loads them in a child), ``services`` (pytest plugin: SeaweedFS, PostgreSQL,
Redis, the ``settings`` factory), ``site`` (the crawl test site), ``crawls`` (crawls.toml and
crawl checks), ``origin`` (pytest plugin: the loopback origin and ``NamesResolver``), ``api``
(the API server over real storage), ``archive`` (archives with known captures), ``article``
(a made-up article page), ``catalogue`` (catalogue rows), ``pywb``, ``pages``, ``extension``
(Chromium with the unpacked extension), ``firefox`` (Firefox with it) and ``webapp`` (what the
web app's browser tests share).
"""
