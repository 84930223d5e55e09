"""Structure that says "content" survives the clutter rules (issue 20, class 1).

Long technical pages lost whole sections: code blocks whose identifiers are all links looked like
link lists, a section heading whose id held a furniture word looked like a promo, a glossary link
with a "popup" class looked like a popup. Each page here is written for the test.
"""

from __future__ import annotations

from crawler.extract import extract

PROSE = (
    "The parser reads the configuration once at start-up and keeps it for the life of the "
    "process, so a change to the file needs a restart before it takes effect."
)


def doc(body: str) -> str:
    return f"<!DOCTYPE html><html lang='en'><head><title>Guide</title></head><body><article>{body}</article></body></html>"


def prose(n: int) -> str:
    return "".join(f"<p>{PROSE} Note {i}.</p>" for i in range(n))


def linked_code(i: int) -> str:
    """A code block as documentation generators write it: every identifier a link."""
    names = ["Config", "load", "path", "Parser", "read", "settings", "apply"]
    code = " ".join(f"<a href='/api/{n}'>{n}</a>" for n in names)
    return f"<pre>{code} ({i})</pre>"


def test_code_blocks_made_of_links_are_all_kept():
    body = "<h1>Guide</h1>" + "".join(prose(2) + linked_code(i) for i in range(12))
    text = extract(doc(body)).text
    assert sum(f"apply ({i})" in text for i in range(12)) == 12


def test_tables_ordered_and_definition_lists_are_kept():
    table = "<table><tr><th>Setting</th><th>Default</th></tr>" + "".join(
        f"<tr><td><a href='/s/{i}'>option_{i}</a></td><td><a href='/d/{i}'>value_{i}</a></td></tr>" for i in range(6)
    ) + "</table>"
    steps = "<ol>" + "".join(f"<li><a href='/step/{i}'>Step {i}</a></li>" for i in range(4)) + "</ol>"
    terms = "<dl><dt><a href='/t'>Frontier</a></dt><dd><a href='/d'>The queue of pages to visit</a></dd></dl>"
    text = extract(doc("<h1>Guide</h1>" + prose(3) + table + steps + terms + prose(2))).text
    for expected in ("option_5", "value_5", "Step 3", "Frontier", "The queue of pages to visit"):
        assert expected in text


def test_a_section_heading_whose_id_holds_a_furniture_word_is_kept():
    body = (
        "<h1>Guide</h1>" + prose(3)
        + "<h3><span id='Promotion_controversy' class='headline'>Promotion controversy</span></h3>"
        + prose(3)
    )
    assert "Promotion controversy" in extract(doc(body)).text


def test_a_phrase_with_a_popup_class_inside_a_sentence_is_kept():
    sentence = (
        "<p>The clerk said <a class='popup' href='#'>I would prefer not to</a> and went on with "
        f"his copying, to the surprise of everyone in the office. {PROSE}</p>"
    )
    text = extract(doc("<h1>Guide</h1>" + sentence + prose(3))).text
    assert "The clerk said I would prefer not to and went on" in text


def test_a_photo_credit_opening_a_paragraph_does_not_take_the_paragraph():
    first = f"<p><span class='credit'>© Harbour Agency</span> {PROSE} It opened the story.</p>"
    text = extract(doc("<h1>Guide</h1>" + first + prose(3))).text
    assert "It opened the story." in text


def test_copyright_lines_still_go():
    line = "<p>© 2024 Harbour Agency. All rights reserved.</p>"
    text = extract(doc("<h1>Guide</h1>" + prose(4) + line)).text
    assert "rights reserved" not in text


def test_a_cited_address_is_kept_but_a_teaser_link_goes():
    sources = (
        "<p>Sources:</p>"
        "<p><a href='https://harbour.example/report-2024'>https://harbour.example/report-2024</a></p>"
        "<p><a href='mailto:desk@harbour.example'>desk@harbour.example</a></p>"
        "<p><a href='/other'>Five things we learned at the harbour</a></p>"
    )
    text = extract(doc("<h1>Guide</h1>" + prose(4) + sources)).text
    assert "https://harbour.example/report-2024" in text and "desk@harbour.example" in text
    assert "Five things we learned" not in text
