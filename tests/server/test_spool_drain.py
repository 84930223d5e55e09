"""After a storage outage, spooled captures are stored as soon as storage answers (issue 21, 8).

The server's storage is the session's real SeaweedFS behind a small TCP relay on 127.0.0.1 that
the test switches off (every connection dropped, new ones closed at once) and back on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import pytest

from crawler.config import Settings
from tests.kit.api import running_api
from tests.kit.origin import Origin


class Relay:
    """127.0.0.1:port -> target, with a switch; ``down`` drops every open connection too."""

    def __init__(self, target: str) -> None:
        self.host, port = target.rsplit(":", 1)
        self.port_to = int(port)
        self.up = True
        self._open: set[asyncio.StreamWriter] = set()
        self.server: asyncio.AbstractServer | None = None

    @property
    def endpoint(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    def down(self) -> None:
        self.up = False
        for writer in list(self._open):
            writer.close()
        self._open.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port_to)
        self._open.update({writer, up_writer})

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def close(self) -> None:
        self.down()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@pytest.fixture
async def relay(settings: Callable[..., Settings]) -> AsyncIterator[Relay]:
    relay = Relay(settings().s3_endpoint)
    await relay.start()
    yield relay
    await relay.close()


async def test_a_spooled_capture_is_stored_as_soon_as_storage_answers(
    settings: Callable[..., Settings], relay: Relay, origin: Origin
) -> None:
    chosen = replace(settings(rate_limit=0.0), s3_endpoint=relay.endpoint)
    async with running_api(chosen, allow=[f"127.0.0.1:{origin.port}"]) as api:
        assert (await api.client.get("/api/v1/captures")).status == 200  # catalogue and archiver open
        relay.down()
        made = await api.client.post("/api/v1/captures", json={"url": origin.page("/article?spool=1")},
                                     headers=api.auth)
        assert made.status == 202, await made.text()
        location = made.headers["Location"]
        capture_id = (await made.json())["id"]

        # Before sync, the Location says the capture is waiting, rather than "no such capture".
        waiting = await api.client.get(location)
        body = await waiting.json()
        assert waiting.status == 202 and body["spooled"] is True and body["id"] == capture_id
        assert "waiting in the spool" in body["detail"] and body["article"] is None
        assert body["url"] == origin.page("/article?spool=1") and waiting.headers["Retry-After"]
        text = await api.client.get(f"{location}/text")
        assert text.status == 503 and "waiting in the spool" in (await text.json())["detail"]
        await asyncio.sleep(2.0)
        assert (await api.client.get(location)).status == 202, "stored while storage was down?"

        relay.up = True
        came_back = time.monotonic()
        while True:
            stored = await api.client.get(location)
            if stored.status == 200 or time.monotonic() - came_back > 10:
                break
            await asyncio.sleep(0.2)
        took = time.monotonic() - came_back
        assert stored.status == 200, await stored.text()
        detail = await stored.json()
        assert detail["title"] == "Council weighs footbridge designs" and "spooled" not in detail
        assert "footbridge" in detail["article"]["text"]
        # The archiver's own back-off alone would wait 5 s or more, and only for the next capture.
        assert took < 4.0, f"the spool drained {took:.1f} s after storage answered"
        assert not any(p for p in chosen.spool_dir.iterdir() if not p.name.startswith("."))
