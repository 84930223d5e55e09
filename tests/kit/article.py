"""A plain news article made up for the archive's tests: its paragraphs and its page's bytes.

Long enough for extraction to keep it as an article, with the navigation, byline and footer a
real page has around it, so a test can edit one paragraph and see a change or a revisit.
"""

from __future__ import annotations

PARAGRAPHS = [
    "The city council met on Tuesday evening to debate the new transport plan for the river district.",
    "Residents filled the chamber and many spoke for more than the allotted three minutes each.",
    "The plan adds two bus lines, widens the cycle paths and closes one bridge to private cars.",
    "Opponents argued that shops near the bridge would lose customers during the long works.",
    "The mayor promised a review after one year and said the budget had already been approved.",
    "A final vote is expected next month once the committee has published its written report.",
]


def page(title: str = "Council debates transport plan", paragraphs: list[str] | None = None) -> bytes:
    """The article's HTML page (``PARAGRAPHS`` unless others are given), as an origin sends it."""
    body = "".join(f"<p>{p}</p>" for p in (paragraphs or PARAGRAPHS))
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><nav><a href='/'>Home</a></nav><article><h1>{title}</h1>"
        f"<p class='byline'>By Ada Reporter</p>{body}</article><footer>Footer</footer></body></html>"
    ).encode()
