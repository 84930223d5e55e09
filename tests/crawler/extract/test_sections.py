"""A long document keeps its sections (issue 20, class 1): readability scores paragraphs only, so
a section told as a list beside the paragraphs can be left out; the page's own ``<article>``
container, holding a third more text than readability kept, is trusted instead."""

from __future__ import annotations

from crawler.extract import extract

PARAGRAPH = (
    "The survey of the river found that the water was cleaner than a decade ago, and that the "
    "number of fish species had grown from nine to fourteen in the same period."
)
STEP = (
    "Step {i}: walk the bank from the old mill to the weir, noting every outfall pipe and the "
    "colour of the water beside it, then photograph each one"
)


def test_a_section_told_as_a_list_is_kept_beside_the_paragraphs():
    paragraphs = "".join(f"<p>{PARAGRAPH} ({i})</p>" for i in range(5))
    steps = "<ul>" + "".join(f"<li>{STEP.format(i=i)}</li>" for i in range(4)) + "</ul>"
    html = (
        "<html><body><nav><a href='/'>Home</a></nav><article><h1>River survey</h1>"
        f"<div class='story'>{paragraphs}</div><div class='method'><h2>How we did it</h2>{steps}</div>"
        "</article></body></html>"
    )
    text = extract(html).text
    assert all(f"({i})" in text for i in range(5))
    assert all(STEP.format(i=i) in text for i in range(4)), text


def test_a_document_of_repeated_blocks_keeps_every_block():
    """How-to steps, a long page's sections: blocks shaped alike (same tag, same class) beside the
    one readability scored highest are the same document, even when they hold lists, not prose."""
    first = "".join(f"<p>{PARAGRAPH} ({i})</p>" for i in range(3))
    steps = "".join(
        f"<div class='step'><div class='inner'><h3>Step {i}</h3><ul>"
        + "".join(f"<li>{STEP.format(i=f'{i}.{j}')}</li>" for j in range(3))
        + "</ul></div></div>"
        for i in range(2, 5)
    )
    html = (
        "<html><body><div class='guide'>"
        f"<div class='step'><div class='inner'>{first}</div></div>{steps}"
        "</div></body></html>"
    )
    text = extract(html).text
    assert all(f"({i})" in text for i in range(3))
    assert all(STEP.format(i=f"{i}.{j}") in text for i in range(2, 5) for j in range(3)), text
