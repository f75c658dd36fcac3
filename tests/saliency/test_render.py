"""``render_saliency`` (spacy_kexue.saliency.render): escaping, colours, titles, docs without
saliency, fragments, and a page that loads nothing from outside."""

from __future__ import annotations

import re

import pytest

from spacy_kexue.saliency import render_saliency
from spacy_kexue.saliency.render import MAX_ALPHA
from tests.saliency.conftest import TEXTS, blank_zh, parse, saliencies, words_doc

SCRIPT = "<script>alert(1)</script>"
QUOTES = "\"&'"


@pytest.fixture
def hostile_doc():
    nlp = blank_zh()
    doc = words_doc(nlp, [SCRIPT, QUOTES, "很", "好", "。"], [True, True, False, False, False])
    doc._.saliency = [0.5, -0.25, 0.0, 0.125, -0.0]
    doc.cats = {"POSITIVE": 0.8, "NEGATIVE": 0.2}
    return doc


def test_text_is_escaped(hostile_doc):
    html = render_saliency(hostile_doc)
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&quot;&amp;&#x27;" in html
    parsed = parse(html)
    assert parsed.blocks == [hostile_doc.text]  # exactly the doc's text, spaces included
    assert "script" not in parsed.tags


def test_colours_and_titles(hostile_doc):
    spans = parse(render_saliency(hostile_doc)).spans
    assert len(spans) == len(hostile_doc)
    # the largest |saliency| gets MAX_ALPHA; others scale linearly; zero is transparent
    assert MAX_ALPHA == 0.85
    assert [s["style"] for s in spans] == [
        "background: rgba(237, 125, 49, 0.850)",  # orange: toward the prediction
        "background: rgba(46, 117, 182, 0.425)",  # blue: away from it
        "background: transparent",
        "background: rgba(237, 125, 49, 0.212)",
        "background: transparent",
    ]
    assert [s["title"] for s in spans][:4] == ["+0.5000", "-0.2500", "+0.0000", "+0.1250"]


def test_all_zero_saliency_is_transparent():
    doc = words_doc(blank_zh(), ["鑫", "淼"])
    doc._.saliency = [0.0, 0.0]
    spans = parse(render_saliency(doc)).spans
    assert [s["style"] for s in spans] == ["background: transparent"] * 2


def test_prediction_in_the_header(hostile_doc):
    html = render_saliency(hostile_doc)
    assert "prediction: <b>POSITIVE</b> (0.800)" in html
    hostile_doc.cats = {"<img src=x>": 1.0}
    html = render_saliency(hostile_doc)
    assert "<img" not in html and "&lt;img src=x&gt;" in html


def test_doc_without_saliency_renders_plain_with_a_note():
    doc = blank_zh()("很好<b>")
    html = render_saliency(doc)
    parsed = parse(html)
    assert parsed.spans == []
    assert parsed.blocks == ["很好<b>"]
    assert "no saliency" in html
    assert "<b>" not in html.split('class="kx-text"')[1]


def test_fragment_and_single_doc(hostile_doc):
    page = render_saliency(hostile_doc)
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page
    fragment = render_saliency([hostile_doc], page=False)
    assert fragment.startswith("<style>")
    assert "<html" not in fragment and "<body" not in fragment and "<h1" not in fragment
    assert parse(fragment).blocks == [hostile_doc.text]
    assert render_saliency(hostile_doc) == render_saliency([hostile_doc])
    assert render_saliency(d for d in [hostile_doc]) == page  # any iterable
    titled = render_saliency(hostile_doc, title="<i>Saliency</i> & co")
    assert "<title>&lt;i&gt;Saliency&lt;/i&gt; &amp; co</title>" in titled
    assert "<i>" not in titled


def test_many_docs_one_block_each(saliency_nlp):
    docs = list(saliency_nlp.pipe(TEXTS))
    parsed = parse(render_saliency(docs))
    assert parsed.blocks == [doc.text for doc in docs]
    assert len(parsed.spans) == sum(len(doc) for doc in docs)
    titles = [float(s["title"]) for s in parsed.spans]
    assert titles == pytest.approx([v for values in saliencies(docs) for v in values], abs=5e-5)
    assert parse(render_saliency([])).blocks == []


def test_page_is_standalone(saliency_nlp, hostile_doc):
    html = render_saliency([hostile_doc, *saliency_nlp.pipe(TEXTS)])
    lowered = html.lower()
    for needle in ("http://", "https://", "<script", "<link", "@import", "url(", "src="):
        assert needle not in lowered, needle
    assert re.search(r"<style>.*</style>", html, re.S)
