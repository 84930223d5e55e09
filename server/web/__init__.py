"""The archive web app: server-rendered pages over the same catalogue and storage as the JSON API.

``setup(app)`` (``routes.py``, the one route table) adds the pages (``/``, ``/web/...``) and their
static files to the server's application. One module per page group (``home``, ``history``,
``captures``, ``search``, ``crawls``, ``export``, ``session``) over ``pages`` (the ``page`` wrapper,
error pages, rendering, backends reached by bound method) and ``views`` (rows into template values).
Imports ``server.actions`` and ``crawler``, never ``server.api``.
"""

from server.web.routes import setup

__all__ = ["setup"]
