"""An unreachable database is a typed outage (CatalogueUnavailable), a bad statement is not.

The server answers 503 only for outages (``server.state.is_unavailable``), so the type is the seam.
"""

from __future__ import annotations

import shutil
import socket

import pytest

from crawler.catalogue import CatalogueError, CatalogueUnavailable, open_catalogue
from crawler.cli.services import PostgresServer, temp_dir
from server.state import is_unavailable


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_sqlite_file_that_cannot_be_opened_is_unavailable(settings, tmp_path):
    blocker = tmp_path / "a-file-not-a-folder"
    blocker.write_text("x")
    with pytest.raises(CatalogueUnavailable, match="DECLUTTER_DATA_DIR") as info:
        open_catalogue(settings(database_url=f"sqlite:///{blocker}/catalogue.sqlite3"))
    assert is_unavailable(info.value)


def test_postgres_refusing_connections_is_unavailable(settings):
    url = f"postgresql://declutter@127.0.0.1:{_closed_port()}/nothing"
    with pytest.raises(CatalogueUnavailable, match="check that it is running") as info:
        open_catalogue(settings(database_url=url), pool_timeout=0.5)
    assert is_unavailable(info.value)


def test_postgres_stopped_while_open_is_unavailable_then_back(settings):
    root = temp_dir("declutter-pg-unavailable-")
    pg = PostgresServer(root, die_with_parent=True).start()
    try:
        catalogue = open_catalogue(settings(database_url=pg.create_database("down")), pool_timeout=1.0)
        assert catalogue.count_captures() == 0
        pg.stop()
        with pytest.raises(CatalogueUnavailable, match="unreachable") as info:
            catalogue.count_captures()
        assert is_unavailable(info.value) and not catalogue.ping()
        pg.start()
        assert catalogue.count_captures() == 0
        catalogue.close()
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_a_bad_statement_is_a_bug_not_an_outage(settings, database):
    with open_catalogue(settings(database=database)) as catalogue:
        with pytest.raises(Exception) as info:
            with catalogue.engine.transaction(write=False) as tx:
                tx.execute("SELEC 1")
        assert not isinstance(info.value, CatalogueError)
        assert not is_unavailable(info.value)
        assert catalogue.count_captures() == 0
