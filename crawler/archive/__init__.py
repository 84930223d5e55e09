"""Archive: one capture written through every stage (snapshot, extract, catalogue), never half.

Imports ``catalogue``, ``snapshot``, ``extract`` and ``config``.
"""

from crawler.archive.archiver import Archiver, ArchiveResult, BadCapture

__all__ = ["ArchiveResult", "Archiver", "BadCapture"]
