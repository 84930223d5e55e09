"""The crawls table: one row a run, its counts updated while it runs and when it ends."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ulid import ULID

from crawler.catalogue.errors import CatalogueError
from crawler.catalogue.rows import CRAWL_COLUMNS, CrawlRow

if TYPE_CHECKING:
    from crawler.catalogue.dialects import Dialect
    from crawler.catalogue.engines import Engine


class CrawlRuns:
    """The catalogue's crawl runs (a part of ``Catalogue``, which gives ``engine`` and ``dialect``)."""

    engine: Engine
    dialect: Dialect

    def start_crawl(self, name: str) -> str:
        crawl_id = str(ULID())
        with self.engine.transaction() as tx:
            tx.execute(
                "INSERT INTO crawls (id, name, started_at, counts) VALUES (?, ?, ?, ?)",
                [crawl_id, name, self.dialect.time(datetime.now(UTC)), "{}"],
            )
        return crawl_id

    def update_crawl(self, crawl_id: str, counts: dict[str, Any]) -> None:
        self._set_crawl(crawl_id, counts, finished=False)

    def finish_crawl(self, crawl_id: str, counts: dict[str, Any]) -> None:
        self._set_crawl(crawl_id, counts, finished=True)

    def _set_crawl(self, crawl_id: str, counts: dict[str, Any], *, finished: bool) -> None:
        sql = "UPDATE crawls SET counts = ?" + (", finished_at = ?" if finished else "") + " WHERE id = ?"
        params: list[Any] = [self.dialect.to_db("counts", counts)]
        if finished:
            params.append(self.dialect.time(datetime.now(UTC)))
        with self.engine.transaction() as tx:
            if tx.execute(sql, [*params, crawl_id]).rowcount != 1:
                raise CatalogueError(f"no crawl with id {crawl_id!r}; start it with start_crawl()")

    def get_crawl(self, crawl_id: str) -> CrawlRow | None:
        rows = self._crawls("WHERE id = ?", [crawl_id])
        return rows[0] if rows else None

    def list_crawls(self, limit: int = 100) -> list[CrawlRow]:
        return self._crawls("ORDER BY started_at DESC, id DESC LIMIT ?", [limit])

    def _crawls(self, tail: str, params: list) -> list[CrawlRow]:
        with self.engine.transaction(write=False) as tx:
            rows = tx.execute(f"SELECT {', '.join(CRAWL_COLUMNS)} FROM crawls {tail}", params).rows()
        return [CrawlRow(**{k: self.dialect.from_db(k, r[k]) for k in CRAWL_COLUMNS}) for r in rows]
