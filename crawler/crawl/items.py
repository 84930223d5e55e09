"""What spiders hand to the capture pipeline."""

from __future__ import annotations

from dataclasses import dataclass

from crawler.snapshot.capture import Capture


@dataclass
class PageCapture:
    """One page to keep; ``rendered`` says Chromium produced its DOM and screenshot.

    ``keys`` are the URLs that lead to this page (the one asked for, the one redirected to, a
    memento's replay URL): a resumed run skips any of them.
    """

    capture: Capture
    rendered: bool = False
    keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.keys:
            self.keys = (self.capture.url,)
