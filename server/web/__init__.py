"""The archive web app: server-rendered pages over the same catalogue and storage as the JSON API.

``setup(app)`` adds the pages (``/``, ``/web/...``) and their static files to the server's
application; the handlers reach the catalogue and archiver through the server's ``Backends``.
"""

from server.web.handlers import setup

__all__ = ["setup"]
